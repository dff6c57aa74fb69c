import assert from "node:assert/strict";
import type { CookieJar, CookieOptions, Message, MessageStorage, RequestContext } from "../contracts.js";
import { createMessages } from "../messages/messages.js";
import { createSessionEngine, type SessionEngine } from "../session/engine.js";
import { createMemorySessionStore } from "../stores/memory-session-store.js";
import { resolveRunner, type TestRunner } from "./runner.js";

export interface DescribeMessageStorageOptions {
  /** The storage under test. One instance serves every request of a test, as in an app. */
  create: () => MessageStorage | Promise<MessageStorage>;
  /**
   * The context of a client's next request: given the previous request's context (after its
   * `store`), carry over what its response set (cookies, the saved session); given nothing,
   * a new client.
   * @default a cookie jar that keeps what responses set, and a session saved and loaded by the
   *   real session engine on a memory store
   */
  makeContext?: (previous?: RequestContext) => RequestContext | Promise<RequestContext>;
  /** @default vitest */
  runner?: TestRunner;
}

interface Client {
  cookies: Map<string, string>;
  engine: SessionEngine;
  sessionKey: string | null;
}

const clients = new WeakMap<RequestContext, Client>();

function expired(options: CookieOptions | undefined): boolean {
  return (
    (options?.maxAge !== undefined && options.maxAge <= 0) ||
    (options?.expires !== undefined && options.expires.getTime() <= Date.now())
  );
}

/** A browser in miniature: cookies set by a response are sent with the next request, and the session persists. */
async function defaultMakeContext(previous?: RequestContext): Promise<RequestContext> {
  let client = previous === undefined ? undefined : clients.get(previous);
  if (client === undefined) {
    client = {
      cookies: new Map(),
      engine: createSessionEngine({ store: createMemorySessionStore() }),
      sessionKey: null,
    };
  } else if (previous?.session !== undefined) {
    client.sessionKey = (await client.engine.commit(previous.session)).key;
  }
  const owner = client;
  const incoming = new Map(owner.cookies);
  const cookies: CookieJar = {
    get: (name) => incoming.get(name),
    set: (name, value, options) => {
      if (expired(options)) owner.cookies.delete(name);
      else owner.cookies.set(name, value);
    },
    delete: (name) => {
      owner.cookies.delete(name);
    },
  };
  const ctx: RequestContext = { cookies, session: await owner.engine.load(owner.sessionKey ?? undefined) };
  clients.set(ctx, owner);
  return ctx;
}

const plain = (m: Message) => ({ level: m.level, message: m.message, extraTags: m.extraTags ?? null });

const TRICKY_TEXTS = [
  'quotes " and \\ backslashes',
  "cookie ; , = separators",
  "line\r\nbreak\ttab",
  "nul \u0000 inside",
  "</script><script>alert(1)</script>",
  "héllo ’ 日本 😀",
  "lone \ud800 surrogate",
  "x".repeat(300),
];

/**
 * Registers the `MessageStorage` contract suite: nothing stored reads as absent; messages
 * round-trip in order with level, text and extra tags (`""` kept, `null` kept); an empty store
 * clears; a new store replaces; tricky text survives; the safe flag is never invented; what does
 * not fit is returned, never lost, on the side `removeOldest` says; clients are isolated; and
 * through `createMessages`, messages are shown exactly once.
 */
