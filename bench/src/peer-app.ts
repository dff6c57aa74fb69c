import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { ALNUM, checkPassword, constantTimeEqual, randomString, type UserStore } from "@porter/core";
import { createFileUserStore } from "@porter/file";
import connectPgSimple from "connect-pg-simple";
import { RedisStore } from "connect-redis";
import session from "express-session";
import { Redis } from "ioredis";
import pg from "pg";

/**
 * The example app's routes on express-session: what the same app looks like without Porter.
 * Same paths, same headers, same CSRF rule (one token per session, checked on every POST, with
 * an Origin check), the same user store (so the same users and groups), a page of the same
 * shape. What it keeps in the session is what such an app usually keeps: the user's id.
 */
declare module "express-session" {
  interface SessionData {
    userId?: string;
    csrf?: string;
    visits?: number;
  }
}

// Express's own types are not among this package's dependencies; express-session's are, and
// they describe Express's request and response.
type Handler = ReturnType<typeof session>;
type Request = Parameters<Handler>[0];
type Response = Parameters<Handler>[1];
type Next = Parameters<Handler>[2];
type Route = (req: Request, res: Response, next: Next) => unknown;
interface App {
  (req: unknown, res: unknown): void;
  disable(name: string): void;
  set(name: string, value: unknown): void;
  use(handler: Route | Handler): void;
  get(path: string, handler: Route): void;
  post(path: string, handler: Route): void;
  listen(port: number, host: string, ready: () => void): Server;
}
const express = createRequire(import.meta.url)("express") as {
  (): App;
  urlencoded(options: { extended: boolean; limit: string; parameterLimit: number }): Handler;
};

const NOTES_PERMISSION = "notes.view";

const esc = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" })[c]!,
  );

function csrfToken(req: Request): string {
  req.session.csrf ??= randomString(32, ALNUM);
  return req.session.csrf;
}

function page(req: Request, title: string, username: string | null, body: string): string {
  const field = () => `<input type="hidden" name="csrfmiddlewaretoken" value="${esc(csrfToken(req))}">`;
  const nav = username
    ? `<a href="/notes">Notes</a><a href="/levels">Message levels</a><a href="/password">Change password</a>
      <form method="post" action="/logout">${field()}<button type="submit">Log out ${esc(username)}</button></form>`
    : `<a href="/levels">Message levels</a><a href="/register">Register</a><a href="/login">Log in</a>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · express-session app</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header><a class="brand" href="/">express-session app</a>${nav}</header>
<main>
<h1>${esc(title)}</h1>
${body.replace("{{csrf}}", () => field())}
</main>
</body>
</html>
`;
}

