import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import {
  createMemoryUserStore,
  createPasswordBackend,
  createPasswordHashers,
  createSessionEngine,
  PorterError,
  type SessionEngine,
} from "@porter/core";
import { afterEach, describe, expect, it } from "vitest";
import { createWebPorter, withPorter } from "../src/web.js";
import { Browser, type CountingStore, countingStore, listen, parseSetCookie } from "./helpers.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

function engine(): { store: CountingStore; sessions: SessionEngine } {
  const store = countingStore();
  return { store, sessions: createSessionEngine({ store, cookie: { secure: false } }) };
}

const request = (path: string, cookie?: string, init: RequestInit = {}) =>
  new Request(`http://app.test${path}`, {
    ...init,
    headers: { ...(cookie === undefined ? {} : { cookie: `sessionid=${cookie}` }) },
  });

const sessionCookie = (response: Response) =>
  response.headers
    .getSetCookie()
    .map(parseSetCookie)
    .find((cookie) => cookie.name === "sessionid");

/** Serves a web-standard handler through `node:http`, streaming the body as it comes. */
async function serve(handler: (request: Request) => Promise<Response>) {
  const server = await listen(async (req: IncomingMessage, res: ServerResponse) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string") headers.set(name, value);
    }
    const method = req.method ?? "GET";
    const body = method === "GET" || method === "HEAD" ? null : (Readable.toWeb(req) as ReadableStream);
    try {
      const response = await handler(
        new Request(`http://127.0.0.1${req.url}`, { method, headers, body, duplex: "half" } as RequestInit),
      );
      res.statusCode = response.status;
      for (const [name, value] of response.headers) if (name !== "set-cookie") res.setHeader(name, value);
      const cookies = response.headers.getSetCookie();
      if (cookies.length > 0) res.setHeader("set-cookie", cookies);
      if (response.body === null) res.end();
      else Readable.fromWeb(response.body as import("node:stream/web").ReadableStream).pipe(res);
    } catch (error) {
      res.statusCode = PorterError.is(error, "STORE_UNAVAILABLE") ? 503 : 500;
      res.end(String((error as Error).message));
    }
  });
  closers.push(server.close);
  return new Browser(server.url);
}

describe("withPorter on real Request and Response objects", () => {
  it("hands back the handler's own response when the session was not touched, with no store call", async () => {
    const { store, sessions } = engine();
    const original = new Response("static");
    const handle = withPorter(async () => original, { sessions });
    const response = await handle(request("/"));
    expect(response).toBe(original);
    expect(store.total).toBe(0);
    expect(response.headers.get("vary")).toBeNull();
  });

  it("counts across requests and adds Set-Cookie and Vary", async () => {
    const { sessions } = engine();
    const handle = withPorter(
      async (_request, porter) => {
        const count = (porter.session.get<number>("count") ?? 0) + 1;
        porter.session.set("count", count);
        return new Response(String(count), { headers: { vary: "Accept" } });
      },
      { sessions },
    );
    const first = await handle(request("/"));
    expect(await first.text()).toBe("1");
    expect(first.headers.get("vary")).toBe("Accept, Cookie");
    const key = sessionCookie(first)!.value;
    const second = await handle(request("/", key));
    expect(await second.text()).toBe("2");
  });

  it("copies a response whose headers are immutable (Response.redirect) rather than failing", async () => {
    const { sessions } = engine();
    const handle = withPorter(
      async (_request, porter) => {
        porter.session.set("flash", "moved");
        return Response.redirect("http://app.test/next", 303);
      },
      { sessions },
    );
    const response = await handle(request("/"));
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("http://app.test/next");
    expect(sessionCookie(response)?.value).toMatch(/^[a-z0-9]{32}$/);
  });

  it("never writes one visitor's cookie into a response object the app shares between requests", async () => {
    const { sessions } = engine();
    const shared = new Response(null, { status: 204 });
    const handle = withPorter(
      async (_request, porter) => {
        porter.session.set("seen", true);
        return shared;
      },
      { sessions },
    );
    const response = await handle(request("/"));
    expect(response).not.toBe(shared);
    expect(response.status).toBe(204);
    expect(sessionCookie(response)).toBeDefined();
    expect(shared.headers.getSetCookie()).toEqual([]);
  });

  it("commits before a streamed body is handed back", async () => {
    const { sessions, store } = engine();
    const handle = withPorter(
      async (_request, porter) => {
        porter.session.set("streaming", true);
        let i = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (i === 3) controller.close();
            else controller.enqueue(new TextEncoder().encode(`chunk ${i++};`));
          },
        });
        return new Response(body, { headers: { "content-type": "text/plain" } });
      },
      { sessions },
    );
    const response = await handle(request("/"));
    expect(store.calls.create).toBe(1);
    expect(sessionCookie(response)).toBeDefined();
    expect(await response.text()).toBe("chunk 0;chunk 1;chunk 2;");
  });

  it("saves nothing when the handler throws or answers 5xx (LIFE-17)", async () => {
    const { sessions, store } = engine();
    const throwing = withPorter(
      async (_request, porter) => {
        porter.session.set("half-done", true);
        throw new Error("boom");
      },
      { sessions },
    );
    await expect(throwing(request("/"))).rejects.toThrow("boom");
    const failing = withPorter(
      async (_request, porter) => {
        porter.session.set("half-done", true);
        return new Response("down", { status: 502 });
      },
      { sessions },
    );
    const response = await failing(request("/"));
    expect(response.status).toBe(502);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(store.total).toBe(0);
  });

  it("rejects with StoreUnavailableError on a store outage, for the framework's error handling", async () => {
    const { sessions, store } = engine();
    const handle = withPorter(async (_request, porter) => new Response(String(porter.session.get("x"))), {
      sessions,
    });
    store.down.add("get");
    await expect(handle(request("/", "a".repeat(32)))).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
  });

  it("answers 400 for a session ended concurrently, or what onInterrupted returns", async () => {
    for (const onInterrupted of ["400", () => new Response("again", { status: 409 })] as const) {
      const { sessions } = engine();
      const porter = createWebPorter({ sessions, onInterrupted });
      const start = await porter.open(request("/"));
      start.porter.session.set("x", 1);
      const key = sessionCookie(await start.respond(new Response("ok")))!.value;

      const slow = await porter.open(request("/", key));
      const end = await porter.open(request("/", key));
      end.porter.session.flush();
      await end.respond(new Response("ended"));
      slow.porter.session.set("late", true);
      const response = await slow.respond(new Response("saved?"));
      if (onInterrupted === "400") {
        expect(response.status).toBe(400);
        expect(await response.text()).toContain("The request's session was deleted");
      } else {
        expect(response.status).toBe(409);
      }
      expect(response.headers.getSetCookie()).toEqual([]);
    }
  });

  it("passes extra arguments through, as Next.js route handlers receive { params }", async () => {
    const { sessions } = engine();
    const GET = withPorter(
      async (_request, porter, context: { params: Promise<{ id: string }> }) => {
        const { id } = await context.params;
        porter.session.set("last", id);
        return Response.json({ id });
      },
      { sessions },
    );
    const response = await GET(request("/items/7"), { params: Promise.resolve({ id: "7" }) });
    expect(await response.json()).toEqual({ id: "7" });
    expect(sessionCookie(response)).toBeDefined();
  });
});

