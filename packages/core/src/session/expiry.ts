/** Django's default `SESSION_COOKIE_AGE`: two weeks, in seconds. */
export const DEFAULT_SESSION_AGE = 1_209_600;

/** The session data key Django keeps a custom expiry under. */
export const EXPIRY_KEY = "_session_expiry";

/**
 * Python's `datetime.isoformat()` of an aware UTC datetime, as Django 4+ stores a
 * `set_expiry(datetime)`: `2023-11-14T23:13:20+00:00`, microseconds only when non-zero.
 */
export function pythonIsoFormat(date: Date): string {
  const iso = date.toISOString(); // 2023-11-14T23:13:20.123Z
  const ms = date.getUTCMilliseconds();
  const base = iso.slice(0, 19);
  return ms === 0 ? `${base}+00:00` : `${base}.${String(ms).padStart(3, "0")}000+00:00`;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})?$/;

/** Parses the ISO text Django stores; `null` for anything else. A naive time is read as UTC. */
export function parseStoredExpiry(value: string): number | null {
  if (!ISO.test(value)) return null;
  const hasZone = /(?:Z|[+-]\d{2}:\d{2})$/.test(value);
  const ms = Date.parse(hasZone ? value : `${value}Z`);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * Django's `get_expiry_age(modification, expiry)` in seconds: the default age when no
 * expiry (missing, null or 0); an int as is; an absolute time as whole seconds from
 * `modification` (floored, possibly negative).
 */
export function expiryAge(stored: unknown, modificationMs: number, defaultAge: number): number {
  if (stored === undefined || stored === null || stored === 0) return defaultAge;
  if (typeof stored === "number" && Number.isFinite(stored)) return Math.trunc(stored);
  if (typeof stored === "string") {
    const at = parseStoredExpiry(stored);
    if (at !== null) return Math.floor((at - modificationMs) / 1000);
  }
  return defaultAge;
}

/** Django's `get_expiry_date(modification, expiry)` as epoch ms. */
export function expiryDate(stored: unknown, modificationMs: number, defaultAge: number): number {
  if (typeof stored === "string") {
    const at = parseStoredExpiry(stored);
    if (at !== null) return at;
  }
  return modificationMs + expiryAge(stored, modificationMs, defaultAge) * 1000;
}

/** Django's `get_expire_at_browser_close()`. */
export function expiresAtBrowserClose(stored: unknown, settingDefault: boolean): boolean {
  if (stored === undefined || stored === null) return settingDefault;
  return stored === 0;
}
