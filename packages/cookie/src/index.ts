export {
  type CookieMessageStorageEvent,
  type CookieMessageStorageOptions,
  createCookieMessageStorage,
  MESSAGES_NOT_FINISHED,
  MESSAGES_SALT,
  type MessageCookieOptions,
  storedCookieLength,
} from "./cookie-message-storage.js";
export {
  BROWSER_COOKIE_LIMIT,
  type CookieSessionEvent,
  type CookieSessionInfo,
  type CookieSessionMode,
  type CookieSessionStore,
  type CookieSessionStoreOptions,
  createCookieSessionStore,
} from "./cookie-session-store.js";
export { type PythonJsonCodecOptions, pythonJsonCodec } from "./python-json-codec.js";
export { MIN_SECRET_BYTES, type Secret } from "./secrets.js";
export { type ValidAfterOptions, validAfter } from "./valid-after.js";
