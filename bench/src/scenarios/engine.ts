import { createMemorySessionStore, createSessionEngine } from "@porter/core";
import session from "express-session";
import { cookieFrom, fakeExchange } from "../fake-http.js";
import type { Scenario } from "../harness.js";

const SECRET = "bench-secret-bench-secret-bench-secret!!";

/**
 * Engine overhead: one full request cycle — parse the cookie, load, read 3 keys, set 1,
 * commit and set the response cookie — against the in-process memory stores, so the session
 * layer itself is all that is measured.
 */
export async function engineOverhead(): Promise<Scenario> {
  // express-session + MemoryStore, called as an Express app would.
  const middleware = session({
    secret: SECRET,
    store: new session.MemoryStore(),
    resave: false,
    saveUninitialized: false,
    cookie: { secure: false, httpOnly: true, sameSite: "lax" },
  });
  type Data = { user?: string; role?: string; theme?: string; hits?: number };
  const expressCycle = async (cookie: string | undefined, init: boolean) => {
    const { req, res, done } = fakeExchange(cookie);
    middleware(req as never, res as never, () => {
      const s = (req as unknown as { session: Data }).session;
      if (init) Object.assign(s, { user: "alice", role: "admin", theme: "dark", hits: 0 });
      void s.user;
      void s.role;
      void s.theme;
      s.hits = (s.hits ?? 0) + 1;
      res.end();
    });
    await done;
    return res;
  };
  const VISITORS = 64;
  const expressCookies: (string | undefined)[] = [];
  for (let i = 0; i < VISITORS; i++) expressCookies.push(cookieFrom(await expressCycle(undefined, true)));

  // Porter's engine + memory store, with the same request shape.
  const engine = createSessionEngine({ store: createMemorySessionStore(), cookie: { secure: false } });
  const porterCycle = async (cookie: string | undefined, init: boolean) => {
    const { req, res, done } = fakeExchange(cookie);
    const s = await engine.loadFromHeader(req.headers.cookie);
    if (init) s.update({ user: "alice", role: "admin", theme: "dark", hits: 0 });
    s.get("user");
    s.get("role");
    s.get("theme");
    s.set("hits", (s.get<number>("hits") ?? 0) + 1);
    const { setCookie, vary } = await engine.commit(s, { status: 200 });
    if (setCookie !== null) res.setHeader("Set-Cookie", setCookie);
    if (vary) res.setHeader("Vary", "Cookie");
    res.end();
    await done;
    return res;
  };
  const porterCookies: (string | undefined)[] = [];
  for (let i = 0; i < VISITORS; i++) porterCookies.push(cookieFrom(await porterCycle(undefined, true)));

  return {
    name: "engine overhead (full cycle, memory store)",
    engine: "memory",
    contenders: [
      {
        name: "porter engine + memory store",
        role: "porter",
        op: (w) => porterCycle(porterCookies[w], false),
      },
      {
        name: "express-session + MemoryStore",
        role: "peer",
        op: (w) => expressCycle(expressCookies[w], false),
      },
    ],
  };
}
