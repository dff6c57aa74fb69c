import type { AuthBackend, Session, UserStore } from "../contracts.js";
import { constantTimeEqual, saltedHmac } from "../crypto/primitives.js";
import { ConfigError, InvalidArgumentError, PorterError } from "../errors.js";
import { getDefaultPasswordHashers, type PasswordHashers } from "./hashers.js";
import { normalizeUsername } from "./usernames.js";

/** Django's `SESSION_KEY`: the logged-in user's id, always a string. */
export const SESSION_KEY = "_auth_user_id";
/** Django's `BACKEND_SESSION_KEY`: the id of the backend that authenticated the user. */
export const BACKEND_SESSION_KEY = "_auth_user_backend";
/** Django's `HASH_SESSION_KEY`: the session auth hash (see `getSessionAuthHash`). */
export const HASH_SESSION_KEY = "_auth_user_hash";
/** What sensitive credentials are replaced with in `onLoginFailed` (Django's `CLEANSED_SUBSTITUTE`). */
export const CLEANSED_SUBSTITUTE = "********************";

const SESSION_AUTH_HASH_SALT = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash";
const SENSITIVE_CREDENTIALS = /api|token|key|secret|password|signature/i;

/** A secret key: Django's `SECRET_KEY`. */
export type Secret = string | Uint8Array;

/**
 * What the glue needs of a user: an id (stored as a string, Django's `str(pk)`) and, for the
 * session auth hash, the stored password hash. A user without a string `passwordHash` is not
 * hash-checked, as Django does for users without `get_session_auth_hash`.
 */
export interface AuthUser {
  readonly id: string | number;
  readonly passwordHash?: string | undefined;
  readonly isActive?: boolean | undefined;
  readonly isSuperuser?: boolean | undefined;
}

/** Security events of the glue, for logs. They never carry a session key, a hash or a secret. */
export type AuthEvent =
  | { type: "unknown-backend" }
  | { type: "invalid-session-user" }
  | { type: "session-hash-mismatch"; userId: string }
  | { type: "session-hash-rotated"; userId: string };

/**
 * Django's `get_session_auth_hash`: hex HMAC-SHA256 (salted HMAC, Django's key derivation) of
 * the stored password hash. Changing the password changes it, which ends every other session.
 */
export function getSessionAuthHash(passwordHash: string, secret: Secret): string {
  return saltedHmac(SESSION_AUTH_HASH_SALT, passwordHash, secret, "sha256").toString("hex");
}

function checkSecret(secret: unknown, what = "secret"): asserts secret is Secret {
  const ok =
    (typeof secret === "string" && secret.length > 0) ||
    (secret instanceof Uint8Array && secret.byteLength > 0);
  if (!ok) throw new ConfigError(`${what} must be a non-empty string or Uint8Array`);
}

function checkSecrets(secret: unknown, fallbackSecrets: unknown): readonly Secret[] {
  checkSecret(secret);
  if (fallbackSecrets === undefined) return [];
  if (!Array.isArray(fallbackSecrets)) throw new ConfigError("fallbackSecrets must be an array");
  for (const s of fallbackSecrets) checkSecret(s, "each fallback secret");
  return fallbackSecrets as Secret[];
}

/** `String(user.id)`, or `InvalidArgumentError` for an id that is neither a string nor a safe integer. */
function userIdOf(user: AuthUser): string {
  const id = typeof user === "object" && user !== null ? user.id : undefined;
  if (typeof id === "string" && id.length > 0) return id;
  if (typeof id === "number" && Number.isSafeInteger(id)) return String(id);
  throw new InvalidArgumentError("user.id must be a non-empty string or a safe integer");
}

/** A user id as read back from a session (Django's `pk.to_python`); `null` for anything else. */
function storedUserId(value: unknown): string | null {
  if (typeof value === "string" && value.length > 0 && value.length <= 1024) return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  return null;
}

function sessionAuthHashOf(user: AuthUser, secret: Secret): string | null {
  return typeof user.passwordHash === "string" ? getSessionAuthHash(user.passwordHash, secret) : null;
}

function backendIdOf(backend: AuthBackend<never> | string): string {
  const id =
    typeof backend === "string"
      ? backend
      : typeof backend === "object" && backend !== null
        ? backend.id
        : undefined;
  if (typeof id !== "string" || id.length === 0) {
    throw new InvalidArgumentError("backend must be an AuthBackend or a non-empty backend id string");
  }
  return id;
}

