import { jsonCodec } from "../codec/index.js";
import { memberCodecOf } from "../codec/json-members.js";
import type {
  ClientSessionStore,
  CookieOptions,
  SameSite,
  Session,
  SessionCodec,
  SessionData,
  SessionStore,
} from "../contracts.js";
import {
  ConfigError,
  CookieTooLargeError,
  PorterError,
  SessionConflictError,
  SessionInterruptedError,
} from "../errors.js";
import { cookieSerializer, readCookie, serializeDeletionCookie, validateCookieOptions } from "./cookies.js";
import { createDeadlineRunner } from "./deadlines.js";
import { DEFAULT_SESSION_AGE } from "./expiry.js";
import { hashSessionKey, isSessionKey, newSessionKey } from "./keys.js";
import { PorterSession, type SessionSettings, UNREADABLE } from "./session.js";

/** Security and lifecycle events, for logs and metrics. They never carry a raw key or secret. */
export type SessionEvent =
  | { type: "invalid-key" }
  | { type: "unknown-key" }
  | { type: "corrupt-record"; reason: string }
  | { type: "bad-cookie" }
  | { type: "conflict-retry"; attempt: number }
  | { type: "interrupted" }
  | { type: "created" }
  | { type: "rotated" }
  | { type: "deleted" };

export interface SessionCookieSettings {
  /** @default "sessionid" (Django's) */
  name?: string;
  domain?: string;
  /** @default "/" */
  path?: string;
  /** @default true — opt out explicitly for plain-HTTP development. */
  secure?: boolean;
  /** @default true */
  httpOnly?: boolean;
  /** @default "Lax" */
  sameSite?: SameSite;
  partitioned?: boolean;
}

export interface SessionEngineOptions {
  /** Where sessions live: a server-side store, or a cookie store (`@porter/cookie`). */
  store: SessionStore | ClientSessionStore;
  /** How session data becomes the stored string. @default jsonCodec() */
  codec?: SessionCodec;
  cookie?: SessionCookieSettings;
  /** Session lifetime in seconds (Django's `SESSION_COOKIE_AGE`). @default 1209600 (two weeks) */
  maxAge?: number;
  /** Browser-session cookies unless a session says otherwise. @default false */
  expireAtBrowserClose?: boolean;
  /** Save on every request even when nothing changed (Django's `SESSION_SAVE_EVERY_REQUEST`). @default false */
  saveEveryRequest?: boolean;
  /**
   * Rolling expiry: an unmodified session's expiry is pushed forward (a `touch`, no data
   * written) once it has fallen behind by this many seconds, so a busy user costs one read
   * per request, not a read and a write. `false` keeps Django's fixed expiry.
   * @default min(3600, maxAge / 10)
   */
  touchAfter?: number | false;
  /** Deadline for each store call, ms; past it the call rejects with `StoreUnavailableError`. @default 5000 */
  deadlineMs?: number;
  /**
   * The store sees a one-way hash of the key, so a leaked table holds no usable cookie.
   * Turn off only to share a table with Django. @default true
   */
  hashKeys?: boolean;
  /** How often a version conflict is resolved by reload-and-replay before giving up. @default 5 */
  maxConflictRetries?: number;
  /** @default Date.now */
  clock?: () => number;
  onEvent?: (event: SessionEvent) => void;
}

/** What `commit` produced for the response. */
export interface CommitResult {
  /** A `Set-Cookie` header value to send, or null. */
  readonly setCookie: string | null;
  /** The session's key after the commit (null when it has none). */
  readonly key: string | null;
  /** The session was read or written: the response depends on the cookie (`Vary: Cookie`). */
  readonly vary: boolean;
}

export interface CommitOptions {
  /** The response status; nothing is saved for 5xx (Django's `SessionMiddleware`). */
  status?: number;
}

