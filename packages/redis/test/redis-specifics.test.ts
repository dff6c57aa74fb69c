import { randomBytes, randomUUID } from "node:crypto";
import { PorterError } from "@porter/core";
import { createManualClock } from "@porter/core/conformance";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisSessionStore, type RedisSessionStore } from "../src/index.js";
import { REDIS_URL } from "./helpers.js";

const client = new Redis(REDIS_URL);
const monitorClient = new Redis(REDIS_URL);
client.on("error", () => {});
monitorClient.on("error", () => {});
afterAll(async () => {
  await client.quit();
  await monitorClient.quit();
});

const newKey = (): string => randomBytes(32).toString("hex");
const newStore = (extra: { clock?: () => number } = {}): RedisSessionStore =>
  createRedisSessionStore({ client, prefix: `test:${randomUUID()}:`, ...extra });

async function rejectsWith(code: string, p: Promise<unknown>): Promise<PorterError> {
  const err = await p.then(
    () => {
      throw new Error(`expected a ${code} rejection`);
    },
    (e: unknown) => e,
  );
  expect(PorterError.is(err, code as never), String(err)).toBe(true);
  return err as PorterError;
}

describe("layout and native expiry", () => {
  it("keeps one session in one string value, header then data, under a key that wraps the session key in a hash tag", async () => {
    const store = newStore();
    const key = newKey();
    const expiresAt = Date.now() + 60_000;
    await store.create(key, '{"a":1}', expiresAt);
    expect(store.redisKey(key)).toBe(`${store.prefix}{${key}}`);
    expect(await client.type(store.redisKey(key))).toBe("string");
    expect(await client.get(store.redisKey(key))).toBe(`1:${expiresAt}:8:{"a":1}`);
    await store.update(key, { data: "b:c", expiresAt: expiresAt + 1, version: 1 });
    expect(await client.get(store.redisKey(key))).toBe(`2:${expiresAt + 1}:8:b:c`);
    await store.touch(key, expiresAt + 2);
    expect(await client.get(store.redisKey(key))).toBe(`2:${expiresAt + 2}:8:b:c`);
    await store.delete(key);
  });

  it("sets the absolute deadline natively: PEXPIRETIME equals expiresAt and PTTL follows", async () => {
    const store = newStore();
    const key = newKey();
    const expiresAt = Date.now() + 60_000;
    await store.create(key, "{}", expiresAt);
    expect(await client.call("PEXPIRETIME", store.redisKey(key))).toBe(expiresAt);
    const pttl = await client.pttl(store.redisKey(key));
    expect(pttl).toBeGreaterThan(59_000);
    expect(pttl).toBeLessThanOrEqual(60_000);

    const later = expiresAt + 3_600_000;
    await store.touch(key, later);
    expect(await client.call("PEXPIRETIME", store.redisKey(key))).toBe(later);
    const updated = await store.update(key, { data: "{}", expiresAt: later + 1, version: 1 });
    expect(updated.version).toBe(2);
    expect(await client.call("PEXPIRETIME", store.redisKey(key))).toBe(later + 1);
    await store.delete(key);
  });

  it("lets Redis remove a record at its millisecond deadline", async () => {
    const store = newStore();
    const key = newKey();
    await store.create(key, "{}", Date.now() + 150);
    expect(await client.exists(store.redisKey(key))).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await client.exists(store.redisKey(key))).toBe(0);
    expect(await store.get(key)).toBeNull();
  });

  it("never writes a record that is already expired, and deletes one expired by update or touch", async () => {
    const store = newStore();
    const key = newKey();
    const record = await store.create(key, "{}", Date.now() - 1000);
    expect(record.version).toBe(1);
    expect(await client.exists(store.redisKey(key))).toBe(0);

    await store.create(key, "{}", Date.now() + 60_000);
    await store.update(key, { data: "{}", expiresAt: Date.now() - 1, version: 1 });
    expect(await client.exists(store.redisKey(key))).toBe(0);

    await store.create(key, "{}", Date.now() + 60_000);
    await store.touch(key, Date.now() - 1);
    expect(await client.exists(store.redisKey(key))).toBe(0);
  });

  it("compares expiresAt on read with its own clock even while Redis still holds the key", async () => {
    const clock = createManualClock();
    const store = newStore({ clock: clock.now });
    const key = newKey();
    await store.create(key, "old", clock.now() + 60_000);
    clock.advance(60_000);
    expect(await store.get(key)).toBeNull();
    expect(await client.exists(store.redisKey(key))).toBe(1);
    await rejectsWith(
      "SESSION_MISSING",
      store.update(key, { data: "x", expiresAt: clock.now() + 1, version: 1 }),
    );
    await store.touch(key, clock.now() + 60_000);
    expect(await store.get(key)).toBeNull();
    // An expired record may be replaced by create.
    const fresh = await store.create(key, "new", clock.now() + 60_000);
    expect(fresh.version).toBe(1);
    expect(await store.get(key)).toEqual({ data: "new", expiresAt: clock.now() + 60_000, version: 1 });
    await store.delete(key);
  });
});