function aliasesOf(backend: AuthBackend<unknown>): readonly string[] {
  const aliases = (backend as { aliases?: unknown }).aliases;
  return Array.isArray(aliases) ? aliases.filter((a): a is string => typeof a === "string") : [];
}

function checkBackends(backends: readonly AuthBackend<unknown>[]): void {
  if (!Array.isArray(backends) || backends.length === 0) {
    throw new ConfigError("No authentication backends have been defined; give at least one AuthBackend");
  }
}

/** Escapes control characters (CR, LF, ESC…) so a logged value cannot forge log lines. */
function inert(value: unknown): unknown {
  return typeof value === "string"
    ? value.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    : value;
}

/**
 * Django's `_clean_credentials`: a copy of the credentials' own keys with every value whose key
 * matches `/api|token|key|secret|password|signature/i` replaced by 20 asterisks; other string
 * values have control characters escaped.
 */
export function cleanseCredentials(credentials: unknown): Record<string, unknown> {
  const clean: Record<string, unknown> = Object.create(null);
  if (typeof credentials !== "object" || credentials === null) return clean;
  for (const key of Object.keys(credentials)) {
    const value = (credentials as Record<string, unknown>)[key];
    clean[key] = SENSITIVE_CREDENTIALS.test(key) ? CLEANSED_SUBSTITUTE : inert(value);
  }
  return clean;
}

export interface AuthenticateOptions {
  /**
   * Django's `user_login_failed` signal: called when no backend accepted the credentials
   * (including a `PermissionDeniedError` stop or a `beforeAuthenticate` denial), with the
   * credentials cleansed by `cleanseCredentials`.
   */
  onLoginFailed?: (event: {
    credentials: Record<string, unknown>;
    request?: unknown;
  }) => void | Promise<void>;
  /**
   * A rate-limit or lockout hook (AUTH-06), called before any backend with the NFKC-normalized
   * username (or `null`) and the cleansed credentials. Answering `"deny"` fails the attempt
   * after one dummy hash, so a denial costs what a wrong password costs. Porter imposes no policy.
   */
  beforeAuthenticate?: (attempt: {
    username: string | null;
    credentials: Record<string, unknown>;
    request?: unknown;
  }) => "deny" | "allow" | undefined | Promise<"deny" | "allow" | undefined>;
  /** Used for the dummy hash of a denial. @default the default hashers */
  hashers?: PasswordHashers;
  /** Passed through to the hooks, e.g. the client address for a rate limit. */
  request?: unknown;
}

/**
 * Django's `authenticate`: asks each backend in order and returns the first user with the
 * backend that accepted it. A backend answering `null` passes to the next; one throwing
 * `PermissionDeniedError` stops the chain and the answer is `null` (AU-1…AU-5). Any other
 * error propagates.
 */
export async function authenticate<User>(
  backends: readonly AuthBackend<User>[],
  credentials: Record<string, unknown>,
  options: AuthenticateOptions = {},
): Promise<{ user: User; backend: AuthBackend<User> } | null> {
  checkBackends(backends);
  const request = options.request;
  const failed = async () => {
    await options.onLoginFailed?.({
      credentials: cleanseCredentials(credentials),
      ...(request === undefined ? {} : { request }),
    });
    return null;
  };
  if (typeof credentials !== "object" || credentials === null || Array.isArray(credentials)) return failed();
  if (options.beforeAuthenticate !== undefined) {
    const username = Object.hasOwn(credentials, "username") ? normalizeUsername(credentials.username) : null;
    const verdict = await options.beforeAuthenticate({
      username,
      credentials: cleanseCredentials(credentials),
      ...(request === undefined ? {} : { request }),
    });
    if (verdict === "deny") {
      await (options.hashers ?? getDefaultPasswordHashers()).dummyCheck();
      return failed();
    }
  }
  for (const backend of backends) {
    let user: User | null;
    try {
      user = await backend.authenticate(credentials);
    } catch (err) {
      if (PorterError.is(err, "PERMISSION_DENIED")) break;
      throw err;
    }
    if (user !== null && user !== undefined) return { user, backend };
  }
  return failed();
}

