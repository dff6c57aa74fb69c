import { describe, expect, it } from "vitest";
import { describeMessageStorage } from "../src/conformance/message-storage.js";
import {
  ConfigError,
  type CookieJar,
  createFallbackStorage,
  createMemorySessionStore,
  createMessages,
  createSessionEngine,
  createSessionMessageStorage,
  DEBUG,
  DEFAULT_TAGS,
  decodeMessagesJson,
  ERROR,
  encodeMessagesJson,
  INFO,
  InvalidArgumentError,
  levelTag,
  levelTags,
  type Message,
  type MessageLoadResultWithCorruption,
  type MessageStorage,
  messagesEqual,
  messagesFromJson,
  messageTags,
  messageToJson,
  type RequestContext,
  type Session,
  SUCCESS,
  WARNING,
} from "../src/index.js";
import { vectorsOf } from "./vectors.js";

interface Vector {
  id: string;
  kind: string;
  django_version: string;
  inputs: Record<string, unknown>;
  expected: unknown;
}
const ofKind = (kind: string) => vectorsOf(kind) as unknown as Vector[];

// ---------------------------------------------------------------------------------------------
// A small cookie storage of this test's own (unsigned), sized in bytes, with Django's sentinel
// for "more messages wait in the next storage". The real one lives in @porter/cookie.
// ---------------------------------------------------------------------------------------------

const NOT_FINISHED = "__messagesnotfinished__";

function testCookieStorage(maxBytes = 400): MessageStorage & { writes: number } {
  const encode = (messages: readonly Message[], notFinished: boolean) =>
    Buffer.from(
      JSON.stringify([...messages.map((m) => messageToJson(m)), ...(notFinished ? [NOT_FINISHED] : [])]),
    ).toString("base64url");
  const storage = {
    name: "test-cookie",
    writes: 0,
    async load(ctx: RequestContext): Promise<MessageLoadResultWithCorruption> {
      const raw = ctx.cookies.get("messages");
      if (raw === undefined) return { messages: [], allRetrieved: true, present: false };
      let list: unknown;
      try {
        list = JSON.parse(Buffer.from(raw, "base64url").toString());
      } catch {
        return { messages: [], allRetrieved: true, present: true, corrupt: true };
      }
      const notFinished = Array.isArray(list) && list.at(-1) === NOT_FINISHED;
      const messages = messagesFromJson(notFinished ? (list as unknown[]).slice(0, -1) : list, {
        trustSafe: false,
      });
      if (messages === null) return { messages: [], allRetrieved: true, present: true, corrupt: true };
      return { messages, allRetrieved: !notFinished, present: true };
    },
    async store(ctx: RequestContext, messages: readonly Message[], options?: { removeOldest?: boolean }) {
      storage.writes++;
      if (messages.length === 0) {
        ctx.cookies.delete("messages");
        return [];
      }
      const kept = [...messages];
      const unstored: Message[] = [];
      while (kept.length > 0 && encode(kept, unstored.length > 0).length > maxBytes) {
        if (options?.removeOldest ?? true) unstored.push(kept.shift()!);
        else unstored.unshift(kept.pop()!);
      }
      ctx.cookies.set("messages", encode(kept, unstored.length > 0));
      return unstored;
    },
  };
  return storage;
}

/** One request: a cookie jar over a shared browser, and a session from the real engine. */
async function browser() {
  const engine = createSessionEngine({ store: createMemorySessionStore() });
  const cookies = new Map<string, string>();
  let sessionKey: string | null = null;
  let current: Session | undefined;
  return {
    cookies,
    async request(): Promise<RequestContext & { session: Session }> {
      if (current !== undefined) sessionKey = (await engine.commit(current)).key;
      current = await engine.load(sessionKey ?? undefined);
      const incoming = new Map(cookies);
      const jar: CookieJar = {
        get: (name) => incoming.get(name),
        set: (name, value) => void cookies.set(name, value),
        delete: (name) => void cookies.delete(name),
      };
      return { cookies: jar, session: current };
    },
  };
}

