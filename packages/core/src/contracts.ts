/**
 * Porter's contracts. The doc comments are the specification a third-party backend
 * implements; `@porter/core/conformance` checks an implementation against them.
 */

// ---------------------------------------------------------------------------------------
// Session stores
// ---------------------------------------------------------------------------------------

/** What a server-side store keeps for one session. `data` is opaque to the store. */
export interface SessionRecord {
  /** The codec's output. Any string, including NUL and lone surrogates: stores keep it exactly. */
  readonly data: string;
  /** Absolute deadline, epoch milliseconds. Never a relative TTL. */
  readonly expiresAt: number;
  /**
   * Starts at 1 on `create` and grows by one on every successful `update`. A store that
   * cannot compare versions (`capabilities.versioned === false`) returns 0 everywhere.
   */
  readonly version: number;
}

/** What a store can do; the engine and the conformance kit choose behaviour and tests from it. */
export interface StoreCapabilities {
  /** `update` compares `record.version` and rejects a stale one with `SessionConflictError`. */
  readonly versioned: boolean;
  /** The backend deletes expired records by itself (Redis TTL, DynamoDB TTL, Mongo TTL index). */
  readonly nativeExpiry: boolean;
  /** `touch` is implemented. */
  readonly touch: boolean;
  /** `clearExpired` is implemented. */
  readonly clearExpired: boolean;
}

/**
 * Keeps session records by key.
 *
 * Keys: the engine validates every key before a store sees it. A store receives only keys
 * matching `STORE_KEY_PATTERN` (`^[a-z0-9]{8,64}$`): by default a 64-character one-way hash
 * of the cookie's key, or the raw 32-character key in Django-table mode. A store may check
 * again (`isStoreKey`) and must never build a path, a query or a command from anything else.
 *
 * Errors: "not found" never throws (`get` resolves `null`). A failure to reach the backend
 * rejects with `StoreUnavailableError` (the driver's error as `cause`), never with `null`.
 *
 * Expiry: `get` resolves `null` for a record whose `expiresAt <= Date.now()` (or the store's
 * injected clock), even where the backend also expires records natively: native sweeps
 * (DynamoDB's TTL, Mongo's TTL monitor) run late.
 */
export interface SessionStore {
  readonly contractVersion: 1;
  /** The engine and the conformance kit choose behaviour and tests from this. */
  readonly capabilities: StoreCapabilities;
  /** The record, or `null` when absent or expired. */
  get(key: string): Promise<SessionRecord | null>;
  /**
   * Writes a new record atomically with `version` 1 (0 when not versioned) and resolves it.
   * Rejects with `SessionExistsError` when the key holds a live record; the existing record
   * is left untouched. An expired record under the key may be replaced.
   */
  create(key: string, data: string, expiresAt: number): Promise<SessionRecord>;
  /**
   * Replaces data and expiry if, and only if, the stored version equals `record.version`;
   * resolves the new record with `version + 1`.
   * - `SessionConflictError` when another writer got there first (nothing written);
   * - `SessionMissingError` when the key is gone or expired: a concurrent logout is never undone
   *   and a deleted session is never recreated.
   * A store with `versioned: false` skips the comparison (last write wins) but still never
   * recreates a missing record.
   */
  update(key: string, record: SessionRecord): Promise<SessionRecord>;
  /**
   * Moves the expiry of a live record to `expiresAt`. Never writes data, never changes the
   * version, never creates a record: touching a missing or expired key does nothing.
   */
  touch?(key: string, expiresAt: number): Promise<void>;
  /** Removes the record. Deleting a missing key succeeds (idempotent). */
  delete(key: string): Promise<void>;
  /**
   * Removes expired records and resolves how many it removed. Runs in bounded batches so
   * live traffic is not blocked. Never part of a request.
   */
  clearExpired?(): Promise<number>;
  /** Releases what the store created itself (clients, pools, timers). Never closes a client it was given. */
  close?(): Promise<void>;
}

/** What a client-side store decodes from a cookie. */
export interface ClientSessionRecord {
  readonly data: string;
  readonly expiresAt: number;
}

/**
 * A session kept in the cookie itself: `encode`'s result is the cookie value.
 * - `decode` resolves `null` for anything that is not a value this store issued and that is
 *   still valid: tampered, expired (checked from inside the authenticated payload), signed
 *   with a retired secret, truncated, garbage. It never rejects for bad input.
 * - `encode` output is RFC 6265 cookie-safe (no whitespace, `"`, `,`, `;`, `\`).
 */
export interface ClientSessionStore {
  readonly contractVersion: 1;
  readonly clientSide: true;
  encode(data: string, expiresAt: number): Promise<string>;
  decode(cookieValue: string): Promise<ClientSessionRecord | null>;
  /**
   * Optional: `true` when the value was made with a fallback secret, so the engine re-issues
   * the cookie under the current secret at the end of the request.
   */
  needsReissue?(cookieValue: string): boolean;
}

