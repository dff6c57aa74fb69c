import {
  type ClientSessionRecord,
  type ClientSessionStore,
  ConfigError,
  CookieTooLargeError,
  InvalidArgumentError,
  jsonCodec,
  type SessionCodec,
  type SessionData,
  StoreUnavailableError,
} from "@porter/core";
import { djangoFormat } from "./django-format.js";
import { deriveEncryptionKey, encryptedFormat } from "./encrypted-format.js";
import type { CookieFormat } from "./format.js";
import { pythonJsonCodec } from "./python-json-codec.js";
import { checkSecrets, type Secret } from "./secrets.js";
import { signedFormat } from "./signed-format.js";
import { textToBytes } from "./text.js";

/**
 * - `"encrypted"`: AES-256-GCM. The client can neither read nor change the session.
 * - `"signed"`: HMAC-SHA256. The client cannot change the session but **can read all of it**
 *   (it is base64url, not encrypted): never keep anything there the user must not see.
 * - `"django"`: Django's `signed_cookies` session backend, byte for byte, so Django and Porter
 *   read each other's cookies. Signed, not encrypted: **readable by the user**. Use it with
 *   `pythonJsonCodec()` as the engine's codec.
 */
export type CookieSessionMode = "encrypted" | "signed" | "django";

/** Security events, for logs and metrics. They never carry the cookie value or a secret. */
export type CookieSessionEvent =
  /** The value did not verify: garbage, tampered, truncated, a retired secret, another purpose or mode. */
  | { readonly type: "invalid" }
  /** The value verified but its lifetime is over. */
  | { readonly type: "expired" }
  /** The value verified but `isValid` refused it (a revoked session). */
  | { readonly type: "revoked" }
  /** The value verified with a fallback secret; the engine re-issues it under the current one. */
  | { readonly type: "fallback-secret" };

/** What `isValid` learns about a cookie besides its data. */
export interface CookieSessionInfo {
  /**
   * When this cookie value was issued, epoch ms. In django mode, the signing timestamp (whole
   * seconds), which is backdated for a session whose expiry is shorter than `maxAge`: that is
   * how its expiry travels in Django's format.
   */
  readonly issuedAt: number;
  /** Epoch ms. */
  readonly expiresAt: number;
}

export interface CookieSessionStoreOptions {
  /**
   * Signs or encrypts every new cookie, and is tried first when reading. At least 32 bytes
   * (`ConfigError` otherwise); in django mode, Django's `SECRET_KEY`.
   */
  secret: Secret;
  /**
   * Retired secrets still accepted when reading, in order (Django's `SECRET_KEY_FALLBACKS`). A
   * cookie that only a fallback verifies is re-issued under `secret` at the end of the request
   * (`needsReissue`), so rotating a secret logs nobody out. Remove a secret from this list once
   * `maxAge` has passed since it was retired: from then on its cookies decode to `null`.
   */
  fallbackSecrets?: readonly Secret[];
  /** @default "encrypted" */
  mode?: CookieSessionMode;
  /**
   * Seconds. In django mode, Django's `SESSION_COOKIE_AGE` (@default 1209600, two weeks): a cookie
   * lives while its signature is at most this old. Give the engine the same `maxAge`.
   * In the other modes, an optional cap on any cookie's age counted from when it was issued, on top
   * of the expiry inside it. @default none
   */
  maxAge?: number;
  /**
   * Binds the keys (encrypted: the HKDF `info`; signed: the HMAC salt) to one use, so a value made
   * for another purpose never decodes here. Not used in django mode, whose salt is Django's.
   * @default "session"
   */
  purpose?: string;
  /**
   * Refuses sessions that verified but are no longer wanted, e.g. every session of a user issued
   * before a "log out everywhere" (see `validAfter`). Called on every successful decode with the
   * data (parsed with `codec`) and when the cookie was issued; `false` makes the cookie no session.
   * If it throws, `decode` rejects with `StoreUnavailableError` and the engine treats the request
   * as anonymous (fail closed).
   */
  isValid?: (data: SessionData, info: CookieSessionInfo) => boolean | Promise<boolean>;
  /**
   * How `isValid` reads the data: give the engine's codec. @default `pythonJsonCodec()` in django
   * mode, `jsonCodec()` otherwise (the engine's default)
   */
  codec?: SessionCodec;
  /** The cookie's name, only to measure `name=value` against the browser's 4096 bytes. @default "sessionid" */
  cookieName?: string;
  /** Django mode: the most a compressed payload may inflate to (zip-bomb bound). @default 65536 */
  maxDecompressedBytes?: number;
  /** Epoch ms. @default Date.now */
  clock?: () => number;
  onEvent?: (event: CookieSessionEvent) => void;
}

/** A `ClientSessionStore` that also says which mode it speaks. */
export interface CookieSessionStore extends ClientSessionStore {
  readonly mode: CookieSessionMode;
  needsReissue(cookieValue: string): boolean;
}

/** Browsers keep at most 4096 bytes of name + `=` + value (RFC 6265 §6.1). */
export const BROWSER_COOKIE_LIMIT = 4096;
const DJANGO_DEFAULT_AGE = 1_209_600;
const PURPOSE = /^[\x21-\x7e]{1,64}$/;
const REISSUE_MEMORY = 64;

function positiveSeconds(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`${what} must be a positive integer number of seconds`);
  }
  return value;
}