export function describeMessageStorage(name: string, options: DescribeMessageStorageOptions): void {
  const t = resolveRunner(options.runner);
  const makeContext = options.makeContext ?? defaultMakeContext;
  let storage: MessageStorage;

  /** Stores in one request; returns the next request's context. */
  const storeThenNext = async (ctx: RequestContext, messages: readonly Message[], removeOldest?: boolean) => {
    const unstored = await storage.store(
      ctx,
      messages,
      removeOldest === undefined ? undefined : { removeOldest },
    );
    return { unstored, next: await makeContext(ctx) };
  };

  t.describe(`MessageStorage conformance: ${name}`, () => {
    t.beforeEach(async () => {
      storage = await options.create();
    });

    t.it("has a name", () => {
      assert.equal(typeof storage.name, "string");
      assert.ok(storage.name.length > 0);
    });

    t.it("a new client has no messages, and nothing stored reads as absent", async () => {
      const ctx = await makeContext();
      const result = await storage.load(ctx);
      assert.deepEqual(result.messages, []);
      assert.equal(result.present, false);
      assert.equal(result.allRetrieved, true);
    });

    t.it("round-trips messages in order with level, text and extra tags", async () => {
      const messages: Message[] = [
        { level: 20, message: "Hello world", extraTags: "" },
        { level: 25, message: "Saved!", extraTags: "tag1 tag2" },
        { level: 40, message: "Boom", extraTags: null },
        { level: 29, message: "custom level" },
        { level: 10, message: "debug", extraTags: "extra-tag" },
      ];
      const { unstored, next } = await storeThenNext(await makeContext(), messages);
      assert.deepEqual(unstored, []);
      const result = await storage.load(next);
      assert.equal(result.present, true);
      assert.equal(result.allRetrieved, true);
      assert.deepEqual(result.messages.map(plain), messages.map(plain));
      for (const m of result.messages) assert.notEqual(m.safe, true);
    });

    t.it("loading twice in one request gives the same messages and changes nothing", async () => {
      const { next } = await storeThenNext(await makeContext(), [{ level: 20, message: "once" }]);
      const a = await storage.load(next);
      const b = await storage.load(next);
      assert.deepEqual(b.messages.map(plain), a.messages.map(plain));
      const later = await makeContext(next);
      assert.deepEqual((await storage.load(later)).messages.map(plain), a.messages.map(plain));
    });

    t.it("storing an empty list clears the storage", async () => {
      const first = await storeThenNext(await makeContext(), [{ level: 20, message: "gone soon" }]);
      await storage.load(first.next);
      const second = await storeThenNext(first.next, []);
      const result = await storage.load(second.next);
      assert.deepEqual(result.messages, []);
      assert.equal(result.present, false);
    });

    t.it("a new store replaces what was stored", async () => {
      const first = await storeThenNext(await makeContext(), [{ level: 20, message: "old" }]);
      await storage.load(first.next);
      const second = await storeThenNext(first.next, [{ level: 30, message: "new" }]);
      assert.deepEqual((await storage.load(second.next)).messages.map(plain), [
        { level: 30, message: "new", extraTags: null },
      ]);
    });

    t.it("keeps tricky text exactly: quotes, separators, control characters, HTML, non-ASCII", async () => {
      const messages = TRICKY_TEXTS.map((text, i) => ({
        level: 20 + i,
        message: text,
        extraTags: `t${i} "x";y`,
      }));
      const { unstored, next } = await storeThenNext(await makeContext(), messages);
      const result = await storage.load(next);
      assert.deepEqual([...result.messages, ...unstored].map(plain).sort(byLevel), messages.map(plain));
    });

    t.it("never marks a message safe that was not stored as safe", async () => {
      const { next } = await storeThenNext(await makeContext(), [
        { level: 20, message: "<b>trusted</b>", safe: true },
        { level: 20, message: "<b>untrusted</b>", safe: false },
        { level: 20, message: "<b>unspecified</b>" },
      ]);
      const [trusted, untrusted, unspecified] = (await storage.load(next)).messages;
      assert.ok(trusted !== undefined && untrusted !== undefined && unspecified !== undefined);
      assert.ok(trusted.safe === true || trusted.safe === false || trusted.safe === undefined);
      assert.notEqual(untrusted.safe, true);
      assert.notEqual(unspecified.safe, true);
    });

    for (const removeOldest of [undefined, true, false] as const) {
      t.it(`what does not fit is returned, never lost (removeOldest: ${String(removeOldest)})`, async () => {
        const messages = Array.from({ length: 60 }, (_, i) => ({
          level: 20,
          message: `message ${i} ${"·".repeat(80)}`,
          extraTags: null,
        }));
        const { unstored, next } = await storeThenNext(await makeContext(), messages, removeOldest);
        const stored = (await storage.load(next)).messages;
        assert.equal(stored.length + unstored.length, messages.length);
        const keepNewest = removeOldest !== false;
        const expectedStored = keepNewest
          ? messages.slice(unstored.length)
          : messages.slice(0, stored.length);
        const expectedUnstored = keepNewest
          ? messages.slice(0, unstored.length)
          : messages.slice(stored.length);
        assert.deepEqual(stored.map(plain), expectedStored.map(plain));
        assert.deepEqual(unstored.map(plain), expectedUnstored.map(plain));
      });
    }

    t.it("does not modify the messages it is given", async () => {
      const messages: Message[] = [
        { level: 20, message: "a", extraTags: "x" },
        { level: 25, message: "b" },
      ];
      const copy = structuredClone(messages);
      await storage.store(await makeContext(), messages);
      assert.deepEqual(messages, copy);
    });

    t.it("keeps clients apart", async () => {
      const alice = await storeThenNext(await makeContext(), [{ level: 20, message: "for alice" }]);
      const bob = await makeContext();
      assert.deepEqual((await storage.load(bob)).messages, []);
      assert.deepEqual(
        (await storage.load(alice.next)).messages.map((m) => m.message),
        ["for alice"],
      );
    });

    t.it("through createMessages, a message is shown exactly once (MS-7, MSG-04)", async () => {
      const first = await makeContext();
      const adding = createMessages(storage, first);
      assert.equal(adding.success("Profile saved."), true);
      assert.equal(adding.debug("not recorded at INFO"), false);
      assert.deepEqual(await adding.commit(), []);

      const second = await makeContext(first);
      const showing = createMessages(storage, second);
      assert.deepEqual(
        (await showing.list()).map((m) => [m.level, m.message, m.tags]),
        [[25, "Profile saved.", "success"]],
      );
      showing.info("added after reading");
      await showing.commit();

      const third = await makeContext(second);
      const after = createMessages(storage, third);
      assert.deepEqual(
        (await after.list()).map((m) => m.message),
        ["added after reading"],
      );
      await after.commit();

      const fourth = await makeContext(third);
      assert.deepEqual(await createMessages(storage, fourth).list(), []);
    });

    t.it("through createMessages, unread messages survive a request that added more", async () => {
      const first = await makeContext();
      const a = createMessages(storage, first);
      a.info("one");
      await a.commit();
      const second = await makeContext(first);
      const b = createMessages(storage, second);
      b.warning("two", { extraTags: "urgent" });
      await b.commit();
      const third = await makeContext(second);
      assert.deepEqual(
        (await createMessages(storage, third).list()).map((m) => [m.message, m.tags]),
        [
          ["one", "info"],
          ["two", "urgent warning"],
        ],
      );
    });
  });
}

function byLevel(a: { level: number }, b: { level: number }): number {
  return a.level - b.level;
}
