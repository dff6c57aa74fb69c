import type { CookieOptions, SameSite } from "../contracts.js";
import { ConfigError } from "../errors.js";

// RFC 6265 token: no CTLs, whitespace or separators.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// cookie-octet: printable ASCII except space, DQUOTE, comma, semicolon and backslash.
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
// Attribute values (Domain, Path) may not carry `;` or control characters.
const ATTRIBUTE_VALUE = /^[\x20-\x3a\x3c-\x7e]+$/;
const DOMAIN =
  /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The deletion cookie's date (Django uses the same). */
const EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT";

/** Checks a cookie's name and attributes once, at construction (never per request). */
export function validateCookieOptions(name: string, options: CookieOptions): void {
  if (!COOKIE_NAME.test(name))
    throw new ConfigError(`cookie name ${JSON.stringify(name)} is not an RFC 6265 token`);
  if (options.path !== undefined && (!ATTRIBUTE_VALUE.test(options.path) || !options.path.startsWith("/"))) {
    throw new ConfigError("cookie path must start with / and contain no ; or control characters");
  }
  if (options.domain !== undefined && !DOMAIN.test(options.domain)) {
    throw new ConfigError(`cookie domain ${JSON.stringify(options.domain)} is not a valid domain`);
  }
  if (options.sameSite !== undefined && !["Strict", "Lax", "None"].includes(options.sameSite)) {
    throw new ConfigError("sameSite must be Strict, Lax or None");
  }
  if (options.sameSite === "None" && options.secure !== true) {
    throw new ConfigError("SameSite=None requires Secure; browsers reject it otherwise");
  }
  if (options.partitioned === true && options.secure !== true) {
    throw new ConfigError("Partitioned cookies require Secure");
  }
  if (name.startsWith("__Secure-") && options.secure !== true) {
    throw new ConfigError("a __Secure- cookie requires secure: true");
  }
  if (
    name.startsWith("__Host-") &&
    (options.secure !== true || options.domain !== undefined || (options.path ?? "/") !== "/")
  ) {
    throw new ConfigError("a __Host- cookie requires secure: true, path '/' and no domain");
  }
}

/** True when `value` may be sent as a cookie value without quoting. */
export function isCookieValue(value: string): boolean {
  return COOKIE_VALUE.test(value);
}

/**
 * Serializes one `Set-Cookie` header value. `maxAge` (seconds) also emits `Expires` for old
 * browsers; neither is emitted for a browser-session cookie. `maxAge <= 0` deletes.
 */
export function serializeCookie(
  name: string,
  value: string,
  options: CookieOptions = {},
  now = Date.now(),
): string {
  if (!isCookieValue(value)) throw new ConfigError("cookie value contains characters cookies cannot carry");
  let out = `${name}=${value}`;
  if (options.maxAge !== undefined) {
    const maxAge = Math.max(0, Math.floor(options.maxAge));
    const expires = maxAge === 0 ? EPOCH : new Date(now + maxAge * 1000).toUTCString();
    out += `; Expires=${expires}; Max-Age=${maxAge}`;
  } else if (options.expires !== undefined) {
    out += `; Expires=${options.expires.toUTCString()}`;
  }
  if (options.domain !== undefined) out += `; Domain=${options.domain}`;
  out += `; Path=${options.path ?? "/"}`;
  if (options.secure === true) out += "; Secure";
  if (options.httpOnly === true) out += "; HttpOnly";
  if (options.sameSite !== undefined) out += `; SameSite=${options.sameSite satisfies SameSite}`;
  if (options.partitioned === true) out += "; Partitioned";
  return out;
}

/**
 * A serializer for one cookie name and fixed attributes, for the hot path: the attribute
 * suffix is built once and the `Expires` date is formatted once per second, not per response.
 * Output is identical to `serializeCookie`.
 */
export function cookieSerializer(
  name: string,
  options: CookieOptions,
): (value: string, maxAge: number | undefined, now: number) => string {
  const { maxAge: _maxAge, expires: _expires, ...attributes } = options;
  const suffix = serializeCookie(name, "", attributes).slice(name.length + 1);
  let cachedSecond = Number.NaN;
  let cachedAge = Number.NaN;
  let cachedExpiry = "";
  return (value, maxAge, now) => {
    if (!isCookieValue(value)) throw new ConfigError("cookie value contains characters cookies cannot carry");
    if (maxAge === undefined) return `${name}=${value}${suffix}`;
    const age = Math.max(0, Math.floor(maxAge));
    const second = Math.floor(now / 1000);
    if (second !== cachedSecond || age !== cachedAge) {
      cachedSecond = second;
      cachedAge = age;
      cachedExpiry = age === 0 ? EPOCH : new Date(now + age * 1000).toUTCString();
    }
    return `${name}=${value}; Expires=${cachedExpiry}; Max-Age=${age}${suffix}`;
  };
}

/** The `Set-Cookie` that deletes a cookie: same Path, Domain, SameSite, Secure and prefix as the original. */
export function serializeDeletionCookie(name: string, options: CookieOptions = {}): string {
  const { maxAge: _maxAge, expires: _expires, ...rest } = options;
  return serializeCookie(name, "", { ...rest, maxAge: 0 });
}

const MAX_COOKIE_HEADER = 16 * 1024;

/**
 * Parses a `Cookie` request header into name → value. Never throws: garbage pairs are
 * skipped, quoted values are unquoted, the first occurrence of a name wins (the browser
 * sends the most specific path first), and oversized headers are cut at 16 KiB.
 */
export function parseCookieHeader(header: string | null | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof header !== "string" || header.length === 0) return out;
  const text = header.length > MAX_COOKIE_HEADER ? header.slice(0, MAX_COOKIE_HEADER) : header;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(";", start);
    if (end === -1) end = text.length;
    const eq = text.indexOf("=", start);
    if (eq !== -1 && eq < end) {
      const name = text.slice(start, eq).trim();
      let value = text.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      if (name.length > 0 && COOKIE_NAME.test(name) && !out.has(name)) out.set(name, value);
    }
    start = end + 1;
  }
  return out;
}

/** Reads one cookie from a `Cookie` header without building the whole map. */
export function readCookie(header: string | null | undefined, name: string): string | undefined {
  if (typeof header !== "string" || !header.includes(name)) return undefined;
  return parseCookieHeader(header).get(name);
}
