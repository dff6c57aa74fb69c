import type { AuthBackend, UserRecord, UserStore } from "../contracts.js";
import { ConfigError, PorterError } from "../errors.js";
import { getDefaultPasswordHashers, makePassword, type PasswordHashers } from "./hashers.js";
import { normalizeUsername } from "./usernames.js";

/** The id Porter's password backend writes into sessions by default. Stable. */
export const PASSWORD_BACKEND_ID = "porter.auth.PasswordBackend";
/** The id Porter's remote-user backend writes into sessions by default. Stable. */
export const REMOTE_USER_BACKEND_ID = "porter.auth.RemoteUserBackend";
/** Django's `ModelBackend` path: use it as `id` to share sessions with a Django app. */
export const DJANGO_MODEL_BACKEND_ID = "django.contrib.auth.backends.ModelBackend";
/** Django's `AllowAllUsersModelBackend` path. */
export const DJANGO_ALLOW_ALL_USERS_MODEL_BACKEND_ID =
  "django.contrib.auth.backends.AllowAllUsersModelBackend";
/** Django's `RemoteUserBackend` path. */
export const DJANGO_REMOTE_USER_BACKEND_ID = "django.contrib.auth.backends.RemoteUserBackend";

/**
 * What Porter's own backends add to the `AuthBackend` contract. `getUser` in the session glue
 * also accepts a session written under one of the `aliases` (another id for the same backend,
 * e.g. Django's dotted path while moving an app over).
 */
export interface UserRecordBackend extends AuthBackend<UserRecord> {
  readonly aliases: readonly string[];
  /** Django's `user_can_authenticate`: active, unless `allowInactive`. */
  userCanAuthenticate(user: UserRecord): boolean;
  /** The user's and their groups' permissions; empty for an inactive user. Cached per user object. */
  getPermissions(user: UserRecord): Promise<ReadonlySet<string>>;
  /** Active superusers have every permission; inactive users none. */
  hasPerm(user: UserRecord, permission: string): Promise<boolean>;
}

export interface PasswordBackendOptions {
  users: UserStore;
  /** @default the default hashers (Django 5.2's parameters) */
  hashers?: PasswordHashers;
  /** Django's `AllowAllUsersModelBackend`: inactive users may log in and stay logged in. @default false */
  allowInactive?: boolean;
  /** Written into sessions. @default "porter.auth.PasswordBackend"; `DJANGO_MODEL_BACKEND_ID` to share sessions with Django */
  id?: string;
  /** Other ids a stored session may name for this backend. @default [] */
  aliases?: readonly string[];
  /** The credential holding the username (Django's `USERNAME_FIELD`). @default "username" */
  usernameField?: string;
}

export interface PasswordBackend extends UserRecordBackend {
  readonly hashers: PasswordHashers;
  /** The user's own permissions (Django's `get_user_permissions`). */
  getUserPermissions(user: UserRecord): Promise<ReadonlySet<string>>;
  /** The permissions of the user's groups (Django's `get_group_permissions`). */
  getGroupPermissions(user: UserRecord): Promise<ReadonlySet<string>>;
}

const EMPTY: ReadonlySet<string> = Object.freeze(new Set<string>());

/** Reads an own property only: a credentials object's prototype never supplies a value. */
function own(credentials: unknown, key: string): unknown {
  if (typeof credentials !== "object" || credentials === null) return undefined;
  return Object.hasOwn(credentials, key) ? (credentials as Record<string, unknown>)[key] : undefined;
}

function checkId(id: string, what: string): void {
  if (typeof id !== "string" || id.length === 0) throw new ConfigError(`${what} must be a non-empty string`);
}

function checkAliases(aliases: readonly string[] | undefined): readonly string[] {
  if (aliases === undefined) return Object.freeze([]);
  if (!Array.isArray(aliases)) throw new ConfigError("aliases must be an array of strings");
  for (const alias of aliases) checkId(alias, "each alias");
  return Object.freeze([...aliases]);
}

