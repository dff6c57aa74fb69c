import { createHmac } from "node:crypto";
import { base64UrlDecode, base64UrlEncode, constantTimeEqual, derivedHmacKey } from "../crypto/primitives.js";
import {
  BadSignatureError,
  ConfigError,
  InvalidArgumentError,
  PorterError,
  SignatureExpiredError,
} from "../errors.js";
import { isWellFormedText } from "../stores/text.js";
import { b62Decode, b62Encode } from "./base62.js";
import { compress, DEFAULT_MAX_DECOMPRESSED_BYTES, inflateBounded } from "./compress.js";
import { PYTHON_JSON_MAX_DEPTH, pythonJsonDumps, pythonJsonLoads } from "./python-json.js";

/** The hash behind the HMAC. Django's Signer default is `sha256`. */
export type SigningAlgorithm = "sha1" | "sha256" | "sha512";

/** A secret: a string (UTF-8 encoded, as Django does) or raw bytes. */
export type SigningKey = string | Uint8Array;

const ALGORITHMS: ReadonlySet<string> = new Set(["sha1", "sha256", "sha512"]);

/** Django rejects separators that could appear in a signature or a base64/base62 payload. `[A-z]` also spans `[\]^_\``, as in Django. */
const UNSAFE_SEP = /^[A-z0-9\-_=]*$/;

export interface SignerOptions {
  /** The secret that signs, and verifies first. */
  readonly key: SigningKey;
  /** Retired secrets still accepted when verifying (Django's `SECRET_KEY_FALLBACKS`), tried in order. */
  readonly fallbackKeys?: readonly SigningKey[] | undefined;
  /**
   * Namespaces the signature, so a value signed for one purpose is refused for another.
   * Omitted or `""`: the class default, `django.core.signing.Signer` or
   * `django.core.signing.TimestampSigner` (an empty salt is falsy in Django too).
   */
  readonly salt?: string | undefined;
  /** @default ":" Must not consist only of `A-z0-9-_=` (`ConfigError`). */
  readonly sep?: string | undefined;
  /** @default "sha256" */
  readonly algorithm?: SigningAlgorithm | undefined;
}

export interface SignObjectOptions {
  /**
   * zlib-compress the JSON, Django's rule: the compressed form is used only when it is shorter
   * than the JSON by more than one byte, and is then marked by a `.` inside the signed text.
   * @default false
   */
  readonly compress?: boolean | undefined;
}

export interface UnsignOptions {
  /**
   * Seconds. Only a `TimestampSigner` can check it: a value older than this throws
   * `SignatureExpiredError` (an age exactly equal passes). `null`/omitted: no age limit.
   */
  readonly maxAge?: number | null | undefined;
}

export interface UnsignObjectOptions extends UnsignOptions {
  /** A `.`-compressed payload that inflates past this many bytes is refused. @default 1 MiB */
  readonly maxDecompressedBytes?: number | undefined;
  /** JSON nesting deeper than this is refused. @default 64 */
  readonly maxDepth?: number | undefined;
}

/** What verification found besides the value. */
export interface UnsignResult<T = string> {
  readonly value: T;
  /** True when a fallback key verified: re-issue the value under the current key. */
  readonly usedFallback: boolean;
  /** For a `TimestampSigner`: when the value was signed, epoch seconds. */
  readonly timestamp?: number;
}

function checkKey(key: unknown, what: string): SigningKey {
  if (typeof key === "string" ? key.length === 0 : !(key instanceof Uint8Array) || key.length === 0) {
    throw new ConfigError(`${what} must be a non-empty string or Uint8Array`);
  }
  return key as SigningKey;
}

const LATIN1_ONLY = /^[\u0000-\u00ff]*$/;
// Text with a lone surrogate is refused (`isWellFormedText`, a native scan): UTF-8 turns every
// lone surrogate into U+FFFD, so two different strings would share a MAC.

/**
 * Django's `django.core.signing.Signer`: `value + sep + base64url(HMAC(H(salt + "signer" + key), value))`.
 *
 * - `unsign` splits on the last separator and compares the signature in constant time with the
 *   key, then each fallback key; any mismatch, a missing separator, a non-string or a string with
 *   a lone surrogate (which UTF-8 cannot carry, so Python could not have signed it) throws
 *   `BadSignatureError`. It never throws anything else for bad input.
 * - `signObject`/`unsignObject` are Django's `sign_object`/`unsign_object` with its JSON
 *   serializer (`pythonJsonDumps`/`pythonJsonLoads`). The MAC is checked over the exact text
 *   received before anything is base64-decoded, inflated or parsed; every later failure
 *   (non-canonical base64, a corrupt or oversized zlib stream, bad JSON, too deep) is a
 *   `BadSignatureError` too.
 * - Derived HMAC keys are computed once per instance (and cached across instances).
 */
