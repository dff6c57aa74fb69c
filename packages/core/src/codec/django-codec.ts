import type { SessionCodec, SessionData } from "../contracts.js";
import { ConfigError, DecodeError, InvalidArgumentError, SessionTooLargeError } from "../errors.js";
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from "../signing/compress.js";
import { PYTHON_JSON_MAX_DEPTH, pythonJsonDumps } from "../signing/python-json.js";
import type { SigningAlgorithm, SigningKey } from "../signing/signer.js";
import { TimestampSigner } from "../signing/signer.js";

/** Django's session `key_salt`: `"django.contrib.sessions." + SessionStore.__qualname__`, the same for every built-in backend. */
export const DJANGO_SESSION_SALT = "django.contrib.sessions.SessionStore";
/** The salt of Django's `signed_cookies` session backend (its cookie value is `dumps(session, salt=…)`). */
export const DJANGO_SIGNED_COOKIES_SALT = "django.contrib.sessions.backends.signed_cookies";

/** Django's `SessionBase.key_salt` for a session store class: `"django.contrib.sessions." + qualname`. */
export function djangoSessionKeySalt(qualname = "SessionStore"): string {
  return `django.contrib.sessions.${qualname}`;
}

/** Secrets shorter than this are refused: a session signing key must not be guessable. */
const MIN_SECRET_BYTES = 32;

export interface DjangoCodecOptions {
  /** Django's `SECRET_KEY`. At least 32 bytes (`ConfigError` otherwise). */
  readonly secret: SigningKey;
  /** Django's `SECRET_KEY_FALLBACKS`: also accepted when decoding, tried in order. */
  readonly fallbackSecrets?: readonly SigningKey[] | undefined;
  /** @default "django.contrib.sessions.SessionStore" (`DJANGO_SESSION_SALT`) */
  readonly salt?: string | undefined;
  /** The clock for the signed timestamp, in epoch **seconds**. @default Date.now() / 1000 */
  readonly now?: (() => number) | undefined;
  /** @default "sha256" (Django ≥ 3.1) */
  readonly algorithm?: SigningAlgorithm | undefined;
  /** Bound on the encoded text: `encode` throws `SessionTooLargeError`, `decode` throws `DecodeError`. @default 1 MiB */
  readonly maxBytes?: number | undefined;
  /** Bound on what a compressed record may inflate to. @default 1 MiB */
  readonly maxDecompressedBytes?: number | undefined;
  /** Nesting bound, both ways. @default 64 */
  readonly maxDepth?: number | undefined;
  /** Seconds a signed timestamp may lie ahead of this clock. @default 60 */
  readonly maxFutureSkew?: number | undefined;
}

function byteLength(key: SigningKey): number {
  return typeof key === "string" ? Buffer.byteLength(key, "utf8") : key.length;
}

function isPlainObject(value: unknown): value is SessionData {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Django's own session encoding, so a store pointed at Django's `django_session` table (or a file
 * or cache written by Django) shares sessions with a Django app (3.1 through 6.x):
 * `encode(d)` = `signing.dumps(d, salt=key_salt, compress=True)` with Python-compatible JSON,
 * byte for byte; `decode` verifies with `secret`, then each fallback, and never checks an age
 * (the record's own expiry governs, as in Django). Any failure to verify or read throws
 * `DecodeError`, which the engine treats as an empty session, as Django's `decode` returns `{}`.
 *
 * Values are what Python's json can hold: null, booleans, strings, finite numbers, bigints,
 * arrays and plain objects. A `Date` is written the way Django ≥ 4 writes datetimes into a
 * session, as `datetime.isoformat()` text (`2023-11-14T22:13:20+00:00`), and reads back as that
 * string. `Map`, `Set`, `Uint8Array`, `undefined`, NaN/±Infinity and class instances throw
 * `InvalidArgumentError` at encode. Numbers read back as JavaScript numbers: `1.0` becomes `1`,
 * integers beyond 2^53 lose precision, and integer-like keys come back first (see
 * `pythonJsonDumps`).
 */
export function djangoCodec(options: DjangoCodecOptions): SessionCodec {
  const keys = [options.secret, ...(options.fallbackSecrets ?? [])];
  for (const key of keys) {
    if ((typeof key !== "string" && !(key instanceof Uint8Array)) || byteLength(key) < MIN_SECRET_BYTES) {
      throw new ConfigError(`djangoCodec secrets must be at least ${MIN_SECRET_BYTES} bytes`);
    }
  }
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const maxDepth = options.maxDepth ?? PYTHON_JSON_MAX_DEPTH;
  const maxDecompressedBytes = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1)
    throw new ConfigError("djangoCodec maxBytes must be a positive integer");
  if (!Number.isSafeInteger(maxDecompressedBytes) || maxDecompressedBytes < 1) {
    throw new ConfigError("djangoCodec maxDecompressedBytes must be a positive integer");
  }
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1 || maxDepth > 10_000) {
    throw new ConfigError("djangoCodec maxDepth must be an integer from 1 to 10000");
  }
  const signer = new TimestampSigner({
    key: options.secret,
    fallbackKeys: options.fallbackSecrets,
    salt: options.salt ?? DJANGO_SESSION_SALT,
    algorithm: options.algorithm,
    now: options.now,
    maxFutureSkew: options.maxFutureSkew,
  });

  return {
    name: "django",
    encode(data: SessionData): string {
      if (!isPlainObject(data)) throw new InvalidArgumentError("session data must be a plain object");
      const json = pythonJsonDumps(data, { dates: "isoformat", maps: "reject", maxDepth });
      const text = signer.signPayload(json, { compress: true });
      if (text.length > maxBytes) throw new SessionTooLargeError(text.length, maxBytes);
      return text;
    },
    decode(text: string): SessionData {
      if (typeof text !== "string") throw new DecodeError("session data is not a string");
      if (text.length > maxBytes) throw new DecodeError(`session data is larger than ${maxBytes} bytes`);
      let value: unknown;
      try {
        value = signer.unsignObject(text, { maxDecompressedBytes, maxDepth });
      } catch (error) {
        throw new DecodeError("session data did not verify or could not be read", { cause: error });
      }
      if (!isPlainObject(value)) throw new DecodeError("session data is not a JSON object");
      return value;
    },
  };
}
