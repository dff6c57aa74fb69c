import {
  createFallbackStorage,
  createSessionEngine,
  createSessionMessageStorage,
  type Message,
  type MessageStorage,
  WARNING,
} from "@porter/core";
import express, { type ErrorRequestHandler } from "express";
import { afterEach, describe, expect, it } from "vitest";
import { type PorterMessagesOptions, porter } from "../src/index.js";
import { withPorter } from "../src/web.js";
import { Browser, countingStore, listen, parseSetCookie } from "./helpers.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/**
 * A deliberately small cookie storage (plain base64url JSON, at most `limit` messages) so the
 * cookie jar's path is exercised; `@porter/cookie` has the signed, Django-compatible one.
 */
function tinyCookieStorage(limit: number): MessageStorage {
  return {
    name: "tiny-cookie",
    async load(ctx) {
      const raw = ctx.cookies.get("flash");
      if (raw === undefined) return { messages: [], allRetrieved: true, present: false };
      const parsed = JSON.parse(Buffer.from(raw, "base64url").toString()) as { m: Message[]; more: boolean };
      return { messages: parsed.m, allRetrieved: !parsed.more, present: true };
    },
    async store(ctx, messages) {
      if (messages.length === 0) {
        if (ctx.cookies.get("flash") !== undefined) ctx.cookies.delete("flash", { path: "/" });
        return [];
      }
      const kept = messages.slice(0, limit);
      const value = { m: kept, more: messages.length > limit };
      ctx.cookies.set("flash", Buffer.from(JSON.stringify(value)).toString("base64url"), {
        path: "/",
        httpOnly: true,
      });
      return messages.slice(limit);
    },
  };
}

async function start(messages?: PorterMessagesOptions) {
  const store = countingStore();
  const sessions = createSessionEngine({ store, cookie: { secure: false } });
  const errors: unknown[] = [];
  const app = express();
  app.use(porter({ sessions, ...(messages === undefined ? {} : { messages }) }));
  app.post("/save", (req, res) => {
    req.messages.success("Saved.");
    req.messages.debug("below the level: dropped");
    req.messages.add(WARNING, "Careful.", { extraTags: "sticky" });
    res.redirect(303, "/show");
  });
  app.post("/many/:n", (req, res) => {
    for (let i = 0; i < Number(req.params.n); i++) req.messages.info(`message ${i}`);
    res.sendStatus(204);
  });
  app.get("/show", async (req, res) => {
    res.json((await req.messages.list()).map((m) => ({ text: String(m), tags: m.tags })));
  });
  app.get("/quiet", (_req, res) => void res.send("no messages read"));
  app.use(((error, _req, res, _next) => {
    errors.push(error);
    res.status(500).send("error");
  }) satisfies ErrorRequestHandler);
  const server = await listen(app);
  closers.push(server.close);
  return { browser: new Browser(server.url), store, errors };
}

describe("messages through Express", () => {
  it("shows messages once, on the next request, with their tags (session storage)", async () => {
    const { browser } = await start({ storage: createSessionMessageStorage() });
    const saved = await browser.fetch("/save", { method: "POST" });
    expect(saved.status).toBe(303);
    expect(await (await browser.fetch("/show")).json()).toEqual([
      { text: "Saved.", tags: "success" },
      { text: "Careful.", tags: "sticky warning" },
    ]);
    expect(await (await browser.fetch("/show")).json()).toEqual([]);
  });

  it("keeps unread messages for a later request", async () => {
    const { browser } = await start({ storage: createSessionMessageStorage() });
    await browser.fetch("/save", { method: "POST" });
    expect(await (await browser.fetch("/quiet")).text()).toBe("no messages read");
    expect(await (await browser.fetch("/quiet")).text()).toBe("no messages read");
    expect(await (await browser.fetch("/show")).json()).toHaveLength(2);
  });

  it("honours the configured level", async () => {
    const { browser } = await start({ storage: createSessionMessageStorage(), level: WARNING });
    await browser.fetch("/save", { method: "POST" });
    expect(await (await browser.fetch("/show")).json()).toEqual([
      { text: "Careful.", tags: "sticky warning" },
    ]);
  });

  it("writes cookie storages through the request's cookie jar, overflowing into the session", async () => {
    const { browser, store } = await start({
      storage: createFallbackStorage([tinyCookieStorage(2), createSessionMessageStorage()]),
    });
    const few = await browser.fetch("/many/2", { method: "POST" });
    expect(few.headers.getSetCookie().map((c) => parseSetCookie(c).name)).toEqual(["flash"]);
    expect(store.total).toBe(0);
    expect(await (await browser.fetch("/show")).json()).toHaveLength(2);
    expect(browser.cookies.has("flash")).toBe(false);

    const many = await browser.fetch("/many/5", { method: "POST" });
    expect(many.headers.getSetCookie().map((c) => parseSetCookie(c).name)).toEqual(["flash", "sessionid"]);
    const shown = (await (await browser.fetch("/show")).json()) as { text: string }[];
    expect(shown.map((m) => m.text)).toEqual([
      "message 0",
      "message 1",
      "message 2",
      "message 3",
      "message 4",
    ]);
    expect(await (await browser.fetch("/show")).json()).toEqual([]);
  });

  it("without the messages option, using req.messages is an error (Django's MessageFailure)", async () => {
    const { browser, errors } = await start();
    const response = await browser.fetch("/save", { method: "POST" });
    expect(response.status).toBe(500);
    expect((errors[0] as { code?: string }).code).toBe("INVALID_CONFIG");
  });
});

describe("messages through the web binding", () => {
  it("adds on one request and shows once on the next", async () => {
    const sessions = createSessionEngine({ store: countingStore(), cookie: { secure: false } });
    const handle = withPorter(
      async (request, porter) => {
        if (request.method === "POST") {
          porter.messages.info("Welcome back.");
          return new Response(null, { status: 204 });
        }
        return Response.json((await porter.messages.list()).map(String));
      },
      { sessions, messages: { storage: createSessionMessageStorage() } },
    );
    const added = await handle(new Request("http://app.test/", { method: "POST" }));
    const cookie = added.headers.getSetCookie()[0]!.split(";")[0]!;
    const get = () => handle(new Request("http://app.test/", { headers: { cookie } }));
    expect(await (await get()).json()).toEqual(["Welcome back."]);
    expect(await (await get()).json()).toEqual([]);
  });
});
