import { LOWER_ALNUM, randomString, sha256Hex } from "../crypto/primitives.js";

/** The shape of every session key Porter issues: 32 characters of `[a-z0-9]` (≈165 bits). */
export const SESSION_KEY_PATTERN = /^[a-z0-9]{32}$/;

/** A fresh session key from the CSPRNG (Django's `_get_new_session_key`). */
export function newSessionKey(): string {
  return randomString(32, LOWER_ALNUM);
}

/** True only for a string of exactly the issued shape; anything else is "no session". */
export function isSessionKey(value: unknown): value is string {
  return typeof value === "string" && SESSION_KEY_PATTERN.test(value);
}

/**
 * The identifier a store keeps for a cookie's key: a one-way hash, so a leaked table or
 * key listing holds no usable cookie. 64 hex characters (a valid store key).
 */
export function hashSessionKey(key: string): string {
  return sha256Hex(`porter.session:${key}`);
}
