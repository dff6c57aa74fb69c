import { pythonJsonDumps } from "@porter/core";
import { describe, expect, it } from "vitest";
import { createCookieMessageStorage, MESSAGES_NOT_FINISHED } from "../src/index.js";
import { context, DJANGO_SECRET, META, messageOf, tupleOf, vectorsOf } from "./helpers.js";

interface EncodeInputs {
  messages: unknown[][];
  secret_key: string;
  timestamp: number;
  max_cookie_size?: number;
  remove_oldest?: boolean;
}

function storageFor(
  v: { django_version: string },
  inputs: { secret_key: string; timestamp?: number },
  maxCookieSize?: number,
) {
  return createCookieMessageStorage({
    secret: inputs.secret_key,
    clock: () => (inputs.timestamp ?? META.fixed_timestamp) * 1000,
    extraTags: v.django_version.startsWith("3.") ? "drop-empty" : "keep-empty",
    ...(maxCookieSize !== undefined ? { maxCookieSize } : {}),
  });
}

/** Reads a cookie back: decoded tuples, plus the sentinel when more messages wait elsewhere. */
async function readBack(
  storage: ReturnType<typeof createCookieMessageStorage>,
  value: string,
): Promise<unknown[]> {
  const loaded = await storage.load(context({ messages: value }));
  expect(loaded.present).toBe(true);
  const out: unknown[] = loaded.messages.map(tupleOf);
  if (!loaded.allRetrieved) out.push(MESSAGES_NOT_FINISHED);
  return out;
}

describe("messages.cookie.encode: Django's message cookie, byte for byte", () => {
  for (const v of vectorsOf("messages.cookie.encode")) {
    const inputs = v.inputs as unknown as EncodeInputs;
    const expected = v.expected as { cookie_value: string; unstored: unknown[] };
    it(v.id, async () => {
      const storage = storageFor(v, inputs);
      const ctx = context();
      const unstored = await storage.store(ctx, inputs.messages.map(messageOf));
      expect(ctx.cookies.sent("messages")).toBe(expected.cookie_value);
      expect(unstored.map(tupleOf)).toEqual(expected.unstored);
      const back = await readBack(storage, expected.cookie_value);
      expect(back.map((m) => (m as unknown[])[1])).toEqual(inputs.messages.map((m) => m[1]));
    });
  }
});

describe("messages.cookie.overflow: the oldest are dropped and returned (removeOldest)", () => {
  for (const v of vectorsOf("messages.cookie.overflow")) {
    const inputs = v.inputs as unknown as EncodeInputs;
    const expected = v.expected as {
      cookie_value: string;
      decoded_cookie: unknown[];
      unstored: unknown[];
      unstored_count: number;
    };
    it(v.id, async () => {
      const storage = storageFor(v, inputs, inputs.max_cookie_size);
      const ctx = context();
      const unstored = await storage.store(ctx, inputs.messages.map(messageOf), {
        removeOldest: inputs.remove_oldest ?? true,
      });
      expect(ctx.cookies.sent("messages")).toBe(expected.cookie_value);
      expect(unstored.length).toBe(expected.unstored_count);
      expect(unstored.map(tupleOf)).toEqual(expected.unstored);
      expect(await readBack(storage, expected.cookie_value)).toEqual(expected.decoded_cookie);
    });
  }
});

describe("messages.cookie.decode: bad cookies are no messages and are cleared", () => {
  for (const v of vectorsOf("messages.cookie.decode")) {
    const inputs = v.inputs as { cookie_value: string; secret_key: string };
    const expected = v.expected as { messages: unknown[] };
    it(v.id, async () => {
      const storage = storageFor(v, inputs);
      const ctx = context({ messages: inputs.cookie_value });
      const loaded = await storage.load(ctx);
      expect(loaded.messages.map(tupleOf)).toEqual(expected.messages);
      if (expected.messages.length === 0) {
        expect(loaded.present).toBe(false);
        expect(ctx.cookies.sent("messages")).toBeNull();
      } else {
        expect(loaded.present).toBe(true);
        expect(ctx.cookies.sent("messages")).toBeUndefined();
      }
    });
  }
});

describe("crossversion.messages_cookie: every Django version's cookie reads the same", () => {
  for (const v of vectorsOf("crossversion.messages_cookie")) {
    const { value } = v.inputs as { value: string };
    const expected = v.expected as { ok: unknown[]; used_flag: boolean };
    it(v.id, async () => {
      const storage = createCookieMessageStorage({ secret: DJANGO_SECRET });
      const ctx = context({ messages: value });
      const loaded = await storage.load(ctx);
      const back: unknown[] = loaded.messages.map(tupleOf);
      if (!loaded.allRetrieved) back.push(MESSAGES_NOT_FINISHED);
      expect(back).toEqual(expected.ok);
      // Django's `used` stays false for a good cookie: nothing is written back.
      expect(ctx.cookies.sent("messages")).toBe(expected.used_flag ? null : undefined);
    });
  }
});

describe("messages.fallback.store, cookie half: the oldest stay in the cookie, the newest are returned", () => {
  for (const v of vectorsOf("messages.fallback.store")) {
    const inputs = v.inputs as unknown as EncodeInputs;
    const expected = v.expected as {
      cookie_value: string;
      decoded_cookie: unknown[];
      session_messages: string;
      unstored: unknown[];
    };
    it(v.id, async () => {
      const keepEmpty = !v.django_version.startsWith("3.");
      const storage = storageFor(v, inputs);
      const ctx = context();
      const rest = await storage.store(ctx, inputs.messages.map(messageOf), { removeOldest: false });
      expect(ctx.cookies.sent("messages")).toBe(expected.cookie_value);
      expect(await readBack(storage, expected.cookie_value)).toEqual(expected.decoded_cookie);
      // What Django's SessionStorage then keeps: MessageEncoder with default separators.
      const sessionJson = pythonJsonDumps(
        rest.map((m) => [
          "__json_message",
          m.safe ? 1 : 0,
          m.level,
          m.message,
          ...(keepEmpty ? [m.extraTags] : m.extraTags ? [m.extraTags] : []),
        ]),
        { separators: [", ", ": "] },
      );
      expect(sessionJson).toBe(expected.session_messages);
    });
  }
});