/** Keys a `SessionStore` may receive; see `SessionStore`. */
export const STORE_KEY_PATTERN = /^[a-z0-9]{8,64}$/;

/** A store's defensive check of a key it was given. */
export function isStoreKey(key: unknown): key is string {
  return typeof key === "string" && STORE_KEY_PATTERN.test(key);
}

// ---------------------------------------------------------------------------------------
// Codecs: session data ⇄ SessionRecord.data
// ---------------------------------------------------------------------------------------

/** A session's data: own string keys to values the codec can encode. */
export type SessionData = Record<string, unknown>;

/**
 * Turns session data into the string a store keeps, and back.
 * `decode` throws `DecodeError` for anything it cannot read; the engine treats that as
 * "no session" and reports a `corrupt-record` event. It never returns an object whose
 * prototype is not `Object.prototype` or `null`.
 */
export interface SessionCodec {
  readonly name: string;
  encode(data: SessionData): string;
  decode(text: string): SessionData;
}

// ---------------------------------------------------------------------------------------
// The loaded session (Django's SessionBase), as the engine hands it to an app
// ---------------------------------------------------------------------------------------

/**
 * One request's view of a session. Reads and writes are synchronous; store I/O happens in
 * `SessionEngine.load` and `SessionEngine.commit`. `cycleKey` and `flush` take effect at
 * commit: the new record is created before the old one is deleted.
 */
export interface Session {
  /** The key sent in the cookie; `null` for a session that has none yet (or was flushed). */
  readonly key: string | null;
  /** True once anything was written (Django's `modified`). */
  readonly modified: boolean;
  /** True once anything was read or written (Django's `accessed`). */
  readonly accessed: boolean;
  /** No key and no data. */
  readonly isEmpty: boolean;
  get<T = unknown>(name: string): T | undefined;
  set(name: string, value: unknown): void;
  has(name: string): boolean;
  /** Removes a value; returns whether it was present. */
  delete(name: string): boolean;
  /** Removes and returns a value; returns `fallback` when absent (then `modified` stays false). Throws `InvalidArgumentError` when absent with no fallback given. */
  pop<T = unknown>(name: string, ...fallback: [T] | []): T;
  /** The existing value, or stores and returns `value`. */
  setdefault<T = unknown>(name: string, value: T): T;
  /** Sets each own key of `values`. */
  update(values: SessionData): void;
  keys(): string[];
  values(): unknown[];
  entries(): [string, unknown][];
  /** Removes all data; the key stays. */
  clear(): void;
  /** A new key at commit, keeping the data; the old record is deleted. Use on privilege change. */
  cycleKey(): void;
  /** Removes all data and the key; the record is deleted at commit. */
  flush(): void;
  /** Seconds, an absolute `Date`, 0 (expire at browser close) or `null` (back to the default). */
  setExpiry(value: number | Date | null): void;
  /** Seconds until the session expires, counted from now. */
  readonly expiryAge: number;
  readonly expiryDate: Date;
  readonly expireAtBrowserClose: boolean;
}

// ---------------------------------------------------------------------------------------
// Cookies and the request context
// ---------------------------------------------------------------------------------------

export type SameSite = "Strict" | "Lax" | "None";

export interface CookieOptions {
  domain?: string;
  path?: string;
  /** Seconds. Omitted: a browser-session cookie. 0 or less: delete. */
  maxAge?: number;
  expires?: Date;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: SameSite;
  partitioned?: boolean;
}

/** One request's cookies: what came in, and what the response will set. */
export interface CookieJar {
  get(name: string): string | undefined;
  set(name: string, value: string, options?: CookieOptions): void;
  delete(name: string, options?: CookieOptions): void;
}

/** What a `MessageStorage` sees of a request. */
export interface RequestContext {
  readonly cookies: CookieJar;
  readonly session?: Session | undefined;
}

// ---------------------------------------------------------------------------------------
// Users and auth backends
// ---------------------------------------------------------------------------------------

/** A user as a `UserStore` keeps it (Django's `AbstractUser`, trimmed). */
export interface UserRecord {
  /** Opaque, stable, a string (Django stores `str(pk)` in the session). */
  readonly id: string;
  /** NFKC-normalized; unique; matched exactly (no case folding). */
  readonly username: string;
  /** A Django-format hash (`pbkdf2_sha256$…`) or an unusable password (`!…`). */
  readonly passwordHash: string;
  readonly isActive: boolean;
  readonly isSuperuser: boolean;
  /** The user's own permissions, `app_label.codename`. */
  readonly permissions: readonly string[];
  /** Group names; their permissions come from `groupPermissions`. */
  readonly groups: readonly string[];
  /** Epoch ms, or null when the user never logged in. */
  readonly lastLogin: number | null;
  /** Epoch ms. */
  readonly dateJoined: number;
  readonly email?: string | undefined;
}