const plain = (m: Message) => [m.level, m.message, m.extraTags ?? null];

describeMessageStorage("session", { create: () => createSessionMessageStorage() });
describeMessageStorage("fallback(test-cookie, session)", {
  create: () => createFallbackStorage([testCookieStorage(), createSessionMessageStorage()]),
});
describeMessageStorage("test-cookie (the double used below)", { create: () => testCookieStorage() });

describe("levels and tags", () => {
  it("has Django's levels and default tags (MS-1)", () => {
    expect([DEBUG, INFO, SUCCESS, WARNING, ERROR]).toEqual([10, 20, 25, 30, 40]);
    expect(DEFAULT_TAGS).toEqual({ 10: "debug", 20: "info", 25: "success", 30: "warning", 40: "error" });
    const custom = levelTags({ 20: "custom", 29: "important", 40: "" });
    expect(levelTag(20, custom)).toBe("custom");
    expect(levelTag(29, custom)).toBe("important");
    expect(levelTag(40, custom)).toBe("");
    expect(levelTag(30, custom)).toBe("warning");
    expect(levelTag(29)).toBe("");
    expect(() => levelTags({ ["x" as never]: "bad" })).toThrow(ConfigError);
  });

  it("tags are the extra tags then the level tag, empty ones left out (MS-4)", () => {
    const tags = [
      { level: INFO, message: "a", extraTags: "" },
      { level: 29, message: "b", extraTags: "" },
      { level: DEBUG, message: "c", extraTags: "extra-tag" },
      { level: WARNING, message: "d", extraTags: null },
      { level: ERROR, message: "e" },
      { level: SUCCESS, message: "f", extraTags: "" },
    ].map((m) => messageTags(m));
    expect(tags).toEqual(["info", "", "extra-tag debug", "warning", "error", "success"]);
  });

  it("messages are equal when level and text are, whatever their extra tags (MS-5)", () => {
    expect(messagesEqual({ level: 20, message: "a", extraTags: "x" }, { level: 20, message: "a" })).toBe(
      true,
    );
    expect(messagesEqual({ level: 20, message: "a" }, { level: 25, message: "a" })).toBe(false);
    expect(messagesEqual({ level: 20, message: "a" }, { level: 20, message: "b" })).toBe(false);
  });
});

