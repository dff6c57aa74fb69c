import type { SigningAlgorithm, SigningKey, UnsignResult } from "./signer.js";
import { TimestampSigner } from "./signer.js";

/** The salt `dumps`/`loads` use when none is given. An empty salt falls back to `django.core.signing.TimestampSigner`, as in Django. */
export const DEFAULT_DUMPS_SALT = "django.core.signing";

export interface DumpsOptions {
  readonly key: SigningKey;
  /** @default "django.core.signing"; `""` means `django.core.signing.TimestampSigner` (Django's falsy-salt rule). */
  readonly salt?: string | undefined;
  /** Django's `compress=True`. @default false */
  readonly compress?: boolean | undefined;
  /** Accepted for symmetry with `loads`; signing always uses `key`. */
  readonly fallbackKeys?: readonly SigningKey[] | undefined;
  /** The clock, epoch seconds. @default Date.now() / 1000 */
  readonly now?: (() => number) | undefined;
  /** @default "sha256" */
  readonly algorithm?: SigningAlgorithm | undefined;
}

export interface LoadsOptions {
  readonly key: SigningKey;
  /** Must equal the salt given to `dumps`. @default "django.core.signing" */
  readonly salt?: string | undefined;
  /** Seconds; older values throw `SignatureExpiredError`. `null`/omitted: no limit. */
  readonly maxAge?: number | null | undefined;
  /** Retired keys still accepted, in order (Django's `fallback_keys`). */
  readonly fallbackKeys?: readonly SigningKey[] | undefined;
  readonly now?: (() => number) | undefined;
  readonly algorithm?: SigningAlgorithm | undefined;
  /** @default 1 MiB */
  readonly maxDecompressedBytes?: number | undefined;
  /** @default 64 */
  readonly maxDepth?: number | undefined;
  /** Seconds a timestamp may lie ahead of the clock. @default 60 */
  readonly maxFutureSkew?: number | undefined;
}

function signerFor(options: DumpsOptions | LoadsOptions): TimestampSigner {
  return new TimestampSigner({
    key: options.key,
    fallbackKeys: options.fallbackKeys,
    salt: options.salt ?? DEFAULT_DUMPS_SALT,
    algorithm: options.algorithm,
    now: options.now,
    maxFutureSkew: "maxFutureSkew" in options ? options.maxFutureSkew : undefined,
  });
}

/**
 * Django's `signing.dumps(obj, key, salt, compress=…)`: a URL-safe, timestamped, signed string of
 * Python-compatible JSON (`pythonJsonDumps`; its limits apply). Not encrypted: anyone can read it.
 */
export function dumps(obj: unknown, options: DumpsOptions): string {
  return signerFor(options).signObject(obj, { compress: options.compress });
}

/** `dumps` from JSON text that is already serialized (see `Signer.signPayload`). */
export function dumpsPayload(json: string | Uint8Array, options: DumpsOptions): string {
  return signerFor(options).signPayload(json, { compress: options.compress });
}

/**
 * Django's `signing.loads`: verifies (key, then fallbacks), checks `maxAge`, then decodes.
 * Throws `SignatureExpiredError` past `maxAge` and `BadSignatureError` for everything else that is
 * wrong with `signed` (wrong key or salt, tampering, a payload that cannot be read).
 */
export function loads(signed: string, options: LoadsOptions): unknown {
  return signerFor(options).unsignObject(signed, options);
}

/** `loads`, also saying whether a fallback key verified (re-issue then) and when it was signed. */
export function loadsDetailed(signed: string, options: LoadsOptions): UnsignResult<unknown> {
  return signerFor(options).unsignObjectDetailed(signed, options);
}

/** `loads` up to the JSON text, for payloads read by another parser. */
export function loadsPayload(signed: string, options: LoadsOptions): string {
  return signerFor(options).unsignPayload(signed, options);
}