function permissionCache(
  compute: (user: UserRecord) => Promise<ReadonlySet<string>>,
): (user: UserRecord) => Promise<ReadonlySet<string>> {
  // Keyed by the user object: each request loads a fresh record, so this lasts one request
  // (Django's `_perm_cache`, MB-9). A grant is seen once the user is loaded again.
  const cache = new WeakMap<object, Promise<ReadonlySet<string>>>();
  return (user) => {
    if (typeof user !== "object" || user === null) return Promise.resolve(EMPTY);
    let result = cache.get(user);
    if (result === undefined) {
      result = compute(user);
      cache.set(user, result);
      // A failed lookup is not remembered.
      result.catch(() => cache.delete(user));
    }
    return result;
  };
}

function ownPermissions(user: UserRecord): ReadonlySet<string> {
  return new Set(
    Array.isArray(user.permissions) ? user.permissions.filter((p) => typeof p === "string") : [],
  );
}

/**
 * Django's `ModelBackend`: username and password against a `UserStore`.
 *
 * - Credentials are `{ username, password }` (or `usernameField`). When either is missing
 *   the credentials are not for this backend: `null` without a lookup or a hash (MB-1).
 *   When either is not a string, or the username cannot be one (`normalizeUsername`), the
 *   answer is `null` before any store query, after one dummy hash (AUTH-02).
 * - The username is NFKC-normalized and matched exactly. An unknown user costs one hash at
 *   the configured cost, like a wrong password (MB-3); so do unusable and malformed hashes.
 * - A correct password is refused for an inactive user unless `allowInactive` (MB-4/5).
 * - A correct password against an outdated hash is re-hashed and saved with `users.update`;
 *   the returned record carries the new hash (PH-22).
 * - Permissions: the user's ∪ their groups', cached per user object; none for an inactive
 *   user; every permission for an active superuser (MB-7…MB-10).
 */
export function createPasswordBackend(options: PasswordBackendOptions): PasswordBackend {
  const { users, allowInactive = false, id = PASSWORD_BACKEND_ID, usernameField = "username" } = options;
  if (typeof users !== "object" || users === null) throw new ConfigError("users must be a UserStore");
  checkId(id, "id");
  checkId(usernameField, "usernameField");
  const aliases = checkAliases(options.aliases);
  const hashers = options.hashers ?? getDefaultPasswordHashers();

  const userCanAuthenticate = (user: UserRecord) => allowInactive || user.isActive !== false;
  const active = (user: UserRecord) => typeof user === "object" && user !== null && user.isActive === true;

  const getUserPermissions = permissionCache(async (user) => (active(user) ? ownPermissions(user) : EMPTY));
  const getGroupPermissions = permissionCache(async (user) =>
    active(user) && Array.isArray(user.groups) && user.groups.length > 0
      ? users.groupPermissions(user.groups)
      : EMPTY,
  );
  const getPermissions = permissionCache(async (user) => {
    if (!active(user)) return EMPTY;
    const [mine, theirs] = await Promise.all([getUserPermissions(user), getGroupPermissions(user)]);
    return new Set([...mine, ...theirs]);
  });

  return {
    id,
    aliases,
    hashers,
    userCanAuthenticate,

    async authenticate(credentials) {
      const username = own(credentials, usernameField);
      const password = own(credentials, "password");
      if (username === undefined || username === null || password === undefined || password === null)
        return null;
      const normalized = typeof password === "string" ? normalizeUsername(username) : null;
      if (normalized === null) {
        await hashers.dummyCheck();
        return null;
      }
      const user = await users.findByUsername(normalized);
      if (user === null) {
        await hashers.dummyCheck();
        return null;
      }
      const { ok, needsRehash } = await hashers.checkPassword(password, user.passwordHash);
      if (!ok) return null;
      let current = user;
      if (needsRehash) {
        current = await users.update(user.id, {
          passwordHash: await hashers.makePassword(password as string),
        });
      }
      return userCanAuthenticate(current) ? current : null;
    },

    async getUser(userId) {
      if (typeof userId !== "string") return null;
      const user = await users.findById(userId);
      return user !== null && userCanAuthenticate(user) ? user : null;
    },

    getUserPermissions,
    getGroupPermissions,
    getPermissions,

    async hasPerm(user, permission) {
      if (!active(user)) return false;
      if (user.isSuperuser === true) return true;
      return (await getPermissions(user)).has(permission);
    },
  };
}

