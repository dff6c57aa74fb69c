import { checkPassword, DEBUG, makePassword, PorterError } from "@porter/core";
import { porter } from "@porter/express";
import express, { type NextFunction, type Request, type Response } from "express";
import { createAccount, passwordProblem } from "./accounts.js";
import { type Backends, NOTES_PERMISSION, READERS_GROUP } from "./backends.js";
import { CSRF_FIELD, csrfToken, csrfTokenMatches, rotateCsrfToken } from "./csrf.js";
import { STYLESHEET } from "./static.js";
import * as views from "./views.js";

export interface AppOptions {
  /** Where request errors are reported. @default console.error */
  log?: (line: string) => void;
}

/** A form field's value; anything but a single string (absent, repeated) is "". */
function field(req: Request, name: string): string {
  const body = req.body as Record<string, unknown> | undefined;
  const value = body !== undefined && Object.hasOwn(body, name) ? body[name] : undefined;
  return typeof value === "string" ? value : "";
}

/** Only a path on this site: never `//host`, `/\host` or a scheme (an open redirect). */
function safeNext(value: unknown): string {
  return typeof value === "string" && /^\/(?![/\\])[\x21-\x7e]*$/.test(value) ? value : "/";
}

/** What every page needs: the user (looked up lazily, once), the CSRF token (made on demand), the messages. */
async function pageContext(req: Request): Promise<views.PageContext> {
  const user = await req.user();
  const messages = (await req.messages.list()).map((m) => ({ text: m.message, tags: m.tags }));
  return { user, csrfToken: () => csrfToken(req.session), messages };
}

function send(res: Response, body: string, status = 200): void {
  res.status(status).type("html").send(body);
}