export function createPeerApp(options: { store: session.Store; users: UserStore; secret: string }): App {
  const { store, users, secret } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use((_req, res, next) => {
    res.set({
      "Content-Security-Policy":
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "same-origin",
    });
    next();
  });
  app.use(
    session({
      secret,
      store,
      name: "sessionid",
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: "lax", secure: false, maxAge: 1_209_600_000 },
    }),
  );
  app.use(express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 20 }));
  app.use((_req, res, next) => {
    res.set("Cache-Control", "no-store");
    next();
  });

  const currentUser = async (req: Request) =>
    req.session.userId === undefined ? null : users.findById(req.session.userId);
  const send = (res: Response, body: string, status = 200) => res.status(status).type("html").send(body);

  app.use((req, res, next) => {
    if (req.method === "GET" || req.method === "HEAD") return next();
    const origin = req.get("origin");
    const sameOrigin = origin === undefined || origin === `http://${req.get("host")}`;
    const submitted = (req.body as Record<string, unknown> | undefined)?.csrfmiddlewaretoken;
    const expected = req.session.csrf;
    if (
      sameOrigin &&
      typeof submitted === "string" &&
      expected !== undefined &&
      constantTimeEqual(expected, submitted)
    )
      return next();
    send(res, page(req, "Forbidden", null, "<p>CSRF verification failed.</p>"), 403);
  });

  app.get("/", async (req, res) => {
    req.session.visits = (req.session.visits ?? 0) + 1;
    const user = await currentUser(req);
    const perms = user ? [...(await users.groupPermissions(user.groups)), ...user.permissions].sort() : [];
    const who = user
      ? `<dl><dt>Username</dt><dd id="username">${esc(user.username)}</dd><dt>Groups</dt><dd>${esc(user.groups.join(", "))}</dd><dt>Permissions</dt><dd>${esc(perms.join(", "))}</dd></dl>`
      : `<p id="username">You are anonymous.</p>`;
    send(
      res,
      page(
        req,
        "Home",
        user?.username ?? null,
        `<section class="card"><h2>Who you are</h2>${who}</section><section class="card"><h2>Visits in this session</h2><p class="counter" id="visits">${req.session.visits}</p></section>`,
      ),
    );
  });

  app.get("/login", (req, res) => {
    send(
      res,
      page(
        req,
        "Log in",
        null,
        `<form method="post" action="/login">{{csrf}}<input name="username"><input name="password" type="password"><button>Log in</button></form>`,
      ),
    );
  });

  app.post("/login", async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const username = typeof body.username === "string" ? body.username : "";
    const user = await users.findByUsername(username);
    const { ok } = await checkPassword(
      typeof body.password === "string" ? body.password : "",
      user?.passwordHash ?? "",
    );
    if (user === null || !ok || !user.isActive) {
      return send(res, page(req, "Log in", null, "<p>Please enter a correct username and password.</p>"));
    }
    await new Promise<void>((resolve, reject) =>
      req.session.regenerate((err) => (err ? reject(err) : resolve())),
    );
    req.session.userId = user.id;
    req.session.csrf = randomString(32, ALNUM);
    res.redirect(303, "/");
  });

  app.post("/logout", async (req, res) => {
    await new Promise<void>((resolve, reject) =>
      req.session.destroy((err) => (err ? reject(err) : resolve())),
    );
    send(res, "<!doctype html><title>Logged out</title><p>You are logged out.</p>");
  });

  app.get("/notes", async (req, res) => {
    const user = await currentUser(req);
    if (user === null) return res.redirect(303, "/login?next=/notes");
    const perms = new Set([...(await users.groupPermissions(user.groups)), ...user.permissions]);
    if (!user.isSuperuser && !perms.has(NOTES_PERMISSION)) {
      return send(res, page(req, "Forbidden", user.username, "<p>You need notes.view.</p>"), 403);
    }
    send(
      res,
      page(
        req,
        "Notes",
        user.username,
        `<section class="card"><p>Only users with <code>${NOTES_PERMISSION}</code> see this page.</p></section>`,
      ),
    );
  });

  app.use((req, res) => {
    send(res, page(req, "Not found", null, "<p>There is no page here.</p>"), 404);
  });
  return app;
}

/**
 * Run as a program: `PEER_STORE=redis|postgres`, `PEER_USERS` (the users.json of the example
 * app), `PEER_SECRET`, `PEER_REDIS_PREFIX` / `PEER_PG_SCHEMA`; listens on a free loopback port
 * and prints `listening on <url>`.
 */
async function main() {
  const env = process.env;
  const users = createFileUserStore({ path: env.PEER_USERS! });
  let store: session.Store;
  let close: () => Promise<unknown>;
  if (env.PEER_STORE === "redis") {
    const client = new Redis(env.REDIS_URL ?? "redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 });
    store = new RedisStore({ client, prefix: env.PEER_REDIS_PREFIX ?? "sess:" });
    close = async () => client.disconnect();
  } else if (env.PEER_STORE === "postgres") {
    const pool = new pg.Pool({
      connectionString: env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
      max: 10,
    });
    const PGStore = connectPgSimple(session);
    store = new PGStore({
      pool,
      schemaName: env.PEER_PG_SCHEMA!,
      tableName: "session",
      pruneSessionInterval: false,
    });
    close = () => pool.end();
  } else {
    throw new Error("PEER_STORE must be redis or postgres");
  }
  const server = createPeerApp({ store, users, secret: env.PEER_SECRET! }).listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo;
    console.log(`listening on http://127.0.0.1:${port}`);
  });
  process.once("SIGTERM", () => {
    server.close();
    server.closeAllConnections();
    void close().finally(() => process.exit(0));
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
