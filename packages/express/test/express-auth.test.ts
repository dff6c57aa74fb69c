import {
  type AuthBackend,
  createMemoryUserStore,
  createPasswordBackend,
  createPasswordHashers,
  createSessionEngine,
  type MemoryUserStore,
  type SessionEngineOptions,
  type UserRecord,
} from "@porter/core";
import express, { type ErrorRequestHandler } from "express";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { porter } from "../src/index.js";
import { Browser, type CountingStore, countingStore, listen, parseSetCookie } from "./helpers.js";

const hashers = createPasswordHashers({ iterations: 10_000 });
const SECRET = "a test secret, long enough to mean it";

let users: MemoryUserStore;
let alice: UserRecord;
beforeAll(async () => {
  users = createMemoryUserStore();
  alice = await users.create({
    username: "alice",
    passwordHash: await hashers.makePassword("correct horse", { iterations: 10_000 }),
    permissions: ["shop.view_order"],
  });
});

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

interface App {
  store: CountingStore;
  url: string;
  lookups: () => number;
  errors: unknown[];
}

async function start(cookie: SessionEngineOptions["cookie"] = { secure: false }): Promise<App> {
  const store = countingStore();
  const sessions = createSessionEngine({ store, cookie });
  const passwords = createPasswordBackend({ users, hashers });
  let lookups = 0;
  // The password backend, counting user lookups, to see that `req.user()` is lazy and cached.
  const backend: AuthBackend<UserRecord> = {
    id: passwords.id,
    authenticate: (credentials) => passwords.authenticate(credentials),
    getUser: (id) => {
      lookups++;
      return passwords.getUser(id);
    },
    getPermissions: (user) => passwords.getPermissions(user),
  };
  const errors: unknown[] = [];

  const app = express();
  app.use(express.json());
  app.use(porter({ sessions, auth: { backends: [backend], secret: SECRET, users } }));
  app.post("/login", async (req, res) => {
    const user = await req.authenticate(req.body as Record<string, unknown>);
    if (user === null) {
      res.status(401).send("wrong username or password");
      return;
    }
    await req.login(user);
    res.redirect(303, "/me");
  });
  app.get("/me", async (req, res) => {
    const user = await req.user();
    const again = await req.user();
    res.json({ user: user?.username ?? null, same: user === again, cart: req.session.get("cart") ?? null });
  });
  app.post("/cart", (req, res) => {
    req.session.set("cart", ["book"]);
    res.send("added");
  });
  app.post("/logout", async (req, res) => {
    await req.logout();
    res.send("bye");
  });
  app.post("/password", async (req, res) => {
    const user = await req.user();
    if (user === null) {
      res.sendStatus(403);
      return;
    }
    const passwordHash = await hashers.makePassword((req.body as { password: string }).password);
    const updated = await users.update(user.id, { passwordHash });
    req.updateSessionAuthHash(updated);
    res.send("changed");
  });
  app.get("/can/:perm", async (req, res) => {
    res.send(String(await req.hasPerm(req.params.perm!)));
  });
  app.get("/static", (_req, res) => void res.send("no session needed"));
  app.use(((error, _req, res, _next) => {
    errors.push(error);
    res.status(500).send("error");
  }) satisfies ErrorRequestHandler);

  const server = await listen(app);
  closers.push(server.close);
  return { store, url: server.url, lookups: () => lookups, errors };
}

const me = async (browser: Browser) =>
  (await browser.fetch("/me")).json() as Promise<{ user: string | null; same: boolean; cart: unknown }>;

const loginAs = (browser: Browser, password = "correct horse") =>
  browser.fetch("/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "alice", password }),
  });

