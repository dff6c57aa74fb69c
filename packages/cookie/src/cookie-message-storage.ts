import {
  ConfigError,
  type CookieOptions,
  getCookieSigner,
  type Message,
  type MessageLoadResultWithCorruption,
  type MessageStorage,
  type MessageStoreOptions,
  PorterError,
  pythonJsonDumps,
  type RequestContext,
  validateCookieOptions,
} from "@porter/core";
import { MAX_VALUE_LENGTH } from "./format.js";
import { checkSecrets, type Secret } from "./secrets.js";

/** Django's `CookieStorage.key_salt`. */
export const MESSAGES_SALT = "django.contrib.messages";
/** Django's `not_finished` sentinel: the last list element when more messages wait in the next storage. */
export const MESSAGES_NOT_FINISHED = "__messagesnotfinished__";
const MESSAGE_KEY = "__json_message";
const NOT_FINISHED_JSON = JSON.stringify(MESSAGES_NOT_FINISHED);

/** Cookie attributes of the message cookie; it is always a browser-session cookie. */
export type MessageCookieOptions = Omit<CookieOptions, "maxAge" | "expires">;

export type CookieMessageStorageEvent = { readonly type: "invalid" } | { readonly type: "expired" };

export interface CookieMessageStorageOptions {
  /** Django's `SECRET_KEY`: the signer's key is `"django.http.cookies" + secret`. At least 32 bytes. */
  secret: Secret;
  /** Django's `SECRET_KEY_FALLBACKS` (4.1+): still accepted when reading. */
  fallbackSecrets?: readonly Secret[];
  /** @default "messages" (Django's `CookieStorage.cookie_name`) */
  name?: string;
  /**
   * The longest cookie value written, measured as Django does (after `SimpleCookie` quoting);
   * `0` turns the limit off. @default 2048
   */
  maxCookieSize?: number;
  /**
   * Give the session cookie's attributes (Django uses `SESSION_COOKIE_DOMAIN`, `_SECURE`,
   * `_HTTPONLY`, `_SAMESITE`), e.g. `cookieOptions: engine.cookieOptions`; `maxAge` and `expires`
   * are dropped. @default `{ path: "/", secure: true, httpOnly: true, sameSite: "Lax" }`
   */
  cookieOptions?: CookieOptions;
  /**
   * How an empty `extraTags` is written: `"keep-empty"` (Django ≥ 4.1) writes `""` and omits
   * only `null`; `"drop-empty"` (Django 3.2) omits both, so `""` reads back as `null`. Reading
   * accepts both. @default "keep-empty"
   */
  extraTags?: "keep-empty" | "drop-empty";
  /**
   * Seconds after which a message cookie is ignored. Django signs a timestamp but never checks it
   * (so a captured cookie replays forever there); set this to bound replay. @default null (Django's)
   */
  maxAge?: number | null;
  /** The most a compressed cookie may inflate to (zip-bomb bound). @default 65536 */
  maxDecompressedBytes?: number;
  /** Epoch ms. @default Date.now */
  clock?: () => number;
  onEvent?: (event: CookieMessageStorageEvent) => void;
}

// SimpleCookie leaves these as they are; anything else makes it quote the value (MC-5).
const COOKIE_LEGAL = /^[A-Za-z0-9!#$%&'*+\-.^_`|~:]*$/;

/** The length of `value` after Python's `SimpleCookie.value_encode` (`http.cookies._quote`). */
export function storedCookieLength(value: string): number {
  if (COOKIE_LEGAL.test(value)) return value.length;
  let length = 2;
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") length += 2;
    else if (cp < 0x20 || (cp >= 0x7f && cp <= 0xff)) length += 4;
    else length += 1; // Python counts code points
  }
  return length;
}

/** Django 5.x's `bisect_keep_left`: the first index whose prefix `a[:i+1]` satisfies `fn`. */
function bisectKeepLeft<T>(a: readonly T[], fn: (part: readonly T[]) => boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fn(a.slice(0, mid + 1))) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Django 5.x's `bisect_keep_right`: the first index whose suffix `a[i:]` no longer satisfies `fn`. */
function bisectKeepRight<T>(a: readonly T[], fn: (part: readonly T[]) => boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fn(a.slice(mid))) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One decoded list element back to a message, or `null` for anything Django would not have written. */
function toMessage(item: unknown): Message | null {
  if (!Array.isArray(item) || (item.length !== 4 && item.length !== 5) || item[0] !== MESSAGE_KEY)
    return null;
  const [, safe, level, message, extraTags] = item as unknown[];
  if ((safe !== 0 && safe !== 1) || !Number.isSafeInteger(level) || typeof message !== "string") return null;
  if (item.length === 5 && typeof extraTags !== "string" && extraTags !== null) return null;
  return {
    level: level as number,
    message,
    extraTags: item.length === 5 ? (extraTags as string | null) : null,
    safe: safe === 1,
  };
}

/**
 * Django's `CookieStorage` (`django.contrib.messages.storage.cookie`), byte for byte: cookie
 * `messages`, the value `get_cookie_signer(salt="django.contrib.messages").sign_object(list,
 * compress=True)` (a `TimestampSigner` keyed `"django.http.cookies" + SECRET_KEY`), each message
 * `["__json_message", is_safe 0|1, level, message(, extra_tags)]`. Django and Porter read each
 * other's message cookies.
 *
 * - `store` writes what fits in `maxCookieSize`. On overflow, with `removeOldest: true` (on its
 *   own) it drops the oldest and returns them; with `removeOldest: false` (inside a fallback
 *   storage) it keeps the oldest and returns the newest for the next storage; either way the
 *   `__messagesnotfinished__` sentinel is appended. An empty list deletes the cookie.
 * - `load` of a cookie that does not verify, or is not a list, yields no messages, reports
 *   `corrupt: true` (so core's messages API clears the storage at commit, as Django does) and
 *   also deletes the cookie at once, whatever API drives the storage. List elements that are not
 *   messages are dropped. `safe` is honoured only because the signature verified: only the server
 *   can have set it.
 */
