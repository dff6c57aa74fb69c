import type { InspectedRecord } from "../src/conformance/session-store.js";
import type { SessionStore } from "../src/contracts.js";
import { StoreUnavailableError } from "../src/errors.js";
import { cachedSessionStore } from "../src/stores/cached-session-store.js";
import { createMemorySessionStore, type MemorySessionStore } from "../src/stores/memory-session-store.js";

/** The kit's `inspect` for a memory store: its record as held, read without any cache in front. */
export async function inspectMemory(store: SessionStore, key: string): Promise<InspectedRecord | null> {
  const record = await store.get(key);
  return record === null ? null : { data: record.data, expiresAt: record.expiresAt };
}

/** A memory store that no longer serves: the in-process equivalent of a backend that is gone. */
export async function closedMemoryStore(): Promise<MemorySessionStore> {
  const store = createMemorySessionStore();
  await store.close();
  return store;
}

const backing = new WeakMap<SessionStore, SessionStore>();

/** A cached store (memory cache in front of a memory store) whose backing store `inspectBacking` reads. */
export function cachedOverMemory(clock: () => number): SessionStore {
  const store = createMemorySessionStore({ clock });
  const cached = cachedSessionStore({ cache: createMemorySessionStore({ clock }), store });
  backing.set(cached, store);
  return cached;
}

/** The kit's `inspect` for `cachedOverMemory`: the record in the backing store, not the cache. */
export function inspectBacking(cached: SessionStore, key: string): Promise<InspectedRecord | null> {
  const store = backing.get(cached);
  if (store === undefined) throw new Error("inspectBacking: not a store made by cachedOverMemory");
  return inspectMemory(store, key);
}

/** A store whose backend is down: every call fails the way a driver would. */
export function brokenStore(): SessionStore {
  const fail = async (): Promise<never> => {
    throw new StoreUnavailableError("backend down", { cause: new Error("ECONNREFUSED") });
  };
  return {
    contractVersion: 1,
    capabilities: { versioned: true, nativeExpiry: true, touch: true, clearExpired: false },
    get: fail,
    create: fail,
    update: fail,
    touch: fail,
    delete: fail,
  };
}

/** A cached store whose backing store is down (its cache is fine). */
export function cachedOverBroken(): SessionStore {
  return cachedSessionStore({ cache: createMemorySessionStore(), store: brokenStore() });
}