export interface NewUser {
  username: string;
  passwordHash: string;
  isActive?: boolean;
  isSuperuser?: boolean;
  permissions?: readonly string[];
  groups?: readonly string[];
  email?: string | undefined;
  /** Defaults to now. */
  dateJoined?: number;
}

export type UserPatch = Partial<Omit<UserRecord, "id" | "dateJoined">>;

/**
 * Keeps users for the password backend (Django's `ModelBackend` stands on the user table).
 * - Usernames are normalized with NFKC by the store on create, update and lookup, and then
 *   matched exactly: two usernames that differ only in case are two users.
 * - `create` rejects with `UsernameTakenError` when the normalized username exists; of two
 *   concurrent creates of one username exactly one succeeds.
 * - `findById`/`findByUsername` resolve `null` for anything unknown, including ids and
 *   usernames of the wrong shape; they never throw for bad input.
 * - `update` rejects with `UserNotFoundError` for an unknown id and `UsernameTakenError`
 *   when renaming onto an existing username.
 */
export interface UserStore {
  readonly contractVersion: 1;
  findById(id: string): Promise<UserRecord | null>;
  findByUsername(username: string): Promise<UserRecord | null>;
  create(user: NewUser): Promise<UserRecord>;
  update(id: string, patch: UserPatch): Promise<UserRecord>;
  /** Idempotent. */
  delete(id: string): Promise<void>;
  /** The union of the permissions of the named groups. */
  groupPermissions(groups: readonly string[]): Promise<ReadonlySet<string>>;
  /** Replaces the permissions of a group (creating it if needed). */
  setGroupPermissions(group: string, permissions: readonly string[]): Promise<void>;
  close?(): Promise<void>;
}

/**
 * Who you are and what you may do (Django's authentication backends).
 * - `authenticate` resolves `null` when these credentials are not for this backend or are
 *   wrong; it throws `PermissionDeniedError` to stop the chain.
 * - `getUser` resolves `null` for an unknown or (by default) inactive user; never throws
 *   for an id of the wrong shape.
 */
export interface AuthBackend<User = UserRecord> {
  /** Stored in the session (`_auth_user_backend`), like Django's dotted path. Must be stable. */
  readonly id: string;
  authenticate(credentials: Record<string, unknown>): Promise<User | null>;
  getUser(id: string): Promise<User | null>;
  getPermissions?(user: User): Promise<ReadonlySet<string>>;
  /**
   * Optional: answers one permission itself (e.g. row-level or remote checks). Throwing
   * `PermissionDeniedError` denies and stops the chain (Django's `has_perm`).
   */
  hasPerm?(user: User, permission: string): Promise<boolean>;
  /**
   * Optional: other ids sessions may carry for this backend (e.g. Django's
   * `django.contrib.auth.backends.ModelBackend` when sharing sessions with a Django app).
   */
  readonly aliases?: readonly string[];
}

// ---------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------

/** A one-shot notice (Django's `Message`). */
export interface Message {
  readonly level: number;
  readonly message: string;
  /** `null`/`undefined` is "none" (Django's `None`); `""` is kept as `""`. */
  readonly extraTags?: string | null | undefined;
  /** Marked safe for HTML by the server (Django's `is_safedata`); never trusted from the client. */
  readonly safe?: boolean | undefined;
}

/**
 * Where messages wait for the next request (Django's message storage backends).
 * - `load` resolves the stored messages; tampered or garbage storage is no messages (and is
 *   cleared at the next `store`). It never throws for bad input.
 * - `store` persists `messages` (an empty list clears the storage) and resolves the messages
 *   that did not fit, oldest first, for a fallback storage to take.
 */
export interface MessageStorage {
  readonly name: string;
  load(ctx: RequestContext): Promise<MessageLoadResult>;
  store(ctx: RequestContext, messages: readonly Message[], options?: MessageStoreOptions): Promise<Message[]>;
}

export interface MessageStoreOptions {
  /**
   * When not everything fits: `true` (default, a storage on its own) drops the oldest and keeps
   * the newest; `false` (inside a fallback storage) keeps the oldest and returns the newest for
   * the next storage. Storages without a size limit ignore it.
   */
  readonly removeOldest?: boolean;
}

export interface MessageLoadResult {
  readonly messages: Message[];
  /** False when the storage signalled that more messages wait in the next storage (Django's sentinel). */
  readonly allRetrieved: boolean;
  /** False when nothing was stored at all (Django's `None`); a fallback then stops looking. */
  readonly present: boolean;
  /**
   * True when the storage held something it could not read (tampered, garbage). The messages
   * API then clears it at the end of the request, as Django does with a bad cookie.
   */
  readonly corrupt?: boolean;
}
