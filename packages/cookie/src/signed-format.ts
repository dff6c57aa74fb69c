import { b62Decode, b62Encode, base64UrlDecode, base64UrlEncode, Signer } from "@porter/core";
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

const LAYOUT = /^s1\.([A-Za-z0-9_-]*):([0-9A-Za-z]{1,12})\.([0-9A-Za-z]{1,12})$/;

/**
 * HMAC-SHA256, readable by the client: `s1.` + base64url(data) + `:` + base62(issuedAt ms) + `.` +
 * base62(expiresAt ms) + `:` + base64url(MAC). The MAC (core's `Signer`) covers every byte before
 * the last `:` exactly as transmitted and is checked, in constant time, before anything is decoded.
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
        `${SIGNED_PREFIX}${base64UrlEncode(data)}:${b62Encode(issuedAt)}.${b62Encode(expiresAt)}`,
      );
    },

    open(value, now): Opened | Refused {
      if (typeof value !== "string" || value.length > MAX_VALUE_LENGTH) return INVALID;
      let verified: { value: string; usedFallback: boolean };
      try {
        verified = signer.unsignDetailed(value);
      } catch {
        return INVALID;
      }
      const parts = LAYOUT.exec(verified.value);
      if (parts === null) return INVALID;
      const bytes = base64UrlDecode(parts[1]!);
      if (bytes === null) return INVALID;
      let issuedAt: number;
      let expiresAt: number;
      try {
        issuedAt = b62Decode(parts[2]!);
        expiresAt = b62Decode(parts[3]!);
      } catch {
        return INVALID;
      }
      const data = bytesToText(bytes);
      if (data === null) return INVALID;
      if (issuedAt > now + MAX_FUTURE_SKEW_MS) return INVALID;
      if (expiresAt <= now) return EXPIRED;
      return { ok: true, data, issuedAt, expiresAt, usedFallback: verified.usedFallback };
    },
  };
}
