import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createSessionEngine, PorterError } from "@porter/core";
import express, { type ErrorRequestHandler, type Express } from "express";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type PorterExpressOptions, porter } from "../src/index.js";
import { Browser, type CountingStore, countingStore, gate, listen, parseSetCookie } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "porter-express-"));
  await writeFile(join(dir, "hello.txt"), "hello from a file\n");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const errors: unknown[] = [];
const errorHandler: ErrorRequestHandler = (error, _req, res, _next) => {
  errors.push(error);
  const status = PorterError.is(error, "STORE_UNAVAILABLE") ? 503 : 500;
  res
    .status(status)
    .type("text/plain")
    .send(`handled: ${(error as Error).message}`);
};

async function start(
  routes: (app: Express) => void,
  options: Partial<PorterExpressOptions> = {},
): Promise<{ store: CountingStore; browser: Browser; url: string }> {
  errors.length = 0;
  const store = countingStore();
  const sessions = createSessionEngine({ store, cookie: { secure: false } });
  const app = express();
  app.use(porter({ sessions, ...options }));
  routes(app);
  app.use(errorHandler);
  const server = await listen(app);
  closers.push(server.close);
  return { store, browser: new Browser(server.url), url: server.url };
}

function counter(app: Express): void {
  app.get("/count", (req, res) => {
    const count = (req.session.get<number>("count") ?? 0) + 1;
    req.session.set("count", count);
    res.send(String(count));
  });
}

