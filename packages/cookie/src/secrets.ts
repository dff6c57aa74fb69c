import { ConfigError } from "@porter/core";

/** A secret: a string (UTF-8 encoded) or raw bytes. */
export type Secret = string | Uint8Array;

/** The shortest secret accepted, in bytes. */
export const MIN_SECRET_BYTES = 32;

/**
 * Checks a secret at construction: at least 32 bytes, and not a placeholder made of a handful of
 * repeated characters (`"x".repeat(32)`). The error never contains the secret.
 */
export function checkSecret(secret: unknown, what: string): Uint8Array {
  if (typeof secret !== "string" && !(secret instanceof Uint8Array)) {
    throw new ConfigError(`${what} must be a string or a Uint8Array`);
  }
  const bytes = typeof secret === "string" ? Buffer.from(secret, "utf8") : Buffer.from(secret);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new ConfigError(
      `${what} must be at least ${MIN_SECRET_BYTES} bytes (got ${bytes.length}); generate one with crypto.randomBytes(32)`,
    );
  }
  if (new Set(bytes).size < 8) {
    throw new ConfigError(
      `${what} looks like a placeholder (fewer than 8 distinct bytes); generate one with crypto.randomBytes(32)`,
    );
  }
  return bytes;
}

/** The current secret and the fallbacks, checked, current first. */
export function checkSecrets(secret: unknown, fallbackSecrets: unknown, owner: string): Uint8Array[] {
  if (fallbackSecrets !== undefined && !Array.isArray(fallbackSecrets)) {
    throw new ConfigError(`${owner}: fallbackSecrets must be an array`);
  }
  const fallbacks = (fallbackSecrets ?? []) as unknown[];
  return [
    checkSecret(secret, `${owner}: secret`),
    ...fallbacks.map((s, i) => checkSecret(s, `${owner}: fallbackSecrets[${i}]`)),
  ];
}
