export {
  isCookieValue,
  parseCookieHeader,
  readCookie,
  serializeCookie,
  serializeDeletionCookie,
  validateCookieOptions,
} from "./cookies.js";
export { createDeadlineRunner, type DeadlineOptions } from "./deadlines.js";
export {
  type CommitOptions,
  type CommitResult,
  createSessionEngine,
  type SessionCookieSettings,
  type SessionEngine,
  type SessionEngineOptions,
  type SessionEvent,
} from "./engine.js";
export {
  DEFAULT_SESSION_AGE,
  EXPIRY_KEY,
  expiresAtBrowserClose,
  expiryAge,
  expiryDate,
  parseStoredExpiry,
  pythonIsoFormat,
} from "./expiry.js";
export { hashSessionKey, isSessionKey, newSessionKey, SESSION_KEY_PATTERN } from "./keys.js";
export { PorterSession } from "./session.js";
