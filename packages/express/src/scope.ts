import type {
  Auth,
  AuthBackend,
  AuthOptions,
  AuthUser,
  MessageStorage,
  Messages,
  MessagesOptions,
  Session,
  SessionEngine,
  UserRecord,
} from "@porter/core";
import { ConfigError, createAuth, createMessages, InvalidArgumentError } from "@porter/core";
import { createRequestCookieJar } from "./cookie-jar.js";

/** Options shared by the Express middleware and the web-standard binding. */
export interface PorterOptions<User extends AuthUser = UserRecord> {
  /** The session engine (`createSessionEngine` from `@porter/core`). */
  sessions: SessionEngine;
  /**
   * Who the user is: the glue's options (`{ backends, secret, fallbackSecrets?, users? }`) or an
   * `Auth` made by `createAuth`. Without it, the auth helpers reject with `ConfigError`.
   */
  auth?: AuthOptions<User> | Auth<User>;
  /**
   * Flash messages: where they wait for the next request (`createSessionMessageStorage()`,
   * `createFallbackStorage([...])`, a cookie storage), the lowest level recorded and custom
   * tags. Without it, reading `messages` throws `ConfigError` (Django's `MessageFailure`).
   */
  messages?: PorterMessagesOptions;
}

export interface PorterMessagesOptions extends MessagesOptions {
  storage: MessageStorage;
}

/** What one request sees of Porter. The Express middleware puts the same members on `req`. */
export interface PorterContext<User extends AuthUser = UserRecord> {
  /** This request's session, loaded from its cookie (no store call without one). */
  readonly session: Session;
  /**
   * This request's flash messages: `messages.success("Saved")`, then on a later request
   * `for (const m of await messages.list())`. Read ones are gone after this request; unread
   * ones wait (Django's rules). Committed with the session, before the response's headers.
   */
  readonly messages: Messages;
  /**
   * The logged-in user, or `null` for anonymous (Django's lazy `request.user`): resolved
   * through the auth backends on the first call only, then the same answer for the request.
   * A session whose auth hash no longer matches (a changed password) is flushed.
   */
  user(): Promise<User | null>;
  /**
   * Asks each backend in order (Django's `authenticate`); `null` when none accepts the
   * credentials. The user is remembered with its backend, so `login(user)` needs no backend.
   */
  authenticate(credentials: Record<string, unknown>): Promise<User | null>;
  /**
   * Logs the user in (Django's `login`): the session key changes (anonymous data is kept), or
   * the session is flushed when it held another user. `backend` defaults to the one that
   * authenticated this user in this request, else to the only configured backend.
   */
  login(user: User, backend?: AuthBackend<User> | string): Promise<void>;
  /** Logs out (Django's `logout`): the session is flushed and its cookie deleted. */
  logout(): Promise<void>;
  /**
   * After a password change (Django's `update_session_auth_hash`): this session gets a new key
   * and the new hash and stays logged in; every other session of the user ends.
   */
  updateSessionAuthHash(user: User): void;
  /** Whether the current user has a permission (`app_label.codename`); anonymous has none. */
  hasPerm(permission: string): Promise<boolean>;
}

/** The headers a response must carry once the request's state is committed. */
export interface ResponseHeaders {
  /** `Set-Cookie` values to append: message cookies first, then the session cookie. */
  readonly setCookie: readonly string[];
  /** The response depends on the session: add `Cookie` to `Vary`. */
  readonly vary: boolean;
}

/** One request's Porter state, framework-free: what the bindings are made of. */
export interface PorterRequest<User extends AuthUser = UserRecord> {
  readonly context: PorterContext<User>;
  /**
   * Commits messages, then the session, and resolves the headers to add. Call it once, before
   * the response's headers go out, with the response's status: nothing is saved for 5xx.
   * Rejects with `SessionInterruptedError` when the session was ended by a concurrent request,
   * `StoreUnavailableError` when a store could not be reached.
   */
  finish(status: number): Promise<ResponseHeaders>;
}

/** Options checked and resolved once, when the middleware is made. */
export interface ResolvedOptions<User extends AuthUser> {
  readonly sessions: SessionEngine;
  readonly auth: Auth<User> | null;
  readonly messages: PorterMessagesOptions | null;
}