describe("the per-request messages API", () => {
  it("records at INFO and above by default; the level can be changed per request and reset (MS-2)", async () => {
    const b = await browser();
    const ctx = await b.request();
    const storage = createSessionMessageStorage();
    const count = (m: ReturnType<typeof createMessages>) =>
      [m.debug("1"), m.info("2"), m.success("3"), m.warning("4"), m.error("5"), m.add(29, "6")].filter(
        Boolean,
      ).length;
    expect(count(createMessages(storage, ctx))).toBe(5);
    const low = createMessages(storage, ctx);
    low.level = 5;
    expect(count(low)).toBe(6);
    const high = createMessages(storage, ctx);
    high.level = WARNING;
    expect(count(high)).toBe(2);
    high.level = null;
    expect(high.level).toBe(INFO);
    expect(count(createMessages(storage, ctx, { level: 29 }))).toBe(3);
    expect(() => {
      high.level = Number.NaN;
    }).toThrow(InvalidArgumentError);
  });

  it('ignores empty messages, truncates levels, defaults extra tags to "" (MS-3)', async () => {
    const b = await browser();
    const messages = createMessages(createSessionMessageStorage(), await b.request());
    expect(messages.add(INFO, "")).toBe(false);
    expect(messages.addedNew).toBe(false);
    expect(messages.add(25.9, "rounded down")).toBe(true);
    expect(() => messages.add(Number.POSITIVE_INFINITY, "x")).toThrow(InvalidArgumentError);
    expect(() => messages.add("20" as never, "x")).toThrow(InvalidArgumentError);
    expect((await messages.list()).map((m) => [m.level, m.extraTags, m.tags])).toEqual([[25, "", "success"]]);
  });

  it("reading marks the messages used, moves new ones into the list, and reads the same twice (MS-6)", async () => {
    const b = await browser();
    const storage = createSessionMessageStorage();
    const first = createMessages(storage, await b.request());
    first.info("stored");
    await first.commit();
    const messages = createMessages(storage, await b.request());
    expect(() => [...messages]).toThrow(InvalidArgumentError);
    await messages.load();
    messages.warning("new");
    expect(messages.used).toBe(false);
    const once = [...messages].map((m) => m.message);
    expect(messages.used).toBe(true);
    expect(once).toEqual(["stored", "new"]);
    expect([...messages].map((m) => m.message)).toEqual(once);
    const viaAsync: string[] = [];
    for await (const m of messages) viaAsync.push(String(m));
    expect(viaAsync).toEqual(once);
  });

  it("commit writes nothing and leaves the storage untouched when nothing was read or added (MS-7)", async () => {
    const b = await browser();
    const storage = testCookieStorage();
    const first = createMessages(storage, await b.request());
    first.info("waiting");
    await first.commit();
    const writes = storage.writes;
    const ctx = await b.request();
    const idle = createMessages(storage, ctx);
    expect(await idle.commit()).toEqual([]);
    expect(storage.writes).toBe(writes);
    expect(ctx.session.modified).toBe(false);
    expect((await createMessages(storage, await b.request()).list()).map((m) => m.message)).toEqual([
      "waiting",
    ]);
  });

  it("commit after a read stores only what was added after it (MS-7: existing_add_read_update, existing_read_add_update)", async () => {
    const storage = createSessionMessageStorage();
    for (const [order, expected] of [
      ["add-then-read", []],
      ["read-then-add", ["late"]],
    ] as const) {
      const b = await browser();
      const seed = createMessages(storage, await b.request());
      seed.info("existing");
      await seed.commit();
      const ctx = await b.request();
      const messages = createMessages(storage, ctx);
      if (order === "add-then-read") {
        messages.info("late");
        await messages.list();
      } else {
        await messages.list();
        messages.info("late");
      }
      await messages.commit();
      const stored = decodeMessagesJson((ctx.session.get("_messages") as string | undefined) ?? "[]");
      expect(stored?.map((m) => m.message)).toEqual(expected);
    }
  });

  it("commit without a read keeps the stored messages and adds the new ones (MS-7: add_update)", async () => {
    const b = await browser();
    const storage = createSessionMessageStorage();
    const first = createMessages(storage, await b.request());
    first.info("one");
    await first.commit();
    const ctx = await b.request();
    const second = createMessages(storage, ctx);
    second.error("two");
    await second.commit();
    expect(ctx.session.get("_messages")).toBe(
      '[["__json_message", 0, 20, "one", ""], ["__json_message", 0, 40, "two", ""]]',
    );
  });
});

