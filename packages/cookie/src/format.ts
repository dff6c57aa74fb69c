/** What a cookie format recovered from a value whose authenticity it verified. */
export interface Opened {
  readonly ok: true;
  readonly data: string;
  /** Epoch ms. */
  readonly issuedAt: number;
  /** Epoch ms; the value is live while `expiresAt > now`. */
  readonly expiresAt: number;
  /** A fallback secret verified it: re-issue under the current secret. */
  readonly usedFallback: boolean;
}

/**
 * Why a value was refused. `invalid` covers everything that did not verify (garbage, tampering,
 * a retired secret, a foreign purpose): no finer reason is given, so no oracle is offered.
 */
export interface Refused {
  readonly ok: false;
  readonly reason: "invalid" | "expired";
}

/** One on-the-wire layout of a cookie session. Synchronous: pure CPU, no I/O. */
export interface CookieFormat {
  seal(data: Uint8Array, issuedAt: number, expiresAt: number): string;
  open(value: string, now: number): Opened | Refused;
}

export const INVALID: Refused = Object.freeze({ ok: false, reason: "invalid" });
export const EXPIRED: Refused = Object.freeze({ ok: false, reason: "expired" });

/** Seconds a value's issue time may lie ahead of this server's clock (skew between servers). */
export const MAX_FUTURE_SKEW_MS = 60_000;

/** No browser stores a longer cookie, so a longer value is refused before any decoding. */
export const MAX_VALUE_LENGTH = 4096;