describe("data is kept exactly", () => {
  const cases: [string, string][] = [
    ["ascii JSON", '{"a":1,"b":[true,null]}'],
    ["empty", ""],
    ["NUL", "a\u0000b\u0000"],
    ["astral and RTL", "𝄞😀 \u202Eעברית\u202C"],
    ["lone high surrogate", "x\uD800y"],
    ["lone low surrogate at the end", "x\uDC00"],
    ["reversed pair", "\uDC00\uD800"],
    ["U+FFFD itself", "\uFFFD"],
  ];
  it.each(cases)("%s", async (_name, data) => {
    const store = newStore();
    const key = newKey();
    const expiresAt = Date.now() + 60_000;
    await store.create(key, data, expiresAt);
    expect(await store.get(key)).toEqual({ data, expiresAt, version: 1 });
    await store.update(key, { data: `${data}!`, expiresAt, version: 1 });
    expect((await store.get(key))?.data).toBe(`${data}!`);
    await store.delete(key);
  });

  it("stores well-formed strings as UTF-8 and ill-formed ones as UTF-16LE code units", async () => {
    const store = newStore();
    const [a, b] = [newKey(), newKey()];
    await store.create(a, "héllo", Date.now() + 60_000);
    await store.create(b, "h\uD800", Date.now() + 60_000);
    const header = (k: string) =>
      client.getBuffer(store.redisKey(k)).then((v) => v!.subarray(0, v!.indexOf(":8:") + 3));
    const valueA = await client.getBuffer(store.redisKey(a));
    expect(valueA!.subarray(valueA!.lastIndexOf(":") + 1)).toEqual(Buffer.from("héllo", "utf8"));
    expect((await header(a)).toString()).toMatch(/^1:\d+:8:$/);
    const valueB = (await client.getBuffer(store.redisKey(b)))!;
    expect(valueB.toString("latin1")).toMatch(/^1:\d+:16:/);
    expect(valueB.subarray(valueB.indexOf(":16:") + 4)).toEqual(Buffer.from([0x68, 0, 0x00, 0xd8]));
    expect((await store.get(b))?.data).toBe("h\uD800");
    // Switching back to a well-formed value switches the format back.
    await store.update(b, { data: "fine", expiresAt: Date.now() + 60_000, version: 1 });
    expect(await client.get(store.redisKey(b))).toMatch(/^2:\d+:8:fine$/);
    await store.delete(a);
    await store.delete(b);
  });

  it("treats a key it did not write as absent: another type, or a string that is not a record", async () => {
    const store = newStore();
    const future = Date.now() + 60_000;
    const foreign: [string, () => Promise<unknown>][] = [];
    for (const value of [
      "x",
      "1:2",
      `1:${future}:9:x`,
      `a:${future}:8:x`,
      `1:${future}:8`,
      `${"9".repeat(20)}:${future}:8:x`,
    ]) {
      const key = newKey();
      foreign.push([key, () => client.set(store.redisKey(key), value)]);
    }
    const hash = newKey();
    foreign.push([
      hash,
      () => client.hset(store.redisKey(hash), { d: "x", f: "8", v: "1", x: String(future) }),
    ]);
    const list = newKey();
    foreign.push([list, () => client.rpush(store.redisKey(list), "x")]);
    for (const [key, plant] of foreign) {
      await plant();
      expect(await store.get(key), key).toBeNull();
      await rejectsWith("SESSION_MISSING", store.update(key, { data: "y", expiresAt: future, version: 1 }));
      await store.touch(key, future + 1);
      expect(await store.get(key)).toBeNull();
      // create takes the key over: it holds nothing of ours.
      await store.create(key, "mine", future);
      expect(await store.get(key)).toEqual({ data: "mine", expiresAt: future, version: 1 });
      await store.delete(key);
    }
  });
});