describe("the web binding served through node:http and fetch", () => {
  it("logs in, keeps the user across requests, and logs out", async () => {
    const users = createMemoryUserStore();
    const hashers = createPasswordHashers({ iterations: 10_000 });
    await users.create({ username: "bob", passwordHash: await hashers.makePassword("s3cret pass") });
    const { sessions } = engine();
    const porter = createWebPorter({
      sessions,
      auth: { backends: [createPasswordBackend({ users, hashers })], secret: "web test secret" },
    });
    const browser = await serve(
      porter.handle(async (request, porter) => {
        const path = new URL(request.url).pathname;
        if (path === "/login") {
          const user = await porter.authenticate((await request.json()) as Record<string, unknown>);
          if (user === null) return new Response("no", { status: 401 });
          await porter.login(user);
          return Response.redirect("http://127.0.0.1/me", 303);
        }
        if (path === "/logout") {
          await porter.logout();
          return new Response("bye");
        }
        const user = await porter.user();
        return Response.json({ user: user?.username ?? null });
      }),
    );
    const login = await browser.fetch("/login", {
      method: "POST",
      body: JSON.stringify({ username: "bob", password: "s3cret pass" }),
    });
    expect(login.status).toBe(303);
    expect(login.headers.get("vary")).toBe("Cookie");
    const copy = browser.cookies.get("sessionid")!;
    expect(await (await browser.fetch("/me")).json()).toEqual({ user: "bob" });
    const logout = await browser.fetch("/logout", { method: "POST" });
    expect(parseSetCookie(logout.headers.getSetCookie()[0]!).attributes.get("max-age")).toBe("0");
    const replay = new Browser(browser.base);
    replay.cookies.set("sessionid", copy);
    expect(await (await replay.fetch("/me")).json()).toEqual({ user: null });
  });

  it("works as middleware around another handler (the Hono shape: open, next, respond)", async () => {
    const { sessions, store } = engine();
    const porter = createWebPorter({ sessions });
    const inner = async (_request: Request, session: import("@porter/core").Session) => {
      session.set("visits", (session.get<number>("visits") ?? 0) + 1);
      return new Response(`visits=${session.get("visits")}`);
    };
    const browser = await serve(async (request) => {
      const opened = await porter.open(request);
      const response = await inner(request, opened.porter.session);
      return opened.respond(response);
    });
    expect(await (await browser.fetch("/")).text()).toBe("visits=1");
    expect(await (await browser.fetch("/")).text()).toBe("visits=2");
    expect(store.calls).toMatchObject({ create: 1, update: 1, get: 1 });
  });

  it("routes a store outage to the server's error handling", async () => {
    const { sessions, store } = engine();
    const browser = await serve(withPorter(async () => new Response("never"), { sessions }));
    store.down.add("get");
    browser.cookies.set("sessionid", "b".repeat(32));
    const response = await browser.fetch("/");
    expect(response.status).toBe(503);
  });
});