describe("session storage", () => {
  it("writes Django's JSON text under _messages and pops the key for an empty list (MSS-1)", async () => {
    const b = await browser();
    const ctx = await b.request();
    const storage = createSessionMessageStorage();
    expect(await storage.store(ctx, [{ level: 20, message: "hi", extraTags: "" }])).toEqual([]);
    expect(ctx.session.get("_messages")).toBe('[["__json_message", 0, 20, "hi", ""]]');
    await storage.store(ctx, []);
    expect(ctx.session.has("_messages")).toBe(false);
  });

  it("requires a session: ConfigError (MSS-2)", async () => {
    const storage = createSessionMessageStorage();
    const jar: CookieJar = { get: () => undefined, set: () => {}, delete: () => {} };
    await expect(storage.load({ cookies: jar })).rejects.toBeInstanceOf(ConfigError);
    await expect(storage.store({ cookies: jar }, [])).rejects.toBeInstanceOf(ConfigError);
  });

  it("reads garbage as no messages, and the next commit clears it", async () => {
    const storage = createSessionMessageStorage();
    for (const garbage of [
      "not json",
      "{}",
      '[["__json_message", 0, "20", "x"]]',
      '[["x", 0, 20, "y"]]',
      "[1]",
      42,
      { a: 1 },
      "\ufeff[]",
    ]) {
      const b = await browser();
      const ctx = await b.request();
      ctx.session.set("_messages", garbage);
      const messages = createMessages(storage, ctx);
      expect(await messages.list()).toEqual([]);
      await messages.commit();
      expect(ctx.session.has("_messages")).toBe(false);
    }
  });

  it("accepts the list itself when the session codec kept structure", async () => {
    const b = await browser();
    const ctx = await b.request();
    ctx.session.set("_messages", [["__json_message", 1, 25, "<b>ok</b>", null]]);
    expect((await createSessionMessageStorage().load(ctx)).messages).toEqual([
      { level: 25, message: "<b>ok</b>", extraTags: null, safe: true },
    ]);
  });

  it("keeps the safe flag in the session (server-side), and the cookie double drops it", async () => {
    expect(messagesFromJson([["__json_message", 1, 20, "x"]])?.[0]?.safe).toBe(true);
    expect(messagesFromJson([["__json_message", 1, 20, "x"]], { trustSafe: false })?.[0]?.safe).toBe(false);
    expect(messagesFromJson([["__json_message", 2, 20, "x"]])).toBeNull();
    expect(encodeMessagesJson([{ level: 20, message: "x", safe: true }], { separators: [",", ":"] })).toBe(
      '[["__json_message",1,20,"x"]]',
    );
  });
});

describe("fallback storage", () => {
  async function setup(maxBytes = 400) {
    const cookie = testCookieStorage(maxBytes);
    const session = createSessionMessageStorage();
    return { cookie, session, fallback: createFallbackStorage([cookie, session]), b: await browser() };
  }
  const many = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => ({
      level: 20,
      message: `message number ${from + i}`,
      extraTags: "",
    }));

  it("reads the cookie, then the session only when the cookie says more wait there (MF-1)", async () => {
    const { cookie, session, fallback, b } = await setup();
    const ctx = await b.request();
    await cookie.store(ctx, many(2), { removeOldest: false });
    await session.store(ctx, many(1, 2));
    const both = await b.request();
    expect((await fallback.load(both)).messages.map((m) => m.message)).toEqual([
      "message number 0",
      "message number 1",
    ]);
    // The cookie did not ask for more: the session's messages stay unread.
    const withSentinel = await b.request();
    await cookie.store(withSentinel, many(40), { removeOldest: false });
    const next = await b.request();
    const loaded = await fallback.load(next);
    expect(loaded.allRetrieved).toBe(true);
    expect(loaded.messages.length).toBeGreaterThan(2);
    expect(loaded.messages.at(-1)?.message).toBe("message number 2");
  });

  it("stops before the session when there is no cookie at all (MF-1: get_empty)", async () => {
    const { session, fallback, b } = await setup();
    const ctx = await b.request();
    await session.store(ctx, many(1));
    const loaded = await fallback.load(await b.request());
    expect(loaded).toEqual({ messages: [], allRetrieved: true, present: false });
  });

  it("keeps the oldest in the cookie and sends the newest to the session (MF-2)", async () => {
    const { fallback, b } = await setup();
    const messages = many(12);
    const ctx = await b.request();
    expect(await fallback.store(ctx, messages)).toEqual([]);
    const cookieHeld = (await testCookieStorage().load(await b.request())).messages;
    expect(cookieHeld.length).toBeGreaterThan(0);
    expect(cookieHeld.length).toBeLessThan(12);
    expect(cookieHeld.map(plain)).toEqual(messages.slice(0, cookieHeld.length).map(plain));
    const sessionHeld = decodeMessagesJson(ctx.session.get("_messages") as string);
    expect(sessionHeld?.map(plain)).toEqual(messages.slice(cookieHeld.length).map(plain));
    expect((await fallback.load(await b.request())).messages.map(plain)).toEqual(messages.map(plain));
  });

  it("sends a message too large for any cookie to the session alone (MF-2: session_fallback_only)", async () => {
    const { fallback, b } = await setup();
    const huge = [{ level: 20, message: "x".repeat(5000), extraTags: "" }];
    const ctx = await b.request();
    expect(await fallback.store(ctx, huge)).toEqual([]);
    expect((await testCookieStorage().load(await b.request())).messages).toEqual([]);
    expect(decodeMessagesJson(ctx.session.get("_messages") as string)?.map(plain)).toEqual(huge.map(plain));
    expect((await fallback.load(await b.request())).messages.map(plain)).toEqual(huge.map(plain));
  });

  it("does not touch the session when everything fits in the cookie (MF-3)", async () => {
    const { fallback, b } = await setup();
    const ctx = await b.request();
    await fallback.store(ctx, many(2));
    expect(ctx.session.has("_messages")).toBe(false);
    expect(ctx.session.modified).toBe(false);
  });

  it("clears the storages that held messages and get none back (MF-4)", async () => {
    const { fallback, b } = await setup();
    await fallback.store(await b.request(), many(12));
    const ctx = await b.request();
    const messages = createMessages(fallback, ctx);
    expect((await messages.list()).length).toBe(12);
    await messages.commit();
    expect(b.cookies.has("messages")).toBe(false);
    expect(ctx.session.has("_messages")).toBe(false);
    expect((await fallback.load(await b.request())).present).toBe(false);
  });

  it("clears a tampered cookie at the next commit", async () => {
    const { fallback, b } = await setup();
    b.cookies.set("messages", "%%%not-base64-json%%%");
    const ctx = await b.request();
    const messages = createMessages(fallback, ctx);
    expect(await messages.list()).toEqual([]);
    await messages.commit();
    expect(b.cookies.has("messages")).toBe(false);
  });

  it("refuses an empty storage list", () => {
    expect(() => createFallbackStorage([])).toThrow(ConfigError);
  });
});

