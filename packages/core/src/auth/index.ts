export {
  createPasswordBackend,
  createRemoteUserBackend,
  DJANGO_ALLOW_ALL_USERS_MODEL_BACKEND_ID,
  DJANGO_MODEL_BACKEND_ID,
  DJANGO_REMOTE_USER_BACKEND_ID,
  PASSWORD_BACKEND_ID,
  type PasswordBackend,
  type PasswordBackendOptions,
  REMOTE_USER_BACKEND_ID,
  type RemoteUserBackend,
  type RemoteUserBackendOptions,
  type UserRecordBackend,
} from "./backends.js";
export {
  type Auth,
  type AuthEvent,
  type AuthenticateOptions,
  type AuthOptions,
  type AuthUser,
  authenticate,
  BACKEND_SESSION_KEY,
  CLEANSED_SUBSTITUTE,
  cleanseCredentials,
  createAuth,
  type GetUserOptions,
  getSessionAuthHash,
  getUser,
  HASH_SESSION_KEY,
  hasModulePerms,
  hasPerm,
  hasPerms,
  type LoginOptions,
  login,
  logout,
  SESSION_KEY,
  type Secret,
  updateSessionAuthHash,
} from "./glue.js";
export * from "./hashers.js";
export { createHashLimiter, defaultHashConcurrency, type HashLimiter } from "./limiter.js";
export {
  createMemoryUserStore,
  type MemoryUserStore,
  type MemoryUserStoreOptions,
} from "./memory-user-store.js";
export { normalizeUsername, USERNAME_MAX_LENGTH } from "./usernames.js";
