import { randomBytes } from "node:crypto";
import { DJANGO_SIGNED_COOKIES_SALT, dumpsPayload, type Message } from "@porter/core";
import { describe, expect, it } from "vitest";
import { createCookieMessageStorage, MESSAGES_NOT_FINISHED, storedCookieLength } from "../src/index.js";
import { badInputs, context, OLD_SECRET, SECRET } from "./helpers.js";

const storage = (options: Partial<Parameters<typeof createCookieMessageStorage>[0]> = {}) =>
  createCookieMessageStorage({ secret: SECRET, ...options });

/** Five messages sized so four fit in the default 2048 bytes (with the sentinel) and five do not. */
async function fiveWhereFourFit(): Promise<Message[]> {
  for (let length = 100; length < 1000; length += 5) {
    const messages = [...Array(5)].map((_, i) => ({
      level: 20,
      message: `${i}:${randomBytes(length).toString("base64url").slice(0, length)}`,
    }));
    const unstored = await storage().store(context(), messages);
    if (unstored.length === 1) return messages;
  }
  throw new Error("no size found");
}

async function cookieFor(texts: readonly string[]): Promise<string> {
  const ctx = context();
  const unstored = await storage().store(
    ctx,
    texts.map((message) => ({ level: 20, message })),
  );
  expect(unstored).toEqual([]);
  return ctx.cookies.sent("messages")!;
}