describe("login, logout and the user through Express", () => {
  it("rotates the session key at login and keeps the anonymous data (LIFE-01)", async () => {
    const { url } = await start();
    const browser = new Browser(url);
    await browser.fetch("/cart", { method: "POST" });
    const anonymousKey = browser.cookies.get("sessionid")!;
    const response = await loginAs(browser);
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/me");
    const loggedInKey = browser.cookies.get("sessionid")!;
    expect(loggedInKey).toMatch(/^[a-z0-9]{32}$/);
    expect(loggedInKey).not.toBe(anonymousKey);
    expect(await me(browser)).toEqual({ user: "alice", same: true, cart: ["book"] });

    const planted = new Browser(url);
    planted.cookies.set("sessionid", anonymousKey);
    expect(await me(planted)).toEqual({ user: null, same: true, cart: null });
  });

  it("refuses a wrong password without creating a session", async () => {
    const { url, store } = await start();
    const browser = new Browser(url);
    const response = await loginAs(browser, "wrong");
    expect(response.status).toBe(401);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(store.total).toBe(0);
  });

  it("resolves the user only when asked, once per request", async () => {
    const { url, lookups } = await start();
    const browser = new Browser(url);
    await loginAs(browser);
    const before = lookups();
    await browser.fetch("/static");
    expect(lookups()).toBe(before);
    expect((await me(browser)).same).toBe(true);
    expect(lookups()).toBe(before + 1);
  });

  it("logs out with a deletion cookie that mirrors the session cookie, and the old cookie is dead (LIFE-04, COOK-04)", async () => {
    const { url } = await start({ secure: true, domain: "example.test", path: "/", sameSite: "Strict" });
    const browser = new Browser(url);
    const login = await loginAs(browser);
    const issued = parseSetCookie(login.headers.getSetCookie()[0]!);
    const copy = browser.cookies.get("sessionid")!;

    const logout = await browser.fetch("/logout", { method: "POST" });
    expect(await logout.text()).toBe("bye");
    const cookies = logout.headers.getSetCookie().map(parseSetCookie);
    expect(cookies).toHaveLength(1);
    const deletion = cookies[0]!;
    expect(deletion.name).toBe("sessionid");
    expect(deletion.value).toBe("");
    expect(deletion.attributes.get("max-age")).toBe("0");
    expect(deletion.attributes.get("expires")).toBe("Thu, 01 Jan 1970 00:00:00 GMT");
    for (const attribute of ["path", "domain", "samesite", "secure", "httponly"]) {
      expect(deletion.attributes.get(attribute), attribute).toBe(issued.attributes.get(attribute));
    }
    expect(browser.cookies.has("sessionid")).toBe(false);

    const replay = new Browser(url);
    replay.cookies.set("sessionid", copy);
    expect((await me(replay)).user).toBeNull();
  });

  it("keeps this session through a password change and ends the user's other sessions (LIFE-08)", async () => {
    const { url } = await start();
    const here = new Browser(url);
    const elsewhere = new Browser(url);
    await loginAs(here);
    await loginAs(elsewhere);
    const before = here.cookies.get("sessionid");

    const change = await here.fetch("/password", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: "battery staple" }),
    });
    expect(await change.text()).toBe("changed");
    expect(here.cookies.get("sessionid")).not.toBe(before);
    expect((await me(here)).user).toBe("alice");

    const other = await elsewhere.fetch("/me");
    expect(((await other.json()) as { user: unknown }).user).toBeNull();
    // The other session was flushed: its cookie is deleted.
    expect(parseSetCookie(other.headers.getSetCookie()[0]!).attributes.get("max-age")).toBe("0");
    await users.update(alice.id, { passwordHash: alice.passwordHash });
  });

  it("answers permissions for the current user; anonymous has none", async () => {
    const { url } = await start();
    const browser = new Browser(url);
    expect(await (await browser.fetch("/can/shop.view_order")).text()).toBe("false");
    await loginAs(browser);
    expect(await (await browser.fetch("/can/shop.view_order")).text()).toBe("true");
    expect(await (await browser.fetch("/can/shop.delete_order")).text()).toBe("false");
  });
});

describe("without the auth option", () => {
  it("rejects the auth helpers with a ConfigError that reaches the error handler", async () => {
    const sessions = createSessionEngine({ store: countingStore(), cookie: { secure: false } });
    const errors: unknown[] = [];
    const app = express();
    app.use(porter({ sessions }));
    app.get("/me", async (req, res) => void res.json(await req.user()));
    app.use(((error, _req, res, _next) => {
      errors.push(error);
      res.status(500).send("error");
    }) satisfies ErrorRequestHandler);
    const server = await listen(app);
    closers.push(server.close);
    const response = await fetch(`${server.url}/me`);
    expect(response.status).toBe(500);
    expect((errors[0] as { code?: string }).code).toBe("INVALID_CONFIG");
  });
});