describe("Django message vectors", () => {
  for (const v of ofKind("messages.session.serialize")) {
    it(v.id, async () => {
      const legacy = v.django_version.startsWith("3.");
      const messages = (v.inputs.messages as [number, string, string | null, string?][]).map(
        ([level, message, extraTags, safe]) => ({ level, message, extraTags, safe: safe === "safe" }),
      );
      const storage = createSessionMessageStorage({ legacyExtraTags: legacy });
      const b = await browser();
      const ctx = await b.request();
      await storage.store(ctx, messages);
      expect(ctx.session.get("_messages")).toBe(v.expected);
      // And back, through a real save and load of the session.
      const back = (await storage.load(await b.request())).messages;
      expect(back.map((m) => [m.level, m.message, m.safe])).toEqual(
        messages.map((m) => [m.level, m.message, m.safe]),
      );
      expect(back.map((m) => m.extraTags)).toEqual(
        messages.map((m) => (legacy ? (m.extraTags === "" ? null : m.extraTags) : m.extraTags)),
      );
    });
  }

  for (const v of ofKind("messages.tags")) {
    it(v.id, () => {
      const inputs = v.inputs as {
        level: number;
        extra_tags: string | null;
        MESSAGE_TAGS: Record<string, string>;
      };
      const tags = levelTags(
        Object.fromEntries(Object.entries(inputs.MESSAGE_TAGS).map(([k, t]) => [Number(k), t])),
      );
      const message = { level: inputs.level, message: "text", extraTags: inputs.extra_tags };
      expect({ tags: messageTags(message, tags), level_tag: levelTag(inputs.level, tags) }).toEqual(
        v.expected,
      );
    });
  }

  for (const v of ofKind("messages.add_filtering")) {
    it(v.id, async () => {
      expect(v.inputs.level_setting).toBe("default (INFO=20)");
      const b = await browser();
      const storage = createSessionMessageStorage();
      const messages = createMessages(storage, await b.request());
      for (const [level, text] of v.inputs.added as [number, string][]) messages.add(level, text);
      await messages.commit();
      const next = createMessages(storage, await b.request());
      expect((await next.list()).map((m) => [m.level, m.message])).toEqual(v.expected);
    });
  }
});