/**
 * A session kept in the cookie itself (Django's `signed_cookies` backend, and an encrypted
 * variant). See `CookieSessionMode` for what each mode shows the user.
 *
 * - `decode` resolves `null` for anything but a live value this store issued: garbage, tampering,
 *   truncation, a retired secret, another purpose or mode, a value past its expiry (read from
 *   inside the authenticated payload, never from the browser's cookie expiry), a zip bomb. It
 *   never rejects for bad input.
 * - `encode` throws `CookieTooLargeError` when `name=value` would pass 4096 bytes.
 * - A cookie session cannot be deleted server-side: a copy of the cookie works until it expires.
 *   Keep `maxAge` short, rely on the session-auth hash, and use `isValid` (with `validAfter`) for
 *   "log out everywhere".
 */
export function createCookieSessionStore(options: CookieSessionStoreOptions): CookieSessionStore {
  if (options === null || typeof options !== "object")
    throw new ConfigError("createCookieSessionStore: options are required");
  const owner = "createCookieSessionStore";
  const mode = options.mode ?? "encrypted";
  if (mode !== "encrypted" && mode !== "signed" && mode !== "django") {
    throw new ConfigError(`${owner}: mode must be "encrypted", "signed" or "django"`);
  }
  const secrets = checkSecrets(options.secret, options.fallbackSecrets, owner);
  const purpose = options.purpose ?? "session";
  if (typeof purpose !== "string" || !PURPOSE.test(purpose)) {
    throw new ConfigError(`${owner}: purpose must be 1 to 64 printable ASCII characters`);
  }
  const maxAge =
    options.maxAge !== undefined
      ? positiveSeconds(options.maxAge, `${owner}: maxAge`)
      : mode === "django"
        ? DJANGO_DEFAULT_AGE
        : null;
  const maxDecompressedBytes = options.maxDecompressedBytes ?? 65_536;
  if (!Number.isSafeInteger(maxDecompressedBytes) || maxDecompressedBytes < 1) {
    throw new ConfigError(`${owner}: maxDecompressedBytes must be a positive integer`);
  }
  const cookieName = options.cookieName ?? "sessionid";
  if (typeof cookieName !== "string" || cookieName.length === 0)
    throw new ConfigError(`${owner}: cookieName must be a non-empty string`);
  const clock = options.clock ?? Date.now;
  const emit = options.onEvent ?? (() => {});
  const isValid = options.isValid;
  const codec = options.codec ?? (mode === "django" ? pythonJsonCodec() : jsonCodec());

  const format: CookieFormat =
    mode === "encrypted"
      ? encryptedFormat(
          secrets.map((s) => deriveEncryptionKey(s, purpose)),
          purpose,
        )
      : mode === "signed"
        ? signedFormat(secrets, purpose)
        : djangoFormat(secrets, maxAge!, maxDecompressedBytes);

  // decode() remembers which values a fallback verified, so the engine's needsReissue() right
  // after costs nothing; a miss is recomputed.
  const recent = new Map<string, boolean>();

  function open(value: string) {
    const now = clock();
    const opened = format.open(value, now);
    if (opened.ok && mode !== "django" && maxAge !== null && now - opened.issuedAt > maxAge * 1000) {
      return { ok: false as const, reason: "expired" as const };
    }
    return opened;
  }

  return {
    contractVersion: 1,
    clientSide: true,
    mode,

    async encode(data: string, expiresAt: number): Promise<string> {
      if (typeof data !== "string") throw new InvalidArgumentError("encode takes the codec's string");
      if (!Number.isSafeInteger(expiresAt) || expiresAt < 0)
        throw new InvalidArgumentError("expiresAt must be epoch milliseconds");
      const value = format.seal(textToBytes(data), Math.floor(clock()), expiresAt);
      const size = cookieName.length + 1 + value.length;
      if (size > BROWSER_COOKIE_LIMIT) throw new CookieTooLargeError(size, BROWSER_COOKIE_LIMIT);
      return value;
    },

    async decode(cookieValue: string): Promise<ClientSessionRecord | null> {
      if (cookieValue === "") return null;
      // Everything else, garbage included, takes the format's one path to a refusal.
      const opened = open(cookieValue);
      if (!opened.ok) {
        emit({ type: opened.reason });
        return null;
      }
      if (isValid !== undefined) {
        let data: SessionData;
        try {
          data = codec.decode(opened.data);
        } catch {
          emit({ type: "invalid" });
          return null;
        }
        let valid: boolean;
        try {
          valid = (await isValid(data, { issuedAt: opened.issuedAt, expiresAt: opened.expiresAt })) === true;
        } catch (error) {
          throw new StoreUnavailableError("the cookie session's isValid check failed", { cause: error });
        }
        if (!valid) {
          emit({ type: "revoked" });
          return null;
        }
      }
      if (opened.usedFallback) emit({ type: "fallback-secret" });
      if (secrets.length > 1) {
        if (recent.size >= REISSUE_MEMORY) recent.delete(recent.keys().next().value as string);
        recent.set(cookieValue, opened.usedFallback);
      }
      return { data: opened.data, expiresAt: opened.expiresAt };
    },

    needsReissue(cookieValue: string): boolean {
      if (secrets.length === 1 || typeof cookieValue !== "string") return false;
      const known = recent.get(cookieValue);
      if (known !== undefined) return known;
      const opened = open(cookieValue);
      return opened.ok && opened.usedFallback;
    },
  };
}