/** Django's SessionMiddleware + SessionBase, framework-free. */
export interface SessionEngine {
  readonly cookieName: string;
  readonly cookieOptions: Readonly<CookieOptions>;
  readonly store: SessionStore | ClientSessionStore;
  /** Loads the session a cookie value names: one store round trip, none without a cookie. Never throws for bad input. */
  load(cookieValue: string | undefined): Promise<Session>;
  /** Like `load`, reading the session cookie out of a `Cookie` request header. */
  loadFromHeader(cookieHeader: string | null | undefined): Promise<Session>;
  /** Saves what changed and says which cookie to send. */
  commit(session: Session, options?: CommitOptions): Promise<CommitResult>;
  /** Removes expired sessions where the store can (Django's `clearsessions`). */
  clearExpired(): Promise<number>;
}

const NO_RESULT = { setCookie: null, key: null, vary: false } as const;
const BROWSER_COOKIE_LIMIT = 4096;
const MAX_CREATE_ATTEMPTS = 8;

function isClientStore(store: SessionStore | ClientSessionStore): store is ClientSessionStore {
  return (store as ClientSessionStore).clientSide === true;
}

export function createSessionEngine(options: SessionEngineOptions): SessionEngine {
  const { store } = options;
  if (store === undefined || store === null)
    throw new ConfigError("createSessionEngine: a store is required");
  if (store.contractVersion !== 1) throw new ConfigError("this store implements an unknown contract version");
  const codec = options.codec ?? jsonCodec();
  const now = options.clock ?? Date.now;
  const maxAge = options.maxAge ?? DEFAULT_SESSION_AGE;
  if (!Number.isInteger(maxAge) || maxAge <= 0)
    throw new ConfigError("maxAge must be a positive number of seconds");
  const touchAfterMs =
    options.touchAfter === false
      ? Number.POSITIVE_INFINITY
      : (options.touchAfter ?? Math.min(3600, Math.floor(maxAge / 10))) * 1000;
  const deadlineMs = options.deadlineMs ?? 5000;
  const hashKeys = options.hashKeys ?? true;
  const maxRetries = options.maxConflictRetries ?? 5;
  const saveEveryRequest = options.saveEveryRequest ?? false;
  const emit = options.onEvent ?? (() => {});
  const client = isClientStore(store) ? store : null;
  const server = isClientStore(store) ? null : store;
  const canTouch = server?.capabilities.touch === true && typeof server.touch === "function";

  const cookieName = options.cookie?.name ?? "sessionid";
  const cookieOptions: CookieOptions = {
    path: options.cookie?.path ?? "/",
    secure: options.cookie?.secure ?? true,
    httpOnly: options.cookie?.httpOnly ?? true,
    sameSite: options.cookie?.sameSite ?? "Lax",
    ...(options.cookie?.domain !== undefined ? { domain: options.cookie.domain } : {}),
    ...(options.cookie?.partitioned !== undefined ? { partitioned: options.cookie.partitioned } : {}),
  };
  validateCookieOptions(cookieName, cookieOptions);

  // A codec that can split records lets a request decode only the values it reads, and save
  // the others as they were stored.
  const members = memberCodecOf(codec);
  const settings: SessionSettings = {
    now,
    defaultAge: maxAge,
    expireAtBrowserClose: options.expireAtBrowserClose ?? false,
    ...(members === undefined
      ? {}
      : {
          readMember: (raw) => {
            try {
              return members.member(raw);
            } catch (error) {
              emit({
                type: "corrupt-record",
                reason: error instanceof Error ? error.message : "undecodable",
              });
              return UNREADABLE;
            }
          },
        }),
  };
  // Busy sessions are hashed once, not on every request: a bounded map of recent keys.
  const hashed = new Map<string, string>();
  const storeKey = hashKeys
    ? (key: string) => {
        let id = hashed.get(key);
        if (id === undefined) {
          id = hashSessionKey(key);
          if (hashed.size >= 10_000) hashed.delete(hashed.keys().next().value as string);
          hashed.set(key, id);
        }
        return id;
      }
    : (key: string) => key;

  /** Every store call gets a deadline; anything but a typed Porter error means "could not ask". */
  const call = createDeadlineRunner(deadlineMs);

  function decode(text: string): SessionData | null {
    try {
      return codec.decode(text);
    } catch (error) {
      emit({ type: "corrupt-record", reason: error instanceof Error ? error.message : "undecodable" });
      return null;
    }
  }

  /** A stored record's data: split into undecoded members where the codec can, else decoded whole. */
  function decodeStored(text: string): SessionData | Map<string, unknown> | null {
    return members?.split(text) ?? decode(text);
  }

  function encodeSession(session: PorterSession): string {
    return members === undefined ? codec.encode(session.toData()) : members.encodeMembers(session.members());
  }

  function fresh(incomingCookie: string | undefined): PorterSession {
    return new PorterSession(settings, null, null, { incomingCookie, loadedKey: null, record: null });
  }

  async function load(cookieValue: string | undefined): Promise<Session> {
    if (cookieValue === undefined || cookieValue === "") return fresh(undefined);
    if (typeof cookieValue !== "string") return fresh(undefined);

    if (client !== null) {
      let decoded: Awaited<ReturnType<ClientSessionStore["decode"]>> = null;
      try {
        decoded = await client.decode(cookieValue);
      } catch (error) {
        // "Could not ask" (e.g. a revocation check that needs a server) is not "no session".
        if (PorterError.is(error, "STORE_UNAVAILABLE")) throw error;
        decoded = null;
      }
      const data = decoded !== null && decoded.expiresAt > now() ? decodeStored(decoded.data) : null;
      if (data === null) {
        emit({ type: "bad-cookie" });
        return fresh(cookieValue);
      }
      return new PorterSession(settings, null, data, {
        incomingCookie: cookieValue,
        loadedKey: null,
        record: { data: decoded!.data, expiresAt: decoded!.expiresAt, version: 0 },
        reissue: client.needsReissue?.(cookieValue) ?? false,
      });
    }

    if (!isSessionKey(cookieValue)) {
      emit({ type: "invalid-key" });
      return fresh(cookieValue);
    }
    const record = await call(() => server!.get(storeKey(cookieValue)));
    if (record === null || record.expiresAt <= now()) {
      emit({ type: "unknown-key" });
      return fresh(cookieValue);
    }
    const data = decodeStored(record.data);
    if (data === null) return fresh(cookieValue);
    return new PorterSession(settings, cookieValue, data, {
      incomingCookie: cookieValue,
      loadedKey: cookieValue,
      record,
    });
  }

  const serialize = cookieSerializer(cookieName, cookieOptions);
  function sessionCookie(value: string, session: PorterSession): string {
    const header = serialize(value, session.expireAtBrowserClose ? undefined : session.expiryAge, now());
    const size = cookieName.length + 1 + value.length;
    if (size > BROWSER_COOKIE_LIMIT) throw new CookieTooLargeError(size, BROWSER_COOKIE_LIMIT);
    return header;
  }

  function deletion(session: PorterSession): CommitResult {
    const hadCookie = session.state.incomingCookie !== undefined;
    return {
      setCookie: hadCookie ? serializeDeletionCookie(cookieName, cookieOptions) : null,
      key: null,
      vary: true,
    };
  }

  /** A fresh key and a must-create write, retried on the (astronomically unlikely) collision. */
  async function createRecord(session: PorterSession, data: string, expiresAt: number): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const key = newSessionKey();
      try {
        session.state.record = await call(() => server!.create(storeKey(key), data, expiresAt));
        session.state.loadedKey = key;
        session.assignKey(key);
        emit({ type: "created" });
        return key;
      } catch (error) {
        if (!PorterError.is(error, "SESSION_EXISTS") || attempt + 1 >= MAX_CREATE_ATTEMPTS) throw error;
      }
    }
  }

  /** Compare-and-set with replay: a concurrent writer's changes to other keys survive ours. */
  async function updateRecord(session: PorterSession, key: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const record = session.state.record!;
      const data = encodeSession(session);
      const expiresAt = now() + session.expiryAge * 1000;
      try {
        session.state.record = await call(() =>
          server!.update(storeKey(key), { data, expiresAt, version: record.version }),
        );
        return;
      } catch (error) {
        if (PorterError.is(error, "SESSION_MISSING")) {
          emit({ type: "interrupted" });
          throw new SessionInterruptedError({ cause: error });
        }
        if (!PorterError.is(error, "SESSION_CONFLICT")) throw error;
        if (attempt + 1 > maxRetries) throw new SessionConflictError(key);
        emit({ type: "conflict-retry", attempt: attempt + 1 });
        // Jittered backoff: writers that collided once should not all collide again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
        const latest = await call(() => server!.get(storeKey(key)));
        if (latest === null) {
          emit({ type: "interrupted" });
          throw new SessionInterruptedError();
        }
        session.rebase(decodeStored(latest.data) ?? {}, latest);
      }
    }
  }

  async function commitClient(session: PorterSession): Promise<CommitResult> {
    if (session.size === 0) {
      return session.state.incomingCookie !== undefined
        ? deletion(session)
        : { ...NO_RESULT, vary: session.accessed };
    }
    const record = session.state.record;
    const expiresAt = now() + session.expiryAge * 1000;
    const due = record === null || expiresAt - record.expiresAt >= touchAfterMs;
    if (!(session.modified || saveEveryRequest || session.state.reissue || due)) {
      return { ...NO_RESULT, vary: session.accessed };
    }
    const value = await client!.encode(encodeSession(session), expiresAt);
    session.state.record = { data: "", expiresAt, version: 0 };
    return { setCookie: sessionCookie(value, session), key: null, vary: true };
  }

  async function commit(input: Session, commitOptions: CommitOptions = {}): Promise<CommitResult> {
    if (!(input instanceof PorterSession)) throw new ConfigError("commit takes a session this engine loaded");
    const session = input;
    if (commitOptions.status !== undefined && commitOptions.status >= 500)
      return { ...NO_RESULT, vary: session.accessed };
    if (client !== null) return commitClient(session);

    const { loadedKey } = session.state;
    const empty = session.size === 0;

    if (session.state.rotate) {
      // cycleKey/flush: the new record exists before the old one goes, and the old one never
      // receives this request's data (so it can never carry a login).
      let key: string | null = null;
      if (!empty) key = await createRecord(session, encodeSession(session), now() + session.expiryAge * 1000);
      if (loadedKey !== null && loadedKey !== key) {
        await call(() => server!.delete(storeKey(loadedKey)));
        emit({ type: key === null ? "deleted" : "rotated" });
      }
      session.state.rotate = false;
      if (key === null) {
        session.assignKey(null);
        session.state.loadedKey = null;
        session.state.record = null;
        return deletion(session);
      }
      return { setCookie: sessionCookie(key, session), key, vary: true };
    }

    if (loadedKey !== null) {
      if (empty && session.modified) {
        await call(() => server!.delete(storeKey(loadedKey)));
        emit({ type: "deleted" });
        session.assignKey(null);
        session.state.loadedKey = null;
        session.state.record = null;
        return deletion(session);
      }
      if (session.modified || saveEveryRequest) {
        await updateRecord(session, loadedKey);
        return { setCookie: sessionCookie(loadedKey, session), key: loadedKey, vary: true };
      }
      const record = session.state.record!;
      const expiresAt = now() + session.expiryAge * 1000;
      if (expiresAt - record.expiresAt >= touchAfterMs) {
        if (canTouch) {
          await call(() => server!.touch!(storeKey(loadedKey), expiresAt));
          session.state.record = { ...record, expiresAt };
        } else {
          await updateRecord(session, loadedKey);
        }
        return { setCookie: sessionCookie(loadedKey, session), key: loadedKey, vary: true };
      }
      return { setCookie: null, key: loadedKey, vary: session.accessed };
    }

    if (!empty && (session.modified || saveEveryRequest)) {
      const key = await createRecord(session, encodeSession(session), now() + session.expiryAge * 1000);
      return { setCookie: sessionCookie(key, session), key, vary: true };
    }
    if (empty && session.state.incomingCookie !== undefined) return deletion(session);
    return { ...NO_RESULT, vary: session.accessed };
  }

  return {
    cookieName,
    cookieOptions,
    store,
    load,
    loadFromHeader: (header) => load(readCookie(header, cookieName)),
    commit,
    async clearExpired() {
      if (server === null || server.clearExpired === undefined || !server.capabilities.clearExpired) return 0;
      return server.clearExpired();
    },
  };
}