export interface RemoteUserBackendOptions {
  users: UserStore;
  /**
   * The request header (or CGI variable) an HTTP binding reads the remote user from, exposed
   * as `backend.header` for it. The backend itself only sees `{ remoteUser }`. @default "REMOTE_USER"
   */
  header?: string;
  /** Create a user (with an unusable password) the first time a name is seen. @default true */
  createUnknownUser?: boolean;
  /** Django's `clean_username`: maps the header value to a username. @default identity */
  cleanUsername?: (remoteUser: string) => string;
  /** Django's `configure_user`: called for every user found or created; returns the user to log in. */
  configureUser?: (user: UserRecord, context: { created: boolean }) => UserRecord | Promise<UserRecord>;
  /** @default false */
  allowInactive?: boolean;
  /** @default "porter.auth.RemoteUserBackend" */
  id?: string;
  /** @default [] */
  aliases?: readonly string[];
}

export interface RemoteUserBackend extends UserRecordBackend {
  readonly header: string;
}

/**
 * Django's `RemoteUserBackend`: trusts a username established upstream (a proxy's
 * authentication, a client certificate). Credentials are `{ remoteUser }`; an empty or
 * non-string value is `null` (RU-1). Only put it behind a proxy that strips the header from
 * client requests.
 */
export function createRemoteUserBackend(options: RemoteUserBackendOptions): RemoteUserBackend {
  const {
    users,
    header = "REMOTE_USER",
    createUnknownUser = true,
    cleanUsername = (raw: string) => raw,
    configureUser,
    allowInactive = false,
    id = REMOTE_USER_BACKEND_ID,
  } = options;
  if (typeof users !== "object" || users === null) throw new ConfigError("users must be a UserStore");
  checkId(id, "id");
  checkId(header, "header");
  const aliases = checkAliases(options.aliases);
  const userCanAuthenticate = (user: UserRecord) => allowInactive || user.isActive !== false;
  const active = (user: UserRecord) => typeof user === "object" && user !== null && user.isActive === true;
  const getPermissions = permissionCache(async (user) => {
    if (!active(user)) return EMPTY;
    const groups =
      Array.isArray(user.groups) && user.groups.length > 0
        ? await users.groupPermissions(user.groups)
        : EMPTY;
    return new Set([...ownPermissions(user), ...groups]);
  });

  async function findOrCreate(username: string): Promise<{ user: UserRecord; created: boolean } | null> {
    const found = await users.findByUsername(username);
    if (found !== null) return { user: found, created: false };
    if (!createUnknownUser) return null;
    try {
      return {
        user: await users.create({ username, passwordHash: await makePassword(null) }),
        created: true,
      };
    } catch (err) {
      // A concurrent request created the same user first: use theirs (Django's get_or_create).
      if (!PorterError.is(err, "USERNAME_TAKEN")) throw err;
      const winner = await users.findByUsername(username);
      return winner === null ? null : { user: winner, created: false };
    }
  }

  return {
    id,
    aliases,
    header,
    userCanAuthenticate,

    async authenticate(credentials) {
      const remoteUser = own(credentials, "remoteUser");
      if (typeof remoteUser !== "string" || remoteUser.length === 0) return null;
      const username = normalizeUsername(cleanUsername(remoteUser));
      if (username === null) return null;
      const result = await findOrCreate(username);
      if (result === null) return null;
      const user =
        configureUser === undefined
          ? result.user
          : await configureUser(result.user, { created: result.created });
      return userCanAuthenticate(user) ? user : null;
    },

    async getUser(userId) {
      if (typeof userId !== "string") return null;
      const user = await users.findById(userId);
      return user !== null && userCanAuthenticate(user) ? user : null;
    },

    getPermissions,

    async hasPerm(user, permission) {
      if (!active(user)) return false;
      if (user.isSuperuser === true) return true;
      return (await getPermissions(user)).has(permission);
    },
  };
}
