import { DJANGO_SIGNED_COOKIES_SALT, PorterError, TimestampSigner } from "@porter/core";
import {
  type CookieFormat,
  EXPIRED,
  INVALID,
  MAX_FUTURE_SKEW_MS,
  MAX_VALUE_LENGTH,
  type Opened,
  type Refused,
} from "./format.js";
import { bytesToText } from "./text.js";

/**
 * Django's `signed_cookies` session backend: the cookie value is
 * `signing.dumps(session, salt="django.contrib.sessions.backends.signed_cookies", compress=True)`
 * keyed with `SECRET_KEY` itself (not the cookie signer's key), read back with
 * `signing.loads(value, max_age=SESSION_COOKIE_AGE)`.
 *
 * The cookie carries only the signing time, and a value lives while its age is at most `maxAge`
 * seconds (an age equal to `maxAge` still passes, as in Django). So the expiry travels in the
 * timestamp: `seal` signs at `min(now, expiresAt - maxAge)`, which is `now` for a session of the
 * default age and earlier for a session whose expiry is shorter; Django then expires it on time
 * too (plain Django ignores a custom expiry here, ticket #19201). A longer expiry is capped at
 * `maxAge`. `open` reports `expiresAt` as the first dead millisecond,
 * `(timestamp + maxAge) * 1000 + 1`, so the engine's `expiresAt > now` agrees with Django.
 */
export function djangoFormat(
  secrets: readonly Uint8Array[],
  maxAge: number,
  maxDecompressedBytes: number,
): CookieFormat {
  // The signer reads this clock; each call sets it first (everything here is synchronous).
  let at = 0;
  const signer = new TimestampSigner({
    key: secrets[0]!,
    fallbackKeys: secrets.slice(1),
    salt: DJANGO_SIGNED_COOKIES_SALT,
    algorithm: "sha256",
    now: () => at / 1000,
    maxFutureSkew: MAX_FUTURE_SKEW_MS / 1000,
  });

  return {
    seal(data, issuedAt, expiresAt) {
      at = Math.min(issuedAt, (Math.floor(expiresAt / 1000) - maxAge) * 1000);
      return signer.signPayload(data, { compress: true });
    },

    open(value, now): Opened | Refused {
      if (typeof value !== "string" || value.length > MAX_VALUE_LENGTH) return INVALID;
      at = now;
      let verified: { value: string; usedFallback: boolean; timestamp?: number };
      try {
        verified = signer.unsignPayloadDetailed(value, { maxAge, maxDecompressedBytes });
      } catch (error) {
        return PorterError.is(error, "SIGNATURE_EXPIRED") ? EXPIRED : INVALID;
      }
      const timestamp = verified.timestamp;
      if (timestamp === undefined) return INVALID;
      // core's signer hands the verified payload back as latin-1 text: one character per byte.
      const data = bytesToText(Buffer.from(verified.value, "latin1"));
      if (data === null) return INVALID;
      return {
        ok: true,
        data,
        issuedAt: timestamp * 1000,
        expiresAt: (timestamp + maxAge) * 1000 + 1,
        usedFallback: verified.usedFallback,
      };
    },
  };
}