function isAuth<User extends AuthUser>(auth: AuthOptions<User> | Auth<User>): auth is Auth<User> {
  return (
    typeof (auth as Auth<User>).getUser === "function" && typeof (auth as Auth<User>).login === "function"
  );
}

export function resolveOptions<User extends AuthUser>(options: PorterOptions<User>): ResolvedOptions<User> {
  if (typeof options !== "object" || options === null) throw new ConfigError("porter: options are required");
  const { sessions } = options;
  if (typeof sessions !== "object" || sessions === null || typeof sessions.commit !== "function") {
    throw new ConfigError("porter: `sessions` must be a session engine (createSessionEngine)");
  }
  let auth: Auth<User> | null = null;
  if (options.auth !== undefined) auth = isAuth(options.auth) ? options.auth : createAuth(options.auth);
  const { messages } = options;
  if (messages !== undefined) {
    const storage = (messages as Partial<PorterMessagesOptions> | null)?.storage;
    if (typeof storage !== "object" || storage === null || typeof storage.store !== "function") {
      throw new ConfigError("porter: `messages.storage` must be a MessageStorage");
    }
  }
  return { sessions, auth, messages: messages ?? null };
}

const NO_MESSAGES =
  "porter: messages need the `messages` option ({ storage }); Django calls this MessageFailure";

function notConfigured(what: string): ConfigError {
  return new ConfigError(`porter: ${what} needs the \`auth\` option ({ backends, secret })`);
}

/**
 * Loads one request's session from its `Cookie` header. Rejects only when a store cannot be
 * reached. `request` is handed to the auth hooks (`beforeAuthenticate`, `onLoginFailed`).
 */
export async function openRequest<User extends AuthUser>(
  options: ResolvedOptions<User>,
  cookieHeader: string | null | undefined,
  request?: unknown,
): Promise<PorterRequest<User>> {
  const { sessions, auth } = options;
  const session = await sessions.loadFromHeader(cookieHeader);
  const cookies = createRequestCookieJar(cookieHeader);
  const { storage, ...messageOptions } = options.messages ?? {};
  const messages =
    storage === undefined ? null : createMessages(storage, { cookies, session }, messageOptions);
  const backends = new WeakMap<object, AuthBackend<User>>();
  let current: Promise<User | null> | undefined;
  let finished = false;

  const requireAuth = (what: string): Auth<User> => {
    if (auth === null) throw notConfigured(what);
    return auth;
  };

  const context: PorterContext<User> = {
    session,
    get messages(): Messages {
      if (messages === null) throw new ConfigError(NO_MESSAGES);
      return messages;
    },
    user() {
      if (current !== undefined) return current;
      let lookup: Promise<User | null>;
      try {
        lookup = requireAuth("user()").getUser(session);
      } catch (error) {
        return Promise.reject(error);
      }
      current = lookup;
      // A failed lookup is not remembered: the next call asks again.
      lookup.catch(() => {
        if (current === lookup) current = undefined;
      });
      return lookup;
    },
    async authenticate(credentials) {
      const found = await requireAuth("authenticate()").authenticate(credentials, { request });
      if (found === null) return null;
      if (typeof found.user === "object" && found.user !== null) backends.set(found.user, found.backend);
      return found.user;
    },
    async login(user, backend) {
      const glue = requireAuth("login()");
      const chosen = backend ?? (typeof user === "object" && user !== null ? backends.get(user) : undefined);
      await glue.login(session, user, chosen);
      current = Promise.resolve(user);
    },
    async logout() {
      const glue = requireAuth("logout()");
      // The user is only for the `onLogout` hook: a failed lookup must not stop a logout.
      const user = await context.user().catch(() => null);
      await glue.logout(session, user);
      current = Promise.resolve(null);
    },
    updateSessionAuthHash(user) {
      requireAuth("updateSessionAuthHash()").updateSessionAuthHash(session, user);
    },
    async hasPerm(permission) {
      const glue = requireAuth("hasPerm()");
      return glue.hasPerm(await context.user(), permission);
    },
  };

  return {
    context,
    async finish(status) {
      if (finished) throw new InvalidArgumentError("porter: a request's state is committed once");
      finished = true;
      // Messages first: the session storage writes into the session being committed.
      await messages?.commit();
      const result = await sessions.commit(session, { status });
      const setCookie = cookies.setCookieHeaders();
      if (result.setCookie !== null) setCookie.push(result.setCookie);
      return { setCookie, vary: result.vary };
    },
  };
}