export function createCookieMessageStorage(options: CookieMessageStorageOptions): MessageStorage {
  const owner = "createCookieMessageStorage";
  if (options === null || typeof options !== "object")
    throw new ConfigError(`${owner}: options are required`);
  const secrets = checkSecrets(options.secret, options.fallbackSecrets, owner);
  const name = options.name ?? "messages";
  const maxCookieSize = options.maxCookieSize ?? 2048;
  if (!Number.isSafeInteger(maxCookieSize) || maxCookieSize < 0)
    throw new ConfigError(`${owner}: maxCookieSize must be a non-negative integer`);
  const {
    maxAge: _maxAge,
    expires: _expires,
    ...rest
  } = options.cookieOptions ?? {
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: "Lax",
  };
  const cookieOptions: MessageCookieOptions = { path: "/", ...rest };
  validateCookieOptions(name, cookieOptions);
  const keepEmptyTags = (options.extraTags ?? "keep-empty") === "keep-empty";
  if (
    options.extraTags !== undefined &&
    options.extraTags !== "keep-empty" &&
    options.extraTags !== "drop-empty"
  ) {
    throw new ConfigError(`${owner}: extraTags must be "keep-empty" or "drop-empty"`);
  }
  const maxAge = options.maxAge ?? null;
  if (maxAge !== null && (!Number.isSafeInteger(maxAge) || maxAge <= 0))
    throw new ConfigError(`${owner}: maxAge must be a positive integer number of seconds or null`);
  const maxDecompressedBytes = options.maxDecompressedBytes ?? 65_536;
  if (!Number.isSafeInteger(maxDecompressedBytes) || maxDecompressedBytes < 1) {
    throw new ConfigError(`${owner}: maxDecompressedBytes must be a positive integer`);
  }
  const clock = options.clock ?? Date.now;
  const emit = options.onEvent ?? (() => {});
  const signer = getCookieSigner({
    secretKey: secrets[0]!,
    fallbackSecretKeys: secrets.slice(1),
    salt: MESSAGES_SALT,
    algorithm: "sha256",
    now: () => clock() / 1000,
    // Django checks no timestamp here at all; a future one is refused only when an age is enforced.
    maxFutureSkew: maxAge === null ? Number.POSITIVE_INFINITY : 60,
  });

  function serialize(m: Message): string {
    const parts: unknown[] = [MESSAGE_KEY, m.safe === true ? 1 : 0, m.level, m.message];
    const tags = m.extraTags;
    if (keepEmptyTags ? tags !== null && tags !== undefined : typeof tags === "string" && tags !== "")
      parts.push(tags);
    return pythonJsonDumps(parts);
  }

  function encodeParts(parts: readonly string[], encodeEmpty: boolean): string | null {
    if (parts.length === 0 && !encodeEmpty) return null;
    return signer.signPayload(`[${parts.join(",")}]`, { compress: true });
  }

  const tooLarge = (value: string | null): boolean =>
    value !== null && maxCookieSize > 0 && storedCookieLength(value) > maxCookieSize;

  function decode(raw: string): unknown[] | null {
    if (raw.length > MAX_VALUE_LENGTH) return null;
    try {
      const value = signer.unsignObject(raw, { maxAge, maxDecompressedBytes });
      return Array.isArray(value) ? value : null;
    } catch (error) {
      if (PorterError.is(error, "SIGNATURE_EXPIRED")) emit({ type: "expired" });
      return null;
    }
  }

  return {
    name: "cookie",

    async load(ctx: RequestContext): Promise<MessageLoadResultWithCorruption> {
      const raw = ctx.cookies.get(name);
      if (raw === undefined || raw === "") return { messages: [], allRetrieved: true, present: false };
      const list = decode(raw);
      if (list === null) {
        emit({ type: "invalid" });
        ctx.cookies.delete(name, cookieOptions);
        return { messages: [], allRetrieved: true, present: false, corrupt: true };
      }
      let allRetrieved = true;
      if (list.length > 0 && list[list.length - 1] === MESSAGES_NOT_FINISHED) {
        list.pop();
        allRetrieved = false;
      }
      const messages: Message[] = [];
      for (const item of list) {
        const message = toMessage(item);
        if (message !== null) messages.push(message);
      }
      return { messages, allRetrieved, present: true };
    },

    async store(
      ctx: RequestContext,
      messages: readonly Message[],
      storeOptions: MessageStoreOptions = {},
    ): Promise<Message[]> {
      const removeOldest = storeOptions.removeOldest ?? true;
      const serialized = messages.map(serialize);
      let unstored: Message[] = [];
      let encoded = encodeParts(serialized, false);
      if (tooLarge(encoded)) {
        const withSentinel = (some: readonly string[]): string =>
          encodeParts([...some, NOT_FINISHED_JSON], true)!;
        const overflows = (some: readonly string[]): boolean => tooLarge(withSentinel(some));
        if (removeOldest) {
          const index = bisectKeepRight(serialized, overflows);
          unstored = messages.slice(0, index);
          encoded = withSentinel(serialized.slice(index));
        } else {
          const index = bisectKeepLeft(serialized, overflows);
          unstored = messages.slice(index);
          encoded = withSentinel(serialized.slice(0, index));
        }
      }
      if (encoded === null) ctx.cookies.delete(name, cookieOptions);
      else ctx.cookies.set(name, encoded, cookieOptions);
      return unstored;
    },
  };
}