export interface LoginOptions<User extends AuthUser = AuthUser> {
  secret: Secret;
  /** When given, the user's `lastLogin` is set to now (Django's `update_last_login`). */
  users?: UserStore;
  /** @default Date.now */
  now?: () => number;
  /** Django's `user_logged_in` signal, after the session is written. */
  onLogin?: (event: { user: User; backendId: string }) => void | Promise<void>;
}

/**
 * Django's `login` (AU-6, AU-7): when the session already holds a user, it is flushed if that
 * is another user or the stored hash differs from this user's (a missing one counts as `""`);
 * otherwise nothing is rotated. When it holds no user, the key is cycled and the anonymous
 * data kept. Then `_auth_user_id` (a string), `_auth_user_backend` and `_auth_user_hash` are
 * written. It does not check `isActive` (AU-9): the backend did.
 */
export async function login<User extends AuthUser>(
  session: Session,
  user: User,
  backend: AuthBackend<User> | string,
  options: LoginOptions<User>,
): Promise<void> {
  checkSecret(options.secret);
  const userId = userIdOf(user);
  const backendId = backendIdOf(backend as AuthBackend<never> | string);
  const hash = sessionAuthHashOf(user, options.secret) ?? "";
  if (session.has(SESSION_KEY)) {
    const storedHash = session.get(HASH_SESSION_KEY);
    const sameUser = storedUserId(session.get(SESSION_KEY)) === userId;
    const sameHash = constantTimeEqual(typeof storedHash === "string" ? storedHash : "", hash);
    if (!sameUser || (hash !== "" && !sameHash)) session.flush();
  } else {
    session.cycleKey();
  }
  session.set(SESSION_KEY, userId);
  session.set(BACKEND_SESSION_KEY, backendId);
  session.set(HASH_SESSION_KEY, hash);
  if (options.users !== undefined)
    await options.users.update(userId, { lastLogin: (options.now ?? Date.now)() });
  await options.onLogin?.({ user, backendId });
}

export interface GetUserOptions {
  secret: Secret;
  /** Django's `SECRET_KEY_FALLBACKS`: hashes made under them are accepted and rewritten (AU-17). */
  fallbackSecrets?: readonly Secret[];
  onEvent?: (event: AuthEvent) => void;
}

/**
 * Django's `get_user` (AU-13…AU-17): the session's user, or `null` for anonymous.
 * - No user id or backend id in the session: `null`.
 * - A backend id that is not among `backends` (by `id` or `aliases`): `null`, no flush.
 * - A user id of the wrong type (tampering): `null` and the session is flushed.
 * - The backend knows no such (active) user: `null`, no flush.
 * - The stored hash missing, not a string, or not constant-time-equal to the user's: the
 *   session is flushed and the answer is `null`, unless it matches under a fallback secret:
 *   then the user is returned, the key cycled and the hash rewritten under `secret`.
 */
export async function getUser<User extends AuthUser>(
  session: Session,
  backends: readonly AuthBackend<User>[],
  options: GetUserOptions,
): Promise<User | null> {
  const fallbackSecrets = checkSecrets(options.secret, options.fallbackSecrets);
  checkBackends(backends);
  const emit = (event: AuthEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A failing log hook must not change who is logged in.
    }
  };
  const rawId = session.get(SESSION_KEY);
  const backendId = session.get(BACKEND_SESSION_KEY);
  if (rawId === undefined || rawId === null || backendId === undefined || backendId === null) return null;
  const backend =
    typeof backendId === "string"
      ? backends.find((b) => b.id === backendId || aliasesOf(b).includes(backendId))
      : undefined;
  if (backend === undefined) {
    emit({ type: "unknown-backend" });
    return null;
  }
  const userId = storedUserId(rawId);
  if (userId === null) {
    emit({ type: "invalid-session-user" });
    session.flush();
    return null;
  }
  const user = await backend.getUser(userId);
  if (user === null || user === undefined) return null;
  if (typeof user.passwordHash !== "string") return user;

  const stored = session.get(HASH_SESSION_KEY);
  const current = getSessionAuthHash(user.passwordHash, options.secret);
  if (typeof stored === "string" && stored !== "") {
    if (constantTimeEqual(stored, current)) return user;
    let fallbackMatch = false;
    for (const secret of fallbackSecrets) {
      fallbackMatch =
        constantTimeEqual(stored, getSessionAuthHash(user.passwordHash, secret)) || fallbackMatch;
    }
    if (fallbackMatch) {
      emit({ type: "session-hash-rotated", userId });
      session.cycleKey();
      session.set(HASH_SESSION_KEY, current);
      return user;
    }
  }
  emit({ type: "session-hash-mismatch", userId });
  session.flush();
  return null;
}