describe("scripts", () => {
  it("recover when the server loses its script cache (NOSCRIPT)", async () => {
    const store = newStore();
    const key = newKey();
    const expiresAt = Date.now() + 60_000;
    await store.create(key, "a", expiresAt);
    await store.update(key, { data: "b", expiresAt, version: 1 });
    await store.touch(key, expiresAt + 1);

    await client.script("FLUSH");
    expect(await client.script("EXISTS", "0000000000000000000000000000000000000000")).toEqual([0]);
    const other = newKey();
    await store.create(other, "c", expiresAt);
    await client.script("FLUSH");
    expect((await store.update(key, { data: "c", expiresAt, version: 2 })).version).toBe(3);
    await client.script("FLUSH");
    await store.touch(key, expiresAt + 2);
    expect(await store.get(key)).toEqual({ data: "c", expiresAt: expiresAt + 2, version: 3 });
    expect((await store.get(other))?.data).toBe("c");
    await store.delete(key);
    await store.delete(other);
  });

  it("never uses KEYS or SCAN, and touches only keys under its prefix", async () => {
    const store = newStore();
    const seen: string[][] = [];
    const bareWrites: string[] = [];
    const monitor = await monitorClient.monitor();
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      seen.push(args);
      // A write outside a script could overwrite without comparing.
      if (!source.includes("lua") && /^(SET|HSET|PEXPIREAT)$/i.test(args[0] ?? "")) bareWrites.push(args[0]!);
    });
    try {
      const key = newKey();
      const expiresAt = Date.now() + 60_000;
      await store.get(key);
      await store.create(key, "a", expiresAt);
      await store.update(key, { data: "b", expiresAt, version: 1 });
      await store.touch(key, expiresAt + 5);
      await store.get(key);
      await store.delete(key);
      // MONITOR reports asynchronously; the marker shows everything before it has arrived.
      const marker = `marker-${randomUUID()}`;
      await client.echo(marker);
      const deadline = Date.now() + 5000;
      while (!seen.some((a) => a.includes(marker)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const ours = seen.filter((a) => !a.includes(marker) && a.some((x) => x.includes(store.prefix)));
      expect(ours.length).toBeGreaterThanOrEqual(6);
      const names = seen.map((a) => (a[0] ?? "").toUpperCase());
      expect(names).not.toContain("KEYS");
      expect(names).not.toContain("SCAN");
      expect(bareWrites).toEqual([]);
      expect(names).toContain("SET");
      // Every data command carries exactly this session's key.
      for (const args of ours) {
        const keyArgs = args.filter((x) => x.startsWith(store.prefix));
        expect(keyArgs).toEqual([store.redisKey(key)]);
      }
    } finally {
      monitor.disconnect();
    }
  });

  it("sends nothing to Redis for a hostile key", async () => {
    const store = newStore();
    const seen: string[][] = [];
    const monitor = await monitorClient.monitor();
    monitor.on("monitor", (_time: string, args: string[]) => seen.push(args));
    try {
      const hostile: unknown[] = [
        "short",
        "A".repeat(32),
        "a".repeat(65),
        "../../etc/passwd",
        "a*",
        "ab}cdefgh{",
        42,
        null,
      ];
      for (const key of hostile) {
        await rejectsWith("INVALID_ARGUMENT", store.get(key as string));
        await rejectsWith("INVALID_ARGUMENT", store.create(key as string, "x", Date.now() + 1000));
        await rejectsWith("INVALID_ARGUMENT", store.delete(key as string));
      }
      const marker = `marker-${randomUUID()}`;
      await client.echo(marker);
      const deadline = Date.now() + 5000;
      while (!seen.some((a) => a.includes(marker)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen.filter((a) => a.some((x) => x.includes(store.prefix)))).toEqual([]);
    } finally {
      monitor.disconnect();
    }
  });
});

describe("write coalescing", () => {
  /** Counts the socket writes a client makes, and the bytes of each. */
  function countWrites(redis: Redis): { writes: number[]; restore: () => void } {
    const stream = (redis as unknown as { stream: import("node:net").Socket }).stream;
    const writes: number[] = [];
    const original = stream._writev?.bind(stream);
    const single = stream._write.bind(stream);
    stream._writev = (chunks, cb) => {
      writes.push(chunks.reduce((n, c) => n + Buffer.byteLength(c.chunk as string), 0));
      original!(chunks, cb);
    };
    stream._write = (chunk, encoding, cb) => {
      writes.push(Buffer.byteLength(chunk as string));
      single(chunk, encoding, cb);
    };
    return {
      writes,
      restore() {
        // Both are Socket.prototype methods: dropping the own overrides restores them.
        Reflect.deleteProperty(stream, "_writev");
        Reflect.deleteProperty(stream, "_write");
      },
    };
  }

  it("sends the commands issued in one tick in one socket write, in order, and each gets its own answer", async () => {
    const own = new Redis(REDIS_URL);
    own.on("error", () => {});
    await own.ping();
    const store = createRedisSessionStore({ client: own, prefix: `test:${randomUUID()}:` });
    const expiresAt = Date.now() + 60_000;
    const keys = Array.from({ length: 20 }, newKey);
    await Promise.all(keys.map((k, i) => store.create(k, `v${i}`, expiresAt)));
    const counter = countWrites(own);
    try {
      const read = await Promise.all(keys.map((k) => store.get(k)));
      expect(read.map((r) => r?.data)).toEqual(keys.map((_, i) => `v${i}`));
      expect(counter.writes.length).toBe(1);
      // A command alone is not held back: it is written on the next tick, without waiting.
      counter.writes.length = 0;
      expect((await store.get(keys[0]!))?.data).toBe("v0");
      expect(counter.writes.length).toBe(1);
      // Updates of one key in one tick keep their order: the first wins, the second conflicts.
      counter.writes.length = 0;
      const [first, second] = await Promise.allSettled([
        store.update(keys[1]!, { data: "first", expiresAt, version: 1 }),
        store.update(keys[1]!, { data: "second", expiresAt, version: 1 }),
      ]);
      expect(first.status).toBe("fulfilled");
      expect(second.status === "rejected" && PorterError.is(second.reason, "SESSION_CONFLICT")).toBe(true);
      expect(counter.writes.length).toBe(1);
      expect((await store.get(keys[1]!))?.data).toBe("first");
    } finally {
      counter.restore();
      await Promise.all(keys.map((k) => store.delete(k)));
      await own.quit();
    }
  });

  it("leaves a client that pipelines by itself (enableAutoPipelining) to do so", async () => {
    const own = new Redis(REDIS_URL, { enableAutoPipelining: true });
    own.on("error", () => {});
    await own.ping();
    const store = createRedisSessionStore({ client: own, prefix: `test:${randomUUID()}:` });
    const stream = (own as unknown as { stream: import("node:net").Socket }).stream;
    let corks = 0;
    const cork = stream.cork.bind(stream);
    stream.cork = () => {
      corks++;
      cork();
    };
    try {
      const keys = Array.from({ length: 5 }, newKey);
      expect(await Promise.all(keys.map((k) => store.get(k)))).toEqual([null, null, null, null, null]);
      expect(corks).toBe(0);
      expect(stream.writableCorked).toBe(0);
    } finally {
      await own.quit();
    }
  });
});

describe("configuration", () => {
  it.each([
    ["empty", ""],
    ["a brace (would break the hash tag)", "a{b"],
    ["a closing brace", "a}"],
    ["a space", "a b"],
    ["CRLF", "a\r\nFLUSHALL\r\n"],
    ["a glob", "sess:*"],
    ["NUL", "a\u0000"],
    ["too long", "p".repeat(129)],
    ["not a string", 42],
  ])("rejects a prefix with %s", (_name, prefix) => {
    expect(() => createRedisSessionStore({ client, prefix: prefix as string })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
  });

  it("needs exactly one of client and url, and a sane timeout", () => {
    const bad: unknown[] = [
      {},
      { client, url: REDIS_URL },
      { url: "http://127.0.0.1:6379" },
      { client: {} },
      { client, commandTimeoutMs: 0 },
      { client, commandTimeoutMs: Number.NaN },
    ];
    for (const options of bad) {
      expect(() => createRedisSessionStore(options as never)).toThrow(
        expect.objectContaining({ code: "INVALID_CONFIG" }),
      );
    }
  });

  it("close() quits a client it created and never one it was given", async () => {
    const given = createRedisSessionStore({ client, prefix: `test:${randomUUID()}:` });
    await given.close();
    expect(client.status).toBe("ready");
    expect(await client.ping()).toBe("PONG");

    const name = `porter-test-${randomBytes(6).toString("hex")}`;
    const owned = createRedisSessionStore({
      url: REDIS_URL,
      prefix: `test:${randomUUID()}:`,
      redisOptions: { connectionName: name },
    });
    const key = newKey();
    await owned.create(key, "x", Date.now() + 60_000);
    expect(await client.client("LIST")).toContain(`name=${name}`);
    await owned.close();
    const deadline = Date.now() + 5000;
    while (String(await client.client("LIST")).includes(`name=${name}`) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await client.client("LIST")).not.toContain(`name=${name}`);
    await rejectsWith("STORE_UNAVAILABLE", owned.get(key));
    await client.del(owned.redisKey(key));
  });
});

describe("resources", () => {
  it("leaves no handle behind after creating, using and closing its own client 20 times", async () => {
    const handles = () => process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap").length;
    const baseline = handles();
    for (let i = 0; i < 20; i++) {
      const store = createRedisSessionStore({ url: REDIS_URL, prefix: `test:${randomUUID()}:` });
      const key = newKey();
      await store.create(key, "x", Date.now() + 60_000);
      await store.delete(key);
      await store.close();
    }
    const deadline = Date.now() + 5000;
    while (handles() > baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(handles()).toBeLessThanOrEqual(baseline);
  });
});

describe("outages", () => {
  let start: number;
  beforeAll(() => {
    start = Date.now();
  });

  it("rejects with StoreUnavailableError, never null, when nothing listens", async () => {
    const store = createRedisSessionStore({ url: "redis://127.0.0.1:1", commandTimeoutMs: 1000 });
    try {
      const key = newKey();
      const t0 = Date.now();
      const err = await rejectsWith("STORE_UNAVAILABLE", store.get(key));
      expect(err.cause).toBeInstanceOf(Error);
      await rejectsWith("STORE_UNAVAILABLE", store.create(key, "x", Date.now() + 1000));
      await rejectsWith(
        "STORE_UNAVAILABLE",
        store.update(key, { data: "x", expiresAt: Date.now() + 1000, version: 1 }),
      );
      await rejectsWith("STORE_UNAVAILABLE", store.touch(key, Date.now() + 1000));
      await rejectsWith("STORE_UNAVAILABLE", store.delete(key));
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(err.message).not.toContain(key);
    } finally {
      await store.close();
    }
    expect(Date.now() - start).toBeLessThan(10_000);
  });
});