describe("sessions over real HTTP", () => {
  it("makes no store call without a session cookie, and a handler that ignores the session sends neither Set-Cookie nor Vary", async () => {
    const { store, browser } = await start((app) => app.get("/", (_req, res) => res.send("hi")));
    const { response, body } = await browser.text("/");
    expect(body).toBe("hi");
    expect(store.total).toBe(0);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(response.headers.get("vary")).toBeNull();
  });

  it("counts across requests with one store read per request", async () => {
    const { store, browser } = await start(counter);
    for (let i = 1; i <= 3; i++) expect((await browser.text("/count")).body).toBe(String(i));
    expect(store.calls).toMatchObject({ create: 1, get: 2, update: 2 });
    expect(browser.cookies.get("sessionid")).toMatch(/^[a-z0-9]{32}$/);
  });

  it("adds Vary: Cookie when the session was only read, keeping the app's own Vary", async () => {
    const { browser } = await start((app) =>
      app.get("/read", (req, res) => {
        res.vary("Accept-Encoding");
        res.send(String(req.session.get("x") ?? "none"));
      }),
    );
    const { response, body } = await browser.text("/read");
    expect(body).toBe("none");
    expect(response.headers.get("vary")).toBe("Accept-Encoding, Cookie");
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it("treats a tampered or garbage cookie as no session, and deletes it", async () => {
    const { store, browser } = await start((app) =>
      app.get("/who", (req, res) => res.send(String(req.session.get("count") ?? "anonymous"))),
    );
    for (const value of ["garbage", "a".repeat(32), "../../etc/passwd", "x".repeat(5000)]) {
      browser.cookies.set("sessionid", value);
      const { response, body } = await browser.text("/who");
      expect(response.status).toBe(200);
      expect(body).toBe("anonymous");
      const [deletion] = response.headers.getSetCookie();
      expect(parseSetCookie(deletion ?? "").attributes.get("max-age")).toBe("0");
    }
    // Only the well-formed unknown key reached the store.
    expect(store.calls.get).toBe(1);
  });

  it("saves nothing when the handler fails with a 5xx (LIFE-17)", async () => {
    const { store, browser } = await start((app) => {
      counter(app);
      app.get("/boom", (req) => {
        req.session.set("half-done", true);
        throw new Error("boom");
      });
      app.get("/five-oh-three", (req, res) => {
        req.session.set("half-done", true);
        res.status(503).send("later");
      });
    });
    await browser.text("/count");
    store.reset();
    const before = browser.cookies.get("sessionid");
    for (const path of ["/boom", "/five-oh-three"]) {
      const { response } = await browser.text(path);
      expect(response.status).toBeGreaterThanOrEqual(500);
      expect(response.headers.getSetCookie()).toEqual([]);
    }
    expect(store.calls).toMatchObject({ create: 0, update: 0, touch: 0, delete: 0 });
    expect(browser.cookies.get("sessionid")).toBe(before);
    expect((await browser.text("/count")).body).toBe("2");
  });

  it("routes a store outage while loading to Express's error handler", async () => {
    const { store, browser } = await start(counter);
    await browser.text("/count");
    store.down.add("get");
    const { response, body } = await browser.text("/count");
    expect(response.status).toBe(503);
    expect(body).toContain("handled:");
    expect(PorterError.is(errors[0], "STORE_UNAVAILABLE")).toBe(true);
  });

  it("routes a store outage while committing to Express's error handler, with nothing of the dropped response", async () => {
    const { store, browser } = await start(counter);
    await browser.text("/count");
    store.down.add("update");
    const { response, body } = await browser.text("/count");
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(body).toBe(`handled: ${(errors[0] as Error).message}`);
    expect(response.headers.getSetCookie()).toEqual([]);
    store.down.clear();
    expect((await browser.text("/count")).body).toBe("2");
  });

  it("drops a piped response whose commit failed and hands the request to the error handler", async () => {
    const { store, browser } = await start((app) => {
      counter(app);
      app.get("/stream", (req, res) => {
        req.session.set("streamed", true);
        res.type("text/plain");
        Readable.from(Array.from({ length: 50 }, (_, i) => `line ${i}\n`)).pipe(res);
      });
    });
    await browser.text("/count");
    store.down.add("update");
    const { response, body } = await browser.text("/stream");
    expect(response.status).toBe(503);
    expect(body).toBe(`handled: ${(errors[0] as Error).message}`);
    expect(response.headers.get("content-length")).toBe(String(body.length));
  });

  it("answers 400 when a concurrent request ended the session before this one saved it (SM-6)", async () => {
    const held = gate();
    const { store, browser } = await start((app) => {
      counter(app);
      app.get("/slow", async (req, res) => {
        req.session.set("late", true);
        await held.promise;
        res.send("saved?");
      });
      app.get("/end", (req, res) => {
        req.session.flush();
        res.send("ended");
      });
    });
    await browser.text("/count");
    const slow = browser.text("/slow");
    await expect.poll(() => store.calls.get).toBe(1);
    const ended = await browser.text("/end");
    expect(ended.body).toBe("ended");
    held.open();
    const { response, body } = await slow;
    expect(response.status).toBe(400);
    expect(body).toContain("The request's session was deleted before the request completed.");
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it("lets the app answer an interrupted session itself", async () => {
    const held = gate();
    const { store, browser } = await start(
      (app) => {
        counter(app);
        app.get("/slow", async (req, res) => {
          req.session.set("late", true);
          await held.promise;
          res.send("saved?");
        });
        app.get("/end", (req, res) => {
          req.session.flush();
          res.send("ended");
        });
      },
      { onInterrupted: (error, _req, res) => void res.status(409).json({ code: error.code }) },
    );
    await browser.text("/count");
    const slow = browser.text("/slow");
    await expect.poll(() => store.calls.get).toBe(1);
    await browser.text("/end");
    held.open();
    const { response, body } = await slow;
    expect(response.status).toBe(409);
    expect(JSON.parse(body)).toEqual({ code: "SESSION_INTERRUPTED" });
  });
});

describe("the session is committed before the first byte, however the response is sent", () => {
  function sessionCookieOf(response: Response) {
    return response.headers
      .getSetCookie()
      .map(parseSetCookie)
      .find((cookie) => cookie.name === "sessionid");
  }

  const styles: [string, (app: Express) => void, (response: Response, body: string) => void][] = [
    [
      "send",
      (app) => app.get("/r", (_req, res) => void res.send("plain")),
      (_r, body) => expect(body).toBe("plain"),
    ],
    [
      "json",
      (app) => app.get("/r", (_req, res) => void res.json({ ok: true })),
      (r, body) => {
        expect(r.headers.get("content-type")).toMatch(/^application\/json/);
        expect(JSON.parse(body)).toEqual({ ok: true });
      },
    ],
    [
      "redirect",
      (app) => app.get("/r", (_req, res) => res.redirect("/elsewhere")),
      (r) => {
        expect(r.status).toBe(302);
        expect(r.headers.get("location")).toBe("/elsewhere");
      },
    ],
    [
      "res.write chunks, then end",
      (app) =>
        app.get("/r", async (_req, res) => {
          res.setHeader("Content-Type", "text/plain");
          res.write("one,");
          await new Promise((resolve) => setTimeout(resolve, 5));
          res.write("two,");
          res.end("three");
        }),
      (r, body) => {
        expect(r.headers.get("transfer-encoding")).toBe("chunked");
        expect(body).toBe("one,two,three");
      },
    ],
    [
      "pipe of a readable stream",
      (app) =>
        app.get("/r", (_req, res) => {
          res.type("text/plain");
          Readable.from(Array.from({ length: 200 }, (_, i) => `line ${i}\n`)).pipe(res);
        }),
      (_r, body) => {
        expect(body.split("\n")).toHaveLength(201);
        expect(body.startsWith("line 0\nline 1\n")).toBe(true);
      },
    ],
    [
      "sendFile",
      (app) => app.get("/r", (_req, res) => res.sendFile(join(dir, "hello.txt"))),
      (r, body) => {
        expect(r.headers.get("content-length")).toBe("18");
        expect(body).toBe("hello from a file\n");
      },
    ],
    [
      "204",
      (app) => app.get("/r", (_req, res) => void res.sendStatus(204)),
      (r, body) => {
        expect(r.status).toBe(204);
        expect(body).toBe("");
      },
    ],
    [
      "writeHead with its own headers, Set-Cookie among them",
      (app) =>
        app.get("/r", (_req, res) => {
          res.cookie("early", "1");
          res.writeHead(201, {
            "Content-Type": "text/plain",
            "Set-Cookie": "theme=dark; Path=/",
            Vary: "Accept",
          });
          res.end("created");
        }),
      (r, body) => {
        expect(r.status).toBe(201);
        expect(body).toBe("created");
        expect(r.headers.get("vary")).toBe("Accept, Cookie");
        expect(r.headers.getSetCookie().map((c) => parseSetCookie(c).name)).toEqual(["theme", "sessionid"]);
      },
    ],
    [
      "writeHead with a flat header list naming Set-Cookie twice",
      (app) =>
        app.get("/r", (_req, res) => {
          res.writeHead(200, "Fine", ["Set-Cookie", "a=1; Path=/", "Set-Cookie", "b=2; Path=/"]);
          res.end("listed");
        }),
      (r, body) => {
        expect(r.statusText).toBe("Fine");
        expect(body).toBe("listed");
        expect(r.headers.getSetCookie().map((c) => parseSetCookie(c).name)).toEqual(["a", "b", "sessionid"]);
      },
    ],
    [
      "flushHeaders, then a late body",
      (app) =>
        app.get("/r", async (_req, res) => {
          res.flushHeaders();
          await new Promise((resolve) => setTimeout(resolve, 5));
          res.end("late");
        }),
      (_r, body) => expect(body).toBe("late"),
    ],
    [
      "res.cookie before send keeps both cookies",
      (app) =>
        app.get("/r", (_req, res) => {
          res.cookie("theme", "light");
          res.send("two cookies");
        }),
      (r) =>
        expect(r.headers.getSetCookie().map((c) => parseSetCookie(c).name)).toEqual(["theme", "sessionid"]),
    ],
  ];

  for (const [name, route, check] of styles) {
    it(name, async () => {
      const { store, browser } = await start((app) => {
        app.use("/r", (req, _res, next) => {
          req.session.set("visited", name);
          next();
        });
        route(app);
        app.get("/check", (req, res) => void res.send(String(req.session.get("visited"))));
      });
      const { response, body } = await browser.text("/r");
      check(response, body);
      const cookie = sessionCookieOf(response);
      expect(cookie?.value).toMatch(/^[a-z0-9]{32}$/);
      expect(response.headers.get("vary")).toMatch(/Cookie/);
      expect(store.calls.create).toBe(1);
      expect((await browser.text("/check")).body).toBe(name);
    });
  }

  it("HEAD", async () => {
    const { browser } = await start((app) => {
      app.get("/r", (req, res) => {
        req.session.set("visited", "head");
        res.send("a body HEAD does not send");
      });
      app.get("/check", (req, res) => void res.send(String(req.session.get("visited"))));
    });
    const response = await browser.fetch("/r", { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
    expect(sessionCookieOf(response)?.value).toMatch(/^[a-z0-9]{32}$/);
    expect((await browser.text("/check")).body).toBe("head");
  });

  it("refuses header changes once the response is held, as Node does once headers are sent", async () => {
    const seen: string[] = [];
    const { browser } = await start((app) =>
      app.get("/r", (req, res) => {
        req.session.set("x", 1);
        res.send("first");
        seen.push(String(res.headersSent));
        try {
          res.send("second");
        } catch (error) {
          seen.push((error as { code?: string }).code ?? "?");
        }
      }),
    );
    const { response, body } = await browser.text("/r");
    expect(body).toBe("first");
    expect(response.headers.get("content-length")).toBe("5");
    expect(seen).toEqual(["true", "ERR_HTTP_HEADERS_SENT"]);
  });

  it("works under a middleware that wraps writeHead/write/end after it, as compression does", async () => {
    const { browser } = await start((app) => {
      app.use((_req, res, next) => {
        // compression's shape: headers decided in writeHead, `_implicitHeader()` before every
        // write while `_header` is unset, and the body transformed on its way through.
        const raw = res as unknown as { _header: unknown; _implicitHeader(): void };
        const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => unknown;
        const write = res.write.bind(res) as (...args: unknown[]) => boolean;
        const end = res.end.bind(res) as (...args: unknown[]) => unknown;
        const upper = (chunk: unknown) => String(chunk).toUpperCase();
        res.writeHead = ((...args: unknown[]) => {
          res.setHeader("X-Transformed", "upper");
          res.removeHeader("Content-Length");
          return writeHead(...args);
        }) as typeof res.writeHead;
        res.write = ((chunk: unknown, ...rest: unknown[]) => {
          if (!raw._header) raw._implicitHeader();
          return write(upper(chunk), ...rest);
        }) as typeof res.write;
        res.end = ((chunk?: unknown, ...rest: unknown[]) => {
          if (!raw._header) raw._implicitHeader();
          return chunk === undefined || typeof chunk === "function"
            ? end(chunk, ...rest)
            : end(upper(chunk), ...rest);
        }) as typeof res.end;
        next();
      });
      app.get("/r", (req, res) => {
        req.session.set("x", 1);
        res.write("streamed ");
        res.write("and ");
        res.end("wrapped");
      });
      app.get("/after", (req, res) => void res.send(`x=${req.session.get("x")}`));
    });
    const { response, body } = await browser.text("/r");
    expect(body).toBe("STREAMED AND WRAPPED");
    expect(response.headers.get("x-transformed")).toBe("upper");
    expect(sessionCookieOf(response)).toBeDefined();
    expect((await browser.text("/after")).body).toBe("X=1");
  });

  it("works under a middleware that wrapped res.write/res.end before it", async () => {
    const store = countingStore();
    const app = express();
    const ended: string[] = [];
    app.use((_req, res, next) => {
      const end = res.end.bind(res) as (...args: unknown[]) => unknown;
      res.end = ((...args: unknown[]) => {
        ended.push(String(res.getHeader("set-cookie")));
        return end(...args);
      }) as typeof res.end;
      next();
    });
    app.use(porter({ sessions: createSessionEngine({ store, cookie: { secure: false } }) }));
    app.get("/r", (req, res) => {
      req.session.set("x", 1);
      res.send("wrapped first");
    });
    const server = await listen(app);
    closers.push(server.close);
    const browser = new Browser(server.url);
    const { response, body } = await browser.text("/r");
    expect(body).toBe("wrapped first");
    expect(sessionCookieOf(response)).toBeDefined();
    // The earlier wrapper ran once, after the commit, and saw the session cookie.
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatch(/^sessionid=/);
  });
});
