import { randomBytes } from "node:crypto";
import type { SessionEngine } from "@porter/core";
import session from "express-session";
import { CHANGED_KEY, MAX_AGE } from "./session-data.js";

/**
 * One request's session work, the same four shapes for Porter and for each peer:
 * - `create`: a visitor without a session gets one holding `data`;
 * - `loadOnly`: an unmodified logged-in request (read a value, change nothing);
 * - `loadSave`: a modified request (change one value and save);
 * - `destroy`: a logout (the session is removed).
 * `ref` is what the client holds: Porter's cookie value, the peer's session id.
 */
export interface Driver {
  create(data: Record<string, unknown>): Promise<string>;
  loadOnly(ref: string): Promise<void>;
  loadSave(ref: string, value: number): Promise<void>;
  destroy(ref: string): Promise<void>;
}

/** Porter: `engine.load(cookie)` then `engine.commit(session)`, exactly as the middleware does. */
export function porterDriver(engine: SessionEngine): Driver {
  return {
    async create(data) {
      const s = await engine.load(undefined);
      s.update(data);
      const { key } = await engine.commit(s);
      if (key === null) throw new Error("porter: create did not produce a key");
      return key;
    },
    async loadOnly(cookie) {
      const s = await engine.load(cookie);
      if (s.get("_auth_user_id") === undefined) throw new Error("porter: the session was not found");
      await engine.commit(s);
    },
    async loadSave(cookie, value) {
      const s = await engine.load(cookie);
      if (s.get("_auth_user_id") === undefined) throw new Error("porter: the session was not found");
      s.set(CHANGED_KEY, value);
      await engine.commit(s);
    },
    async destroy(cookie) {
      const s = await engine.load(cookie);
      if (s.key === null) throw new Error("porter: the session to destroy was not found");
      s.flush();
      await engine.commit(s);
    },
  };
}

type Data = Record<string, unknown>;
type PeerSession = session.Session & Data;
type Callback = (err?: unknown) => void;
const { Session, Cookie } = session as unknown as {
  Session: new (req: object, data?: Data) => PeerSession;
  Cookie: new (options: session.CookieOptions) => session.Cookie;
};

const settle = (resolve: () => void, reject: (e: unknown) => void) => (err?: unknown) =>
  err ? reject(err) : resolve();

/**
 * A peer store driven through its public API exactly as express-session drives it with its
 * defaults (`resave: false`, `rolling: false`, `saveUninitialized: false`):
 * - load: `store.get(sid, cb)`, then `store.createSession(req, sess)` (which rebuilds the cookie);
 * - unmodified request: `req.session.touch()`, then `store.touch(sid, session, cb)` when the store
 *   implements `touch` (every peer here does), else nothing;
 * - modified request: `req.session.touch()`, then `session.save(cb)` = `store.set(sid, session, cb)`;
 * - new session: a 24-byte id as express-session's `uid-safe` makes it, a `Session` with a
 *   `Cookie`, then `store.set`;
 * - logout: `session.destroy(cb)` = `store.destroy(sid, cb)`.
 * What the middleware itself adds around this (cookie signing, hashing the session to detect a
 * change) is left out: it would only slow the peer down.
 */
export function peerDriver(store: session.Store): Driver {
  const cookie = {
    maxAge: MAX_AGE * 1000,
    httpOnly: true,
    sameSite: "lax" as const,
    secure: false,
    path: "/",
  };
  const touches = typeof store.touch === "function";

  const load = (sid: string) =>
    new Promise<PeerSession>((resolve, reject) => {
      store.get(sid, (err: unknown, sess?: session.SessionData | null) => {
        if (err) return reject(err);
        if (!sess) return reject(new Error("peer: the session was not found"));
        const req = { sessionID: sid, sessionStore: store } as unknown as Parameters<
          session.Store["createSession"]
        >[0];
        resolve(store.createSession(req, sess) as PeerSession);
      });
    });

  return {
    create(data) {
      const sid = randomBytes(24).toString("base64url");
      const req = { sessionID: sid, sessionStore: store };
      const s = new Session(req, structuredClone(data));
      s.cookie = new Cookie(cookie);
      return new Promise((resolve, reject) => s.save(settle(() => resolve(sid), reject) as Callback));
    },
    async loadOnly(sid) {
      const s = await load(sid);
      if (s._auth_user_id === undefined) throw new Error("peer: the session has no user");
      s.touch();
      if (!touches) return;
      await new Promise<void>((resolve, reject) => store.touch!(sid, s, settle(resolve, reject)));
    },
    async loadSave(sid, value) {
      const s = await load(sid);
      s[CHANGED_KEY] = value;
      s.touch();
      await new Promise<void>((resolve, reject) => s.save(settle(resolve, reject) as Callback));
    },
    async destroy(sid) {
      const s = await load(sid);
      await new Promise<void>((resolve, reject) => s.destroy(settle(resolve, reject) as Callback));
    },
  };
}