/** Django's `logout` (AU-12): `onLogout` (the `user_logged_out` signal), then the session is flushed. */
export async function logout<User>(
  session: Session,
  options: { user?: User | null; onLogout?: (event: { user: User | null }) => void | Promise<void> } = {},
): Promise<void> {
  await options.onLogout?.({ user: options.user ?? null });
  session.flush();
}

/**
 * Django's `update_session_auth_hash` (AU-19), for after a password change: always cycles the
 * key, and rewrites the stored hash when the session belongs to this user, so this session
 * survives the change while every other session of the user ends.
 */
export function updateSessionAuthHash(session: Session, user: AuthUser, options: { secret: Secret }): void {
  checkSecret(options.secret);
  session.cycleKey();
  const hash = sessionAuthHashOf(user, options.secret);
  if (hash !== null && storedUserId(session.get(SESSION_KEY)) === userIdOf(user))
    session.set(HASH_SESSION_KEY, hash);
}

interface PermissionBackend<User> extends AuthBackend<User> {
  hasPerm?(user: User, permission: string): Promise<boolean>;
}

const activeSuperuser = (user: AuthUser) => user.isActive !== false && user.isSuperuser === true;

async function backendHasPerm<User>(
  backend: PermissionBackend<User>,
  user: User,
  permission: string,
): Promise<boolean> {
  if (typeof backend.hasPerm === "function") return backend.hasPerm(user, permission);
  if (typeof backend.getPermissions === "function")
    return (await backend.getPermissions(user)).has(permission);
  return false;
}

/**
 * Django's `User.has_perm` (MB-12): true for an active superuser without asking; otherwise
 * each backend in order, true from any wins, a `PermissionDeniedError` makes it false and
 * stops. `null` (anonymous) has no permissions here.
 */
export async function hasPerm<User extends AuthUser>(
  user: User | null,
  permission: string,
  backends: readonly AuthBackend<User>[],
): Promise<boolean> {
  checkBackends(backends);
  if (typeof permission !== "string") throw new InvalidArgumentError("permission must be a string");
  if (user === null || typeof user !== "object") return false;
  if (activeSuperuser(user)) return true;
  for (const backend of backends) {
    try {
      if (await backendHasPerm(backend, user, permission)) return true;
    } catch (err) {
      if (PorterError.is(err, "PERMISSION_DENIED")) return false;
      throw err;
    }
  }
  return false;
}

/** Django's `User.has_perms` (MB-13): every permission. A string or non-iterable is an `InvalidArgumentError`. */
export async function hasPerms<User extends AuthUser>(
  user: User | null,
  permissions: Iterable<string>,
  backends: readonly AuthBackend<User>[],
): Promise<boolean> {
  if (
    typeof permissions === "string" ||
    typeof (permissions as Iterable<string>)?.[Symbol.iterator] !== "function"
  ) {
    throw new InvalidArgumentError("perm_list must be an iterable of permissions.");
  }
  for (const permission of permissions) if (!(await hasPerm(user, permission, backends))) return false;
  return true;
}

/** Django's `User.has_module_perms` (MB-11): any permission of that app label. */
export async function hasModulePerms<User extends AuthUser>(
  user: User | null,
  appLabel: string,
  backends: readonly AuthBackend<User>[],
): Promise<boolean> {
  checkBackends(backends);
  if (user === null || typeof user !== "object") return false;
  if (activeSuperuser(user)) return true;
  for (const backend of backends) {
    try {
      if (typeof backend.getPermissions !== "function") continue;
      for (const permission of await backend.getPermissions(user)) {
        if (permission.startsWith(`${appLabel}.`)) return true;
      }
    } catch (err) {
      if (PorterError.is(err, "PERMISSION_DENIED")) return false;
      throw err;
    }
  }
  return false;
}

