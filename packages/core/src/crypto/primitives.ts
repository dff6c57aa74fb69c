import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

const encoder = new TextEncoder();

/** UTF-8 bytes of a string; bytes pass through. */
export function toBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === "string" ? encoder.encode(value) : value;
}

/**
 * Compares two secrets in time that depends only on their lengths, never on where they differ.
 * Unlike `crypto.timingSafeEqual`, a length mismatch is `false`, never a throw.
 */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const x = toBytes(a);
  const y = toBytes(b);
  if (x.length !== y.length) {
    // Spend the same work as an equal-length compare so the length is the only signal.
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** URL-safe base64 without padding (Django's `b64_encode`). */
export function base64UrlEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Strict URL-safe base64 decode: `null` for any character outside the alphabet, for a
 * length no encoder produces, or for a non-canonical spelling (trailing bits set), so
 * that one value has exactly one accepted spelling.
 */
export function base64UrlDecode(text: string): Uint8Array | null {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, "base64url");
  if (bytes.toString("base64url") !== text) return null;
  return bytes;
}

/** Django's `salted_hmac`: HMAC keyed with H(keySalt + secret). Returns the raw digest. */
export function saltedHmac(
  keySalt: string,
  value: string | Uint8Array,
  secret: string | Uint8Array,
  algorithm: "sha1" | "sha256" | "sha512" = "sha256",
): Buffer {
  const key = derivedHmacKey(keySalt, secret, algorithm);
  return createHmac(algorithm, key).update(toBytes(value)).digest();
}

const keyCache = new Map<string, Buffer>();
const KEY_CACHE_LIMIT = 256;

/** H(keySalt + secret), computed once per (secret, salt, algorithm) rather than per call. */
export function derivedHmacKey(
  keySalt: string,
  secret: string | Uint8Array,
  algorithm: "sha1" | "sha256" | "sha512",
): Buffer {
  const secretBytes = toBytes(secret);
  const cacheKey = `${algorithm}\u0000${keySalt}\u0000${Buffer.from(secretBytes).toString("base64")}`;
  let key = keyCache.get(cacheKey);
  if (key === undefined) {
    key = createHash(algorithm).update(toBytes(keySalt)).update(secretBytes).digest();
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value as string);
    keyCache.set(cacheKey, key);
  }
  return key;
}

/**
 * `length` characters drawn uniformly from `alphabet` with a CSPRNG (rejection sampling,
 * so no character is favoured). Django's `get_random_string`.
 */
export function randomString(length: number, alphabet: string): string {
  const n = alphabet.length;
  const limit = 256 - (256 % n);
  let out = "";
  while (out.length < length) {
    const bytes = randomBytes((length - out.length) * 2);
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const b = bytes[i]!;
      if (b < limit) out += alphabet[b % n];
    }
  }
  return out;
}

export const LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
export const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}