export class Signer {
  /** The salt used when none (or `""`) is given. */
  static readonly defaultSalt: string = "django.core.signing.Signer";

  readonly salt: string;
  readonly sep: string;
  readonly algorithm: SigningAlgorithm;
  readonly #hmacKeys: readonly Buffer[];

  constructor(options: SignerOptions) {
    const algorithm = options.algorithm ?? "sha256";
    if (!ALGORITHMS.has(algorithm)) {
      throw new ConfigError(
        `'${String(algorithm)}' is not a supported signing algorithm (sha1, sha256, sha512)`,
      );
    }
    const sep = options.sep ?? ":";
    if (typeof sep !== "string" || UNSAFE_SEP.test(sep)) {
      throw new ConfigError(
        `unsafe Signer separator ${JSON.stringify(sep)} (cannot be empty or consist of only A-z0-9-_=)`,
      );
    }
    this.algorithm = algorithm;
    this.sep = sep;
    this.salt = options.salt || (new.target as typeof Signer).defaultSalt;
    const keys = [
      checkKey(options.key, "key"),
      ...(options.fallbackKeys ?? []).map((k) => checkKey(k, "fallback key")),
    ];
    this.#hmacKeys = keys.map((key) => derivedHmacKey(`${this.salt}signer`, key, algorithm));
  }

  #signatureWith(hmacKey: Buffer, value: string): string {
    return createHmac(this.algorithm, hmacKey).update(value, "utf8").digest("base64url");
  }

  /** Django's `Signer.signature(value)`: the base64url MAC with the current key. */
  signature(value: string): string {
    return this.#signatureWith(this.#hmacKeys[0]!, value);
  }

  /** `value + sep + signature(value)`. */
  sign(value: string): string {
    if (typeof value !== "string") throw new InvalidArgumentError("Signer.sign takes a string");
    if (!isWellFormedText(value))
      throw new InvalidArgumentError("cannot sign a string with a lone surrogate");
    return `${value}${this.sep}${this.signature(value)}`;
  }

  /** The value, if `signed` verifies with the key or a fallback key; `BadSignatureError` otherwise. */
  unsign(signed: string, options?: UnsignOptions): string {
    return this.unsignDetailed(signed, options).value;
  }

  /** `unsign`, also saying whether a fallback key was needed. */
  unsignDetailed(signed: string, options?: UnsignOptions): UnsignResult {
    if (options?.maxAge !== undefined && options.maxAge !== null) {
      throw new InvalidArgumentError("maxAge needs a TimestampSigner: a Signer's values carry no timestamp");
    }
    if (typeof signed !== "string") throw new BadSignatureError("signed value is not a string");
    if (!isWellFormedText(signed)) throw new BadSignatureError("signed value is not well-formed text");
    const at = signed.lastIndexOf(this.sep);
    if (at < 0) throw new BadSignatureError(`no "${this.sep}" found in value`);
    const value = signed.slice(0, at);
    const signature = signed.slice(at + this.sep.length);
    const keys = this.#hmacKeys;
    for (let i = 0; i < keys.length; i++) {
      if (constantTimeEqual(signature, this.#signatureWith(keys[i]!, value))) {
        return { value, usedFallback: i > 0 };
      }
    }
    throw new BadSignatureError("signature does not match");
  }

  /** Django's `sign_object(obj, compress=…)`: Python-compatible JSON, optionally zlib, base64url, signed. */
  signObject(obj: unknown, options: SignObjectOptions = {}): string {
    return this.signPayload(pythonJsonDumps(obj), options);
  }

  /**
   * `signObject` from JSON text (or bytes) already serialized, for payloads a JavaScript value
   * cannot spell the way Python did (`1.0`, integer-like key order, big integers) or for another
   * serializer's output. A string is encoded as latin-1, as Django does; characters above U+00FF
   * throw `InvalidArgumentError`.
   */
  signPayload(json: string | Uint8Array, options: SignObjectOptions = {}): string {
    let data: Uint8Array;
    if (typeof json === "string") {
      if (!LATIN1_ONLY.test(json)) {
        throw new InvalidArgumentError("a signed payload must be latin-1 text (Python's JSON is ASCII)");
      }
      data = Buffer.from(json, "latin1");
    } else {
      data = json;
    }
    let marker = "";
    if (options.compress) {
      const compressed = compress(data);
      if (compressed.length < data.length - 1) {
        data = compressed;
        marker = ".";
      }
    }
    return this.sign(marker + base64UrlEncode(data));
  }

  /** Django's `unsign_object`: verify, then decode. Every failure is a `BadSignatureError`. */
  unsignObject(signed: string, options: UnsignObjectOptions = {}): unknown {
    return this.unsignObjectDetailed(signed, options).value;
  }

  /** `unsignObject`, also saying whether a fallback key was needed (and, timestamped, when it was signed). */
  unsignObjectDetailed(signed: string, options: UnsignObjectOptions = {}): UnsignResult<unknown> {
    const result = this.unsignPayloadDetailed(signed, options);
    try {
      return {
        ...result,
        value: pythonJsonLoads(result.value, { maxDepth: options.maxDepth ?? PYTHON_JSON_MAX_DEPTH }),
      };
    } catch (error) {
      if (PorterError.is(error))
        throw new BadSignatureError(`signed payload cannot be read: ${error.message}`);
      throw error;
    }
  }

  /** The verified payload as JSON text (latin-1 decoded, inflated if it was compressed). */
  unsignPayload(signed: string, options: UnsignObjectOptions = {}): string {
    return this.unsignPayloadDetailed(signed, options).value;
  }

  /** `unsignPayload` with the verification details. */
  unsignPayloadDetailed(signed: string, options: UnsignObjectOptions = {}): UnsignResult {
    const result = this.unsignDetailed(signed, options);
    return { ...result, value: decodePayload(result.value, options.maxDecompressedBytes) };
  }
}