export interface AuthOptions<User extends AuthUser> {
  /** In order; their ids (and aliases) must be distinct. */
  backends: readonly AuthBackend<User>[];
  secret: Secret;
  fallbackSecrets?: readonly Secret[];
  /** Updates `lastLogin` at login. */
  users?: UserStore;
  hashers?: PasswordHashers;
  onLoginFailed?: AuthenticateOptions["onLoginFailed"];
  beforeAuthenticate?: AuthenticateOptions["beforeAuthenticate"];
  onLogin?: LoginOptions<User>["onLogin"];
  onLogout?: (event: { user: User | null }) => void | Promise<void>;
  onEvent?: (event: AuthEvent) => void;
  now?: () => number;
}

/** The glue with its configuration bound, for app code. */
export interface Auth<User extends AuthUser> {
  readonly backends: readonly AuthBackend<User>[];
  authenticate(
    credentials: Record<string, unknown>,
    options?: { request?: unknown },
  ): Promise<{ user: User; backend: AuthBackend<User> } | null>;
  /** `backend` may be omitted when exactly one backend is configured (AU-8). */
  login(session: Session, user: User, backend?: AuthBackend<User> | string): Promise<void>;
  getUser(session: Session): Promise<User | null>;
  logout(session: Session, user?: User | null): Promise<void>;
  updateSessionAuthHash(session: Session, user: User): void;
  getSessionAuthHash(user: User): string | null;
  hasPerm(user: User | null, permission: string): Promise<boolean>;
  hasPerms(user: User | null, permissions: Iterable<string>): Promise<boolean>;
  hasModulePerms(user: User | null, appLabel: string): Promise<boolean>;
}

/**
 * Binds the glue to one configuration: `createAuth({ backends, secret, users })`, then
 * `auth.authenticate(credentials)`, `auth.login(session, user, backend)`, `auth.getUser(session)`.
 * Invalid configuration throws `ConfigError` here rather than per request.
 */
export function createAuth<User extends AuthUser>(options: AuthOptions<User>): Auth<User> {
  const { backends, secret } = options;
  checkBackends(backends);
  const fallbackSecrets = checkSecrets(secret, options.fallbackSecrets);
  const ids = new Set<string>();
  for (const backend of backends) {
    for (const id of [backendIdOf(backend as AuthBackend<never>), ...aliasesOf(backend)]) {
      if (ids.has(id)) throw new ConfigError(`two backends answer to the id ${id}`);
      ids.add(id);
    }
  }

  return {
    backends,
    authenticate(credentials, call = {}) {
      return authenticate(backends, credentials, {
        ...(options.onLoginFailed === undefined ? {} : { onLoginFailed: options.onLoginFailed }),
        ...(options.beforeAuthenticate === undefined
          ? {}
          : { beforeAuthenticate: options.beforeAuthenticate }),
        ...(options.hashers === undefined ? {} : { hashers: options.hashers }),
        ...(call.request === undefined ? {} : { request: call.request }),
      });
    },
    async login(session, user, backend) {
      let chosen = backend;
      if (chosen === undefined) {
        if (backends.length !== 1) {
          throw new InvalidArgumentError(
            "You have multiple authentication backends configured and therefore must provide the `backend` argument.",
          );
        }
        chosen = backends[0]!;
      }
      return login(session, user, chosen, {
        secret,
        ...(options.users === undefined ? {} : { users: options.users }),
        ...(options.now === undefined ? {} : { now: options.now }),
        ...(options.onLogin === undefined ? {} : { onLogin: options.onLogin }),
      });
    },
    getUser(session) {
      return getUser(session, backends, {
        secret,
        fallbackSecrets,
        ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      });
    },
    logout(session, user = null) {
      return logout(session, {
        user,
        ...(options.onLogout === undefined ? {} : { onLogout: options.onLogout }),
      });
    },
    updateSessionAuthHash(session, user) {
      updateSessionAuthHash(session, user, { secret });
    },
    getSessionAuthHash(user) {
      return sessionAuthHashOf(user, secret);
    },
    hasPerm: (user, permission) => hasPerm(user, permission, backends),
    hasPerms: (user, permissions) => hasPerms(user, permissions, backends),
    hasModulePerms: (user, appLabel) => hasModulePerms(user, appLabel, backends),
  };
}
