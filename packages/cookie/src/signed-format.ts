import { b62Encode, base64UrlEncode, Signer } from "@porter/core";
import { decodeBase64Url } from "./base64url.js";
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

/** The version prefix of the signed layout. */
export const SIGNED_PREFIX = "s1.";

/** The signer salt for a purpose: the HMAC key is derived from it, so purposes never share a key. */
export function signedSalt(purpose: string): string {
  return `porter.cookie-session.v1/hmac-sha256/${purpose}`;
}

const BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A timestamp in Django's base62 (`0-9A-Za-z`), as core's `b62Encode` writes it. */
export function b62EncodeMs(value: number): string {
  // Every time this format writes is a non-negative safe integer: plain number arithmetic is exact.
  if (!Number.isSafeInteger(value) || value < 0) return b62Encode(value);
  if (value === 0) return "0";
  let out = "";
  let n = value;
  while (n > 0) {
    const digit = n % 62;
    out = BASE62_ALPHABET[digit]! + out;
    n = (n - digit) / 62;
  }
  return out;
}

/** The value of a base62 digit by char code, -1 for any other character. */
const BASE62_DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE62_ALPHABET.length; i++) BASE62_DIGIT[BASE62_ALPHABET.charCodeAt(i)] = i;

/** The longest timestamp accepted, in base62 digits (12 digits already pass 2^53). */
const MAX_TIMESTAMP_DIGITS = 12;

/** What `parseSignedLayout` reads from a verified value. */
export interface SignedLayout {
  readonly bytes: Buffer;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/**
 * Reads the text the MAC covers, `s1.` + base64url(data) + `:` + base62 + `.` + base62, or `null`
 * for anything else. Accepts exactly what
 * `/^s1\.([A-Za-z0-9_-]*):([0-9A-Za-z]{1,12})\.([0-9A-Za-z]{1,12})$/` accepts, with the payload
 * in canonical base64url (core's `base64UrlDecode` is not `null`) and both timestamps safe
 * integers (core's `b62Decode` does not throw); a test holds the two to the same answers.
 */
export function parseSignedLayout(text: string): SignedLayout | null {
  if (!text.startsWith(SIGNED_PREFIX)) return null;
  // The payload's alphabet has no `:`, so the payload ends at the first one.
  const colon = text.indexOf(":", SIGNED_PREFIX.length);
  if (colon < 0) return null;
  // The timestamps: digits, one `.`, digits, up to the end of the text.
  const end = text.length;
  let issuedAt = 0;
  let expiresAt = 0;
  let digits = 0;
  let dot = -1;
  for (let i = colon + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e && dot < 0) {
      if (digits === 0) return null;
      dot = i;
      digits = 0;
      continue;
    }
    const d = c < 128 ? BASE62_DIGIT[c]! : -1;
    if (d < 0 || ++digits > MAX_TIMESTAMP_DIGITS) return null;
    // The same arithmetic as core's b62Decode, so an out-of-range value rounds the same way.
    if (dot < 0) issuedAt = issuedAt * 62 + d;
    else expiresAt = expiresAt * 62 + d;
  }
  if (dot < 0 || digits === 0) return null;
  if (!Number.isSafeInteger(issuedAt) || !Number.isSafeInteger(expiresAt)) return null;
  const bytes = decodeBase64Url(text.slice(SIGNED_PREFIX.length, colon));
  if (bytes === null) return null;
  return { bytes, issuedAt, expiresAt };
}

/**
 * HMAC-SHA256, readable by the client: `s1.` + base64url(data) + `:` + base62(issuedAt ms) + `.` +
 * base62(expiresAt ms) + `:` + base64url(MAC). The MAC (core's `Signer`, salt `signedSalt(purpose)`)
 * covers every byte before the last `:` exactly as transmitted and is checked, in constant
 * time, before anything is decoded.
 */
export function signedFormat(secrets: readonly Uint8Array[], purpose: string): CookieFormat {
  const signer = new Signer({
    key: secrets[0]!,
    fallbackKeys: secrets.slice(1),
    salt: signedSalt(purpose),
    algorithm: "sha256",
  });

  return {
    seal(data, issuedAt, expiresAt) {
      return signer.sign(
        `${SIGNED_PREFIX}${base64UrlEncode(data)}:${b62EncodeMs(issuedAt)}.${b62EncodeMs(expiresAt)}`,
      );
    },

    open(value, now): Opened | Refused {
      if (typeof value !== "string" || value.length > MAX_VALUE_LENGTH) return INVALID;
      let verified: { value: string; usedFallback: boolean };
      try {
        // The MAC is checked in constant time, with each secret in turn, before anything else.
        verified = signer.unsignDetailed(value);
      } catch {
        return INVALID;
      }
      const layout = parseSignedLayout(verified.value);
      if (layout === null) return INVALID;
      const data = bytesToText(layout.bytes);
      if (data === null) return INVALID;
      const { issuedAt, expiresAt } = layout;
      if (issuedAt > now + MAX_FUTURE_SKEW_MS) return INVALID;
      if (expiresAt <= now) return EXPIRED;
      return { ok: true, data, issuedAt, expiresAt, usedFallback: verified.usedFallback };
    },
  };
}
