export { type CachedSessionStoreOptions, cachedSessionStore } from "./cached-session-store.js";
export {
  createMemorySessionStore,
  type MemorySessionStore,
  type MemorySessionStoreOptions,
} from "./memory-session-store.js";
export { checkExpiresAt, checkSessionData, checkSessionRecord, checkStoreKey } from "./session-args.js";
export {
  decodeLossless,
  isWellFormedText,
  type LosslessEncoding,
  losslessByteLength,
  losslessEncoding,
} from "./text.js";
export {
  applyUserPatch,
  type CheckedUserPatch,
  checkGroupName,
  copyUserRecord,
  GROUP_NAME_MAX_LENGTH,
  isRandomUserId,
  type NewUserFields,
  randomUserId,
  type UserChanges,
  validateNewUser,
  validateStringSet,
  validateUserPatch,
  validateUserRecord,
} from "./users.js";
