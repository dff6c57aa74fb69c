import { describe, expect, it } from "vitest";
import { describeSessionStore } from "../src/conformance/index.js";
import { createManualClock } from "../src/conformance/runner.js";
import type { SessionStore } from "../src/contracts.js";
import { PorterError } from "../src/errors.js";
import { cachedSessionStore } from "../src/stores/cached-session-store.js";
import { createMemorySessionStore } from "../src/stores/memory-session-store.js";
import {
  brokenStore,
  cachedOverBroken,
  cachedOverMemory,
  closedMemoryStore,
  inspectBacking,
  inspectMemory,
} from "./memory-kit-helpers.js";

const clock = createManualClock();

describeSessionStore("memory (injected clock)", {
  create: () => createMemorySessionStore({ clock: clock.now }),
  clock,
  inspect: inspectMemory,
  unreachable: closedMemoryStore,
});

describeSessionStore("memory (real time)", {
  create: () => createMemorySessionStore(),
  inspect: inspectMemory,
  unreachable: closedMemoryStore,
});

describeSessionStore("cachedSessionStore (memory cache in front of a memory store)", {
  create: () => cachedOverMemory(clock.now),
  clock,
  inspect: inspectBacking,
  unreachable: cachedOverBroken,
  deadlineMs: 1000,
});

describe("cachedSessionStore", () => {
  it("serves reads from the cache: one cache call, no store call, on a hit", async () => {
    const cache = createMemorySessionStore();
    const store = createMemorySessionStore();
    const calls = { cache: 0, store: 0 };
    const counted = (s: SessionStore, name: "cache" | "store"): SessionStore => ({
      ...s,
      capabilities: s.capabilities,
      get: (k) => {
        calls[name]++;
        return s.get(k);
      },
    });
    const cached = cachedSessionStore({ cache: counted(cache, "cache"), store: counted(store, "store") });
    const key = "a".repeat(64);
    await cached.create(key, "data", Date.now() + 60_000);
    expect((await cached.get(key))?.data).toBe("data"); // the first read fills the cache
    calls.cache = 0;
    calls.store = 0;
    expect((await cached.get(key))?.data).toBe("data");
    expect(calls).toEqual({ cache: 1, store: 0 });
  });

  it("falls back to the store and refills the cache on a miss", async () => {
    const cache = createMemorySessionStore();
    const store = createMemorySessionStore();
    const cached = cachedSessionStore({ cache, store });
    const key = "b".repeat(64);
    await store.create(key, "only-in-store", Date.now() + 60_000);
    expect((await cached.get(key))?.data).toBe("only-in-store");
    expect((await cache.get(key))?.data).toBe("1:only-in-store");
  });

  it("keeps the durable version through the cache, so compare-and-set works on cached reads", async () => {
    const cached = cachedSessionStore({
      cache: createMemorySessionStore(),
      store: createMemorySessionStore(),
    });
    const key = "c".repeat(64);
    const created = await cached.create(key, "v1", Date.now() + 60_000);
    const updated = await cached.update(key, { ...created, data: "v2" });
    expect(updated.version).toBe(2);
    expect(await cached.get(key)).toEqual(updated);
    await expect(cached.update(key, { ...created, data: "stale" })).rejects.toMatchObject({
      code: "SESSION_CONFLICT",
    });
    expect((await cached.get(key))?.data).toBe("v2");
  });

  it("a cache outage degrades reads and writes to the store without failing them", async () => {
    const store = createMemorySessionStore();
    const errors: string[] = [];
    const cached = cachedSessionStore({
      cache: brokenStore(),
      store,
      onCacheError: (_e, op) => errors.push(op),
    });
    const key = "d".repeat(64);
    const created = await cached.create(key, "v1", Date.now() + 60_000);
    expect((await cached.get(key))?.data).toBe("v1");
    await cached.update(key, { ...created, data: "v2" });
    await cached.touch!(key, Date.now() + 120_000);
    expect((await store.get(key))?.data).toBe("v2");
    expect(errors.length).toBeGreaterThan(0);
  });

  it("delete fails closed when the cache cannot forget the session (a stale copy would revive it)", async () => {
    const store = createMemorySessionStore();
    const cached = cachedSessionStore({ cache: brokenStore(), store });
    const key = "e".repeat(64);
    await store.create(key, "v1", Date.now() + 60_000);
    const error = await cached.delete(key).catch((e: unknown) => e);
    expect(PorterError.is(error, "STORE_UNAVAILABLE")).toBe(true);
    expect(await store.get(key)).toBeNull();
  });

  it("flush removes the cached copy too (CVE-2015-3982)", async () => {
    const cache = createMemorySessionStore();
    const cached = cachedSessionStore({ cache, store: createMemorySessionStore() });
    const key = "f".repeat(64);
    await cached.create(key, "secret", Date.now() + 60_000);
    await cached.delete(key);
    expect(await cache.get(key)).toBeNull();
    expect(await cached.get(key)).toBeNull();
  });
});

describe("cachedSessionStore never revives a logged-out session (CVE-2015-3982)", () => {
  /** A cache whose `create` waits until the test lets it land. */
  function slowCache() {
    const inner = createMemorySessionStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const cache: SessionStore = {
      ...inner,
      capabilities: inner.capabilities,
      create: async (k, d, e) => {
        await gate;
        return inner.create(k, d, e);
      },
    };
    return { cache, inner, release };
  }

  it("a read that refills the cache while a logout runs leaves no copy behind", async () => {
    const { cache, inner, release } = slowCache();
    const store = createMemorySessionStore();
    const cached = cachedSessionStore({ cache, store });
    const key = "9".repeat(64);
    await store.create(key, "logged-in", Date.now() + 60_000);
    const read = cached.get(key); // misses the cache, reads the store, then waits to fill
    await new Promise((r) => setTimeout(r, 5));
    await cached.delete(key); // the logout: store, then cache
    release();
    expect((await read)?.data).toBe("logged-in"); // that request began before the logout
    expect(await inner.get(key)).toBeNull();
    expect(await cached.get(key)).toBeNull();
  });

  it("an update racing a delete leaves no copy behind", async () => {
    const { cache, inner, release } = slowCache();
    const store = createMemorySessionStore();
    const cached = cachedSessionStore({ cache, store });
    const key = "8".repeat(64);
    const created = await store.create(key, "v1", Date.now() + 60_000);
    const write = cached.update(key, { ...created, data: "v2" });
    await cached.delete(key);
    release();
    await write.catch(() => {});
    expect(await inner.get(key)).toBeNull();
    expect(await cached.get(key)).toBeNull();
  });
});