export function createApp(backends: Backends, options: AppOptions = {}): express.Express {
  const log = options.log ?? ((line: string) => console.error(line));
  const { config } = backends;
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

  // Before Porter: a stylesheet needs no session.
  app.get("/style.css", (_req, res) => {
    res.type("css").set("Cache-Control", "public, max-age=3600").send(STYLESHEET);
  });

  app.use(
    porter({ sessions: backends.sessions, auth: backends.auth, messages: { storage: backends.messages } }),
  );
  app.use(express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 20 }));
  app.use((_req, res, next) => {
    res.set("Cache-Control", "no-store");
    next();
  });

  // CSRF: every unsafe request carries this session's token; a cross-origin Origin is refused outright.
  app.use(async (req, res, next) => {
    if (req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS") return next();
    const sameOrigin = isSameOrigin(req.get("origin"), req.get("host"));
    if (sameOrigin && csrfTokenMatches(req.session, field(req, CSRF_FIELD))) return next();
    // Messages stay stored for the next real page.
    const ctx = { user: await req.user(), csrfToken: () => csrfToken(req.session), messages: [] };
    const text = "CSRF verification failed: reload the form and submit it again.";
    send(res, views.errorPage(ctx, 403, "Forbidden", text), 403);
  });

  app.get("/", async (req, res) => {
    const prior = req.session.get("visits");
    const visits = (Number.isSafeInteger(prior) ? (prior as number) : 0) + 1;
    req.session.set("visits", visits);
    const ctx = await pageContext(req);
    const permissions = ctx.user ? [...(await backends.passwordBackend.getPermissions(ctx.user))].sort() : [];
    send(res, views.homePage(ctx, visits, config, permissions));
  });

  app.get("/register", async (req, res) => {
    send(res, views.registerPage(await pageContext(req)));
  });

  app.post("/register", async (req, res) => {
    const username = field(req, "username");
    const password = field(req, "password");
    if (password !== field(req, "password2")) {
      req.messages.error("The two passwords do not match.");
      return send(res, views.registerPage(await pageContext(req), username));
    }
    const groups = field(req, "reader") === "1" ? [READERS_GROUP] : [];
    const result = await createAccount(backends.users, { username, password, groups });
    if (!result.ok) {
      req.messages.error(result.problem);
      return send(res, views.registerPage(await pageContext(req), username));
    }
    req.messages.success(`Account ${result.user.username} created. Log in with your new password.`);
    res.redirect(303, "/login");
  });

  app.get("/login", async (req, res) => {
    send(res, views.loginPage(await pageContext(req), safeNext(req.query.next)));
  });

  // The heart of it: credentials → auth backend → login() writes the user into the session
  // under a new key → a message waits in its storage for the next page.
  app.post("/login", async (req, res) => {
    const username = field(req, "username");
    const user = await req.authenticate({ username, password: field(req, "password") });
    if (user === null) {
      req.messages.error("Please enter a correct username and password.");
      return send(res, views.loginPage(await pageContext(req), safeNext(field(req, "next")), username));
    }
    await req.login(user);
    rotateCsrfToken(req.session);
    req.messages.success(`Welcome, ${user.username}. You are logged in.`);
    res.redirect(303, safeNext(field(req, "next")));
  });

  app.post("/logout", async (req, res) => {
    await req.logout();
    // Rendered rather than redirected, and nothing written into the session: the browser keeps no session cookie.
    send(res, views.loggedOutPage(await pageContext(req)));
  });

  app.get("/password", async (req, res) => {
    const ctx = await pageContext(req);
    if (ctx.user === null) return res.redirect(303, "/login?next=/password");
    send(res, views.passwordPage(ctx));
  });

  app.post("/password", async (req, res) => {
    const user = await req.user();
    if (user === null) return res.redirect(303, "/login?next=/password");
    const next = field(req, "new_password1");
    const { ok } = await checkPassword(field(req, "old_password"), user.passwordHash);
    const problem = !ok
      ? "Your current password was entered incorrectly."
      : next !== field(req, "new_password2")
        ? "The two new passwords do not match."
        : passwordProblem(next, user.username);
    if (problem !== null) {
      req.messages.error(problem);
      return send(res, views.passwordPage(await pageContext(req)));
    }
    const updated = await backends.users.update(user.id, { passwordHash: await makePassword(next) });
    // This session survives under a new key with the new hash; every other session of the user ends.
    req.updateSessionAuthHash(updated);
    req.messages.success("Your password was changed. Your other sessions are logged out.");
    res.redirect(303, "/");
  });

  app.get("/notes", async (req, res) => {
    const ctx = await pageContext(req);
    if (ctx.user === null) return res.redirect(303, "/login?next=/notes");
    if (!(await req.hasPerm(NOTES_PERMISSION))) {
      return send(res, views.forbiddenPage(ctx, NOTES_PERMISSION), 403);
    }
    send(res, views.notesPage(ctx));
  });

  app.get("/levels", async (req, res) => {
    const ctx = await pageContext(req);
    send(res, views.levelsPage(ctx, req.messages.level));
  });

  app.post("/levels", (req, res) => {
    const messages = req.messages;
    messages.debug("This DEBUG message was added at the default level (INFO) and dropped: you never see it.");
    messages.level = DEBUG;
    messages.debug("debug — level 10, shown because this request lowered the level to DEBUG");
    messages.info("info — level 20");
    messages.success("success — level 25");
    messages.warning("warning — level 30");
    messages.error("error — level 40");
    res.redirect(303, "/levels");
  });

  app.use(async (req: Request, res: Response) => {
    send(res, views.errorPage(await pageContext(req), 404, "Not found", "There is no page here."), 404);
  });

  app.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const status = httpStatus(error);
    if (status >= 500) log(`${req.method} ${req.path}: ${describe(error)}`);
    const text =
      status === 503
        ? "A backend could not be reached. Try again in a moment."
        : status >= 500
          ? "Something went wrong on our side."
          : "The request could not be understood.";
    // No user lookup and no messages here: the failure may be the store they live in.
    const ctx: views.PageContext = { user: null, csrfToken: () => "", messages: [] };
    send(res, views.errorPage(ctx, status, status === 503 ? "Unavailable" : "Error", text), status);
  });

  return app;
}

/** No `Origin` (an old browser, a form-less client), or one naming this host. */
function isSameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function httpStatus(error: unknown): number {
  if (PorterError.is(error, "STORE_UNAVAILABLE")) return 503;
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" && status >= 400 && status < 500 ? status : 500;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (cause: ${cause.message})` : error.message;
}
