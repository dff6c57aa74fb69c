import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { b62Decode, createSessionEngine } from "@porter/core";
import { beforeAll, describe, expect, it } from "vitest";
import { createCookieMessageStorage, createCookieSessionStore, pythonJsonCodec } from "../src/index.js";
import { context, SECRET } from "./helpers.js";

const run = promisify(execFile);
const PYTHON = "/usr/bin/python3";
const SCRIPT = new URL("./django_interop.py", import.meta.url).pathname;

interface DjangoAnswer {
  django_version: string;
  session_from_porter: Record<string, unknown>;
  django_bytes_for_porter_data: string;
  django_session_cookie: string;
  messages_from_porter: [number, string, string | null, boolean][];
  django_messages_cookie: string;
  django_messages_unstored: number;
}

const porterData = {
  user: "zoë",
  greeting: "héllo — 日本語 😀",
  nested: { cart: [1, 2, { sku: "A-1", qty: 3 }], flags: [true, null] },
};
const djangoData = { _auth_user_id: "7", city: "Zürich", emoji: "🚀", deep: { a: [{ b: ["ç", 1.5, -3] }] } };
const porterMessages = [
  { level: 25, message: "Enregistré ✓", extraTags: "", safe: false },
  { level: 30, message: "<b>careful</b>", extraTags: "bold", safe: true },
  { level: 20, message: "plain", extraTags: null, safe: false },
];
const djangoMessages: [number, string, string | null, boolean][] = [
  [20, "Grüße aus Django", "", false],
  [40, "<i>safe</i>", "x y", true],
  [10, "debug", null, false],
];

let answer: DjangoAnswer;
let porterSessionCookie: string;
let porterMessagesCookie: string;
const codec = pythonJsonCodec();
const store = createCookieSessionStore({ secret: SECRET, mode: "django" });
const engine = createSessionEngine({ store, codec });

beforeAll(async () => {
  try {
    await run(PYTHON, ["-c", "import django"]);
  } catch (error) {
    throw new Error(
      `The live Django check needs Django for ${PYTHON} (Debian: apt-get install python3-django; .ci/run installs it): ${String(error)}`,
    );
  }
  const session = await engine.load(undefined);
  session.update(porterData);
  porterSessionCookie = /^sessionid=([^;]+)/.exec((await engine.commit(session)).setCookie!)![1]!;

  const ctx = context();
  await createCookieMessageStorage({ secret: SECRET }).store(ctx, porterMessages);
  porterMessagesCookie = ctx.cookies.sent("messages")!;

  const child = run(PYTHON, [SCRIPT], { timeout: 30_000 });
  child.child.stdin!.end(
    JSON.stringify({
      secret: SECRET,
      porter_session_cookie: porterSessionCookie,
      porter_messages_cookie: porterMessagesCookie,
      django_session_data: djangoData,
      django_messages: djangoMessages,
    }),
  );
  const { stdout } = await child;
  answer = JSON.parse(stdout) as DjangoAnswer;
}, 60_000);

describe("live Django (Debian's python3-django)", () => {
  it("Django loads the session Porter issued through the engine, and would have written the same bytes", () => {
    expect(answer.session_from_porter).toEqual(porterData);
    expect(answer.django_bytes_for_porter_data).toBe(porterSessionCookie);
  });

  it("Porter loads the session Django issued (non-ASCII, nested, floats)", async () => {
    const session = await engine.load(answer.django_session_cookie);
    expect(Object.fromEntries(session.entries())).toEqual(djangoData);
  });

  it("Django reads Porter's message cookie, safe flag included", () => {
    // Porter writes extra_tags in the 4.1+ style, which every version reads the same way.
    expect(answer.messages_from_porter).toEqual(
      porterMessages.map((m) => [m.level, m.message, m.extraTags, m.safe]),
    );
  });

  it("Porter reads Django's message cookie", async () => {
    expect(answer.django_messages_unstored).toBe(0);
    const loaded = await createCookieMessageStorage({ secret: SECRET }).load(
      context({ messages: answer.django_messages_cookie }),
    );
    const threeTwo = answer.django_version.startsWith("3.");
    // Django 3.2 writes no extra_tags for "", which then reads back as null (MC-3).
    expect(loaded.messages.map((m) => [m.level, m.message, m.extraTags, m.safe])).toEqual(
      djangoMessages.map(([level, text, tags, safe]) => [
        level,
        text,
        threeTwo && tags === "" ? null : tags,
        safe,
      ]),
    );
    // And Porter writes the same bytes for them, in the matching extra_tags style.
    const ctx = context();
    await createCookieMessageStorage({
      secret: SECRET,
      extraTags: threeTwo ? "drop-empty" : "keep-empty",
      clock: () => b62Decode(answer.django_messages_cookie.split(":").at(-2)!) * 1000,
    }).store(
      ctx,
      djangoMessages.map(([level, message, extraTags, safe]) => ({ level, message, extraTags, safe })),
    );
    expect(ctx.cookies.sent("messages")).toBe(answer.django_messages_cookie);
  });
});