/** The verified text of `sign_object` back to JSON text. Runs only after the MAC verified. */
function decodePayload(text: string, maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): string {
  const compressed = text.startsWith(".");
  const raw = base64UrlDecode(compressed ? text.slice(1) : text);
  if (raw === null) throw new BadSignatureError("signed payload is not canonical base64url");
  if (!compressed) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("latin1");
  const inflated = inflateBounded(raw, maxDecompressedBytes);
  if (inflated === null) {
    throw new BadSignatureError(
      `compressed payload is corrupt or inflates past ${maxDecompressedBytes} bytes`,
    );
  }
  return inflated.toString("latin1");
}

export interface TimestampSignerOptions extends SignerOptions {
  /** The clock, epoch seconds (fractions allowed). Injectable for tests. @default Date.now() / 1000 */
  readonly now?: (() => number) | undefined;
  /**
   * Seconds a timestamp may lie in the future (clock skew between servers) before the value is
   * refused with `BadSignatureError`. Django has no such check; `Infinity` turns it off.
   * @default 60
   */
  readonly maxFutureSkew?: number | undefined;
}

const systemClock = (): number => Date.now() / 1000;

/**
 * Django's `TimestampSigner`: `sign(v)` = `Signer.sign(v + sep + base62(int(now)))`, so the
 * output is `v:TS:SIG` and the MAC covers the timestamp. `unsign(s, { maxAge })` throws
 * `SignatureExpiredError` when `now - TS > maxAge` (equal passes) and `BadSignatureError` when the
 * timestamp lies more than `maxFutureSkew` seconds ahead of the clock.
 */
export class TimestampSigner extends Signer {
  static override readonly defaultSalt: string = "django.core.signing.TimestampSigner";

  readonly #now: () => number;
  readonly #maxFutureSkew: number;

  constructor(options: TimestampSignerOptions) {
    super(options);
    this.#now = options.now ?? systemClock;
    const skew = options.maxFutureSkew ?? 60;
    if (typeof skew !== "number" || Number.isNaN(skew) || skew < 0) {
      throw new ConfigError("maxFutureSkew must be a non-negative number of seconds");
    }
    this.#maxFutureSkew = skew;
  }

  /** base62 of the current time in whole seconds. */
  timestamp(): string {
    return b62Encode(Math.floor(this.#now()));
  }

  override sign(value: string): string {
    if (typeof value !== "string") throw new InvalidArgumentError("TimestampSigner.sign takes a string");
    return super.sign(`${value}${this.sep}${this.timestamp()}`);
  }

  override unsign(signed: string, options?: UnsignOptions): string {
    return this.unsignDetailed(signed, options).value;
  }

  override unsignDetailed(signed: string, options?: UnsignOptions): UnsignResult {
    const maxAge = options?.maxAge ?? null;
    if (maxAge !== null && (typeof maxAge !== "number" || Number.isNaN(maxAge))) {
      throw new InvalidArgumentError("maxAge must be a number of seconds or null");
    }
    const { value: stamped, usedFallback } = super.unsignDetailed(signed);
    const at = stamped.lastIndexOf(this.sep);
    if (at < 0) throw new BadSignatureError("signed value carries no timestamp");
    let timestamp: number;
    try {
      timestamp = b62Decode(stamped.slice(at + this.sep.length));
    } catch {
      throw new BadSignatureError("signed value carries a malformed timestamp");
    }
    const age = this.#now() - timestamp;
    if (-age > this.#maxFutureSkew) throw new BadSignatureError("signature timestamp lies in the future");
    if (maxAge !== null && age > maxAge) throw new SignatureExpiredError(age, maxAge);
    return { value: stamped.slice(0, at), usedFallback, timestamp };
  }
}
