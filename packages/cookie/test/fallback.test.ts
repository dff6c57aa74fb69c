import { randomBytes } from "node:crypto";
import {
  createFallbackStorage,
  createMemorySessionStore,
  createMessages,
  createSessionEngine,
  createSessionMessageStorage,
  type Message,
  type Session,
} from "@porter/core";
import { describe, expect, it } from "vitest";
import { createCookieMessageStorage, MESSAGES_NOT_FINISHED } from "../src/index.js";
import { DJANGO_SECRET, messageOf, SECRET, TestJar, tupleOf, vectorsOf } from "./helpers.js";

const engine = createSessionEngine({ store: createMemorySessionStore() });
const newSession = (): Promise<Session> => engine.load(undefined);

function djangoDefault(options: { secret?: string; timestamp?: number; legacy?: boolean } = {}) {
  const cookie = createCookieMessageStorage({
    secret: options.secret ?? SECRET,
    ...(options.timestamp !== undefined ? { clock: () => options.timestamp! * 1000 } : {}),
    extraTags: options.legacy ? "drop-empty" : "keep-empty",
  });
  const session = createSessionMessageStorage({ legacyExtraTags: options.legacy === true });
  return { cookie, session, fallback: createFallbackStorage([cookie, session]) };
}

describe("messages.fallback.store: cookie first, the overflow into the session (Django's FallbackStorage)", () => {
  for (const v of vectorsOf("messages.fallback.store")) {
    const inputs = v.inputs as { messages: unknown[][]; secret_key: string; timestamp: number };
    const expected = v.expected as {
      cookie_value: string;
      decoded_cookie: unknown[];
      session_messages: string;
      unstored: unknown[];
    };
    it(v.id, async () => {
      const legacy = v.django_version.startsWith("3.");
      const { fallback } = djangoDefault({ secret: inputs.secret_key, timestamp: inputs.timestamp, legacy });
      const session = await newSession();
      const ctx = { cookies: new TestJar(), session };
      const messages = inputs.messages.map(messageOf);
      const unstored = await fallback.store(ctx, messages);
      expect(unstored.map(tupleOf)).toEqual(expected.unstored);
      expect(ctx.cookies.sent("messages")).toBe(expected.cookie_value);
      expect(session.get("_messages")).toBe(expected.session_messages);

      // The next request reads them back in order: the cookie's oldest, then the session's newest.
      const next = { cookies: new TestJar({ messages: expected.cookie_value }), session };
      const loaded = await fallback.load(next);
      expect(loaded.messages.map((m) => m.message)).toEqual(messages.map((m) => m.message));
      const cookieOnly = await djangoDefault({ secret: inputs.secret_key }).cookie.load(next);
      expect([
        ...cookieOnly.messages.map(tupleOf),
        ...(cookieOnly.allRetrieved ? [] : [MESSAGES_NOT_FINISHED]),
      ]).toEqual(expected.decoded_cookie);
    });
  }
});

async function fiveWhereFourFit(): Promise<Message[]> {
  for (let length = 100; length < 1000; length += 5) {
    const messages = [...Array(5)].map((_, i) => ({
      level: 20,
      message: `${i}:${randomBytes(length).toString("base64url").slice(0, length)}`,
    }));
    if (
      (await createCookieMessageStorage({ secret: SECRET }).store({ cookies: new TestJar() }, messages))
        .length === 1
    )
      return messages;
  }
  throw new Error("no size found");
}

describe("fallback storage with the cookie storage", () => {
  it("MSG-007 under fallback: the overflow goes to the session and display order is kept", async () => {
    const messages = await fiveWhereFourFit();
    const { fallback } = djangoDefault();
    const session = await newSession();
    const ctx = { cookies: new TestJar(), session };
    expect(await fallback.store(ctx, messages)).toEqual([]);
    expect(session.has("_messages")).toBe(true);
    const loaded = await fallback.load({
      cookies: new TestJar({ messages: ctx.cookies.sent("messages")! }),
      session,
    });
    expect(loaded.messages.map((m) => m.message)).toEqual(messages.map((m) => m.message));
  });

  it("MF-3: when everything fits in the cookie the session is not touched", async () => {
    const { fallback } = djangoDefault();
    const session = await newSession();
    await fallback.store({ cookies: new TestJar(), session }, [{ level: 20, message: "small" }]);
    expect(session.has("_messages")).toBe(false);
    expect(session.modified).toBe(false);
  });

  it("one 5000-character message: only the sentinel in the cookie, the message in the session", async () => {
    const { fallback } = djangoDefault();
    const session = await newSession();
    const ctx = { cookies: new TestJar(), session };
    const big = { level: 20, message: randomBytes(2500).toString("hex") };
    await fallback.store(ctx, [big]);
    const onlySentinel = await djangoDefault().cookie.load({
      cookies: new TestJar({ messages: ctx.cookies.sent("messages")! }),
    });
    expect(onlySentinel).toMatchObject({ messages: [], allRetrieved: false, present: true });
    expect(
      (await fallback.load({ cookies: new TestJar({ messages: ctx.cookies.sent("messages")! }), session }))
        .messages,
    ).toEqual([{ ...big, extraTags: null, safe: false }]);
  });

  it("through the messages API: read, then commit, clears both storages (MF-4, MSG-04)", async () => {
    const messages = await fiveWhereFourFit();
    const { fallback } = djangoDefault();
    const session = await newSession();
    const first = { cookies: new TestJar(), session };
    const m1 = createMessages(fallback, first);
    for (const m of messages) m1.info(m.message);
    await m1.commit();
    const cookie = first.cookies.sent("messages")!;

    const second = { cookies: new TestJar({ messages: cookie }), session };
    const m2 = createMessages(fallback, second);
    expect((await m2.list()).map((m) => m.message)).toEqual(messages.map((m) => m.message));
    await m2.commit();
    expect(second.cookies.sent("messages")).toBeNull();
    expect(session.has("_messages")).toBe(false);

    const third = createMessages(fallback, { cookies: new TestJar(), session });
    expect(await third.list()).toEqual([]);
  });

  it("a tampered cookie through the messages API: no messages, and the cookie is cleared at commit (MC-11)", async () => {
    const { fallback, cookie } = djangoDefault({ secret: DJANGO_SECRET });
    for (const storage of [fallback, cookie]) {
      const ctx = { cookies: new TestJar({ messages: "tampered:1r31eq:AAAA" }), session: await newSession() };
      const messages = createMessages(storage, ctx);
      expect(await messages.list()).toEqual([]);
      ctx.cookies.outgoing.clear();
      await messages.commit();
      expect(ctx.cookies.sent("messages")).toBeNull();
    }
  });
});