describe("bad-inputs.json message-cookie", () => {
  for (const entry of badInputs("message-cookie")) {
    it(entry.id, async () => {
      switch (entry.id) {
        case "MSG-002": {
          // {{SIGN_JSON_SALT:session:…}}: Django's session salt and SECRET_KEY.
          const value = dumpsPayload('[["__json_message",0,20,"hi"]]', {
            key: SECRET,
            salt: DJANGO_SIGNED_COOKIES_SALT,
            compress: true,
          });
          const ctx = context({ messages: value });
          expect(await storage().load(ctx)).toEqual({
            messages: [],
            allRetrieved: true,
            present: false,
            corrupt: true,
          });
          expect(ctx.cookies.sent("messages")).toBeNull();
          return;
        }
        case "MSG-003":
        case "MSG-005": {
          const texts = JSON.parse(/^\{\{MSG_COOKIE_FOR:([\s\S]*)\}\}$/.exec(entry.value)![1]!) as string[];
          const value = await cookieFor(texts);
          expect(value).not.toMatch(/[\\,;"\s]/);
          const loaded = await storage().load(context({ messages: value }));
          expect(loaded.messages.map((m) => m.message)).toEqual(texts);
          for (const m of loaded.messages) expect(m.safe).toBe(false);
          return;
        }
        case "MSG-007": {
          const messages = await fiveWhereFourFit();
          const ctx = context();
          const unstored = await storage().store(ctx, messages);
          expect(unstored).toEqual([messages[0]]);
          const loaded = await storage().load(context({ messages: ctx.cookies.sent("messages")! }));
          expect(loaded.messages.map((m) => m.message)).toEqual(messages.slice(1).map((m) => m.message));
          expect(loaded.allRetrieved).toBe(false);
          // Inside a fallback storage the cookie keeps the oldest four and hands the newest on.
          const inFallback = context();
          expect(await storage().store(inFallback, messages, { removeOldest: false })).toEqual([messages[4]]);
          const kept = await storage().load(context({ messages: inFallback.cookies.sent("messages")! }));
          expect(kept.messages.map((m) => m.message)).toEqual(messages.slice(0, 4).map((m) => m.message));
          return;
        }
        case "MSG-008":
        case "MSG-010": {
          const json = /^\{\{SIGN_JSON_SALT:messages:([\s\S]*)\}\}$/.exec(entry.value)![1]!;
          const value = createCookieMessageStorageSigner(json);
          const ctx = context({ messages: value });
          const loaded = await storage().load(ctx);
          expect(loaded.messages).toEqual([]);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          if (entry.id === "MSG-008") {
            expect(loaded.present).toBe(false);
            expect(ctx.cookies.sent("messages")).toBeNull();
          } else {
            // A list, so a valid cookie; the element that is no message is dropped.
            expect(loaded.present).toBe(true);
          }
          return;
        }
        case "MSG-012":
        case "MSG-013": {
          const started = performance.now();
          const loaded = await storage().load(context({ messages: entry.value }));
          expect(loaded.messages).toEqual([]);
          expect(loaded.present).toBe(false);
          expect(performance.now() - started).toBeLessThan(50);
          return;
        }
        default:
          throw new Error(`no test for ${entry.id}`);
      }
    });
  }
});

/** `{{SIGN_JSON_SALT:messages:…}}`: the JSON signed as Django's CookieStorage signs. */
function createCookieMessageStorageSigner(json: string): string {
  return dumpsPayload(json, {
    key: `django.http.cookies${SECRET}`,
    salt: "django.contrib.messages",
    compress: true,
  });
}

describe("cookie message storage", () => {
  it("round-trips level, text, extra tags ('' and null kept apart) and the safe flag", async () => {
    const ctx = context();
    const messages: Message[] = [
      { level: 25, message: "saved", extraTags: "", safe: false },
      { level: 40, message: "<b>boom</b>", extraTags: "a b", safe: true },
      { level: 99, message: "custom", extraTags: null, safe: false },
    ];
    await storage().store(ctx, messages);
    const loaded = await storage().load(context({ messages: ctx.cookies.sent("messages")! }));
    expect(loaded).toEqual({ messages, allRetrieved: true, present: true });
  });

  it("drop-empty writes Django 3.2's bytes: '' reads back as null", async () => {
    const ctx = context();
    await storage({ extraTags: "drop-empty" }).store(ctx, [{ level: 20, message: "x", extraTags: "" }]);
    const loaded = await storage().load(context({ messages: ctx.cookies.sent("messages")! }));
    expect(loaded.messages[0]?.extraTags).toBeNull();
  });

  it("an empty store deletes the cookie with the session cookie's attributes (MC-9, MC-10)", async () => {
    const cookieOptions = {
      domain: "example.com",
      path: "/app",
      secure: true,
      httpOnly: true,
      sameSite: "Strict" as const,
      maxAge: 999,
    };
    const s = storage({ cookieOptions });
    const ctx = context({ messages: "whatever" });
    await s.store(ctx, [{ level: 20, message: "hi" }]);
    const { maxAge: _m, ...attributes } = cookieOptions;
    expect(ctx.cookies.outgoing.get("messages")?.options).toEqual(attributes);
    await s.store(ctx, []);
    expect(ctx.cookies.outgoing.get("messages")).toEqual({ value: null, options: attributes });
  });

  it("a cookie holding only the sentinel is valid: no messages, more waiting elsewhere (MC-7)", async () => {
    const ctx = context();
    const unstored = await storage().store(ctx, [{ level: 20, message: randomBytes(3000).toString("hex") }]);
    expect(unstored).toHaveLength(1);
    expect(await storage().load(context({ messages: ctx.cookies.sent("messages")! }))).toEqual({
      messages: [],
      allRetrieved: false,
      present: true,
    });
  });

  it("measures the value as SimpleCookie quotes it (MC-5)", () => {
    expect(storedCookieLength("abc:def.ghi-_")).toBe(13);
    expect(storedCookieLength('a b"c\\')).toBe(2 + 1 + 1 + 1 + 2 + 1 + 2);
    expect(storedCookieLength("a\u0001é")).toBe(2 + 1 + 4 + 4);
  });

  it("maxCookieSize 0 turns the limit off; a small limit overflows earlier", async () => {
    const messages = [...Array(40)].map((_, i) => ({
      level: 20,
      message: `${i} ${randomBytes(60).toString("hex")}`,
    }));
    expect(await storage({ maxCookieSize: 0 }).store(context(), messages)).toEqual([]);
    const unstored = await storage({ maxCookieSize: 500 }).store(context(), messages);
    expect(unstored.length).toBeGreaterThan(30);
    expect(unstored).toEqual(messages.slice(0, unstored.length));
  });

  it("reads cookies signed with a fallback secret; refuses them once the secret is removed", async () => {
    const ctx = context();
    await storage({ secret: OLD_SECRET }).store(ctx, [{ level: 20, message: "old" }]);
    const value = ctx.cookies.sent("messages")!;
    expect(
      (await storage({ fallbackSecrets: [OLD_SECRET] }).load(context({ messages: value }))).messages[0]
        ?.message,
    ).toBe("old");
    expect((await storage().load(context({ messages: value }))).present).toBe(false);
  });

  it("maxAge bounds replay of a captured cookie; Django's default never checks it", async () => {
    let now = Date.now();
    const ctx = context();
    await storage({ clock: () => now }).store(ctx, [{ level: 20, message: "once" }]);
    const value = ctx.cookies.sent("messages")!;
    now += 3_600_000;
    expect((await storage({ clock: () => now }).load(context({ messages: value }))).messages).toHaveLength(1);
    const events: unknown[] = [];
    const bounded = storage({ clock: () => now, maxAge: 600, onEvent: (e) => events.push(e) });
    const replay = context({ messages: value });
    expect((await bounded.load(replay)).messages).toEqual([]);
    expect(replay.cookies.sent("messages")).toBeNull();
    expect(events).toEqual([{ type: "expired" }, { type: "invalid" }]);
  });

  it("refuses bad configuration", () => {
    expect(() => storage({ name: "bad name" })).toThrow(/cookie name/);
    expect(() => storage({ cookieOptions: { sameSite: "None", secure: false } })).toThrow(/SameSite=None/);
    expect(() => storage({ maxCookieSize: -1 })).toThrow(/maxCookieSize/);
    expect(() => storage({ extraTags: "keep" as "keep-empty" })).toThrow(/extraTags/);
  });

  it("a tampered cookie is no messages and is deleted at once (MC-11, MSG-01)", async () => {
    const ctx = context();
    await storage().store(ctx, [{ level: 20, message: "hi" }]);
    const value = ctx.cookies.sent("messages")!;
    for (const probe of [value.slice(1), `${value}x`, value.toUpperCase(), value.replace(":", ".")]) {
      const c = context({ messages: probe });
      expect(await storage().load(c)).toEqual({
        messages: [],
        allRetrieved: true,
        present: false,
        corrupt: true,
      });
      expect(c.cookies.sent("messages")).toBeNull();
    }
  });

  it("the sentinel in the middle of a list, and odd elements, are dropped", async () => {
    const json = `[["__json_message",0,20,"a"],"${MESSAGES_NOT_FINISHED}",["__json_message",2,20,"b"],["__json_message",1,20,"c",7],["__json_message",0,20.5,"d"],["__json_message",1,30,"e",null]]`;
    const loaded = await storage().load(context({ messages: createCookieMessageStorageSigner(json) }));
    expect(loaded.messages).toEqual([
      { level: 20, message: "a", extraTags: null, safe: false },
      { level: 30, message: "e", extraTags: null, safe: true },
    ]);
  });
});
