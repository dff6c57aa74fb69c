import type { SessionRecord, SessionStore } from "../contracts.js";
import { ConfigError, PorterError } from "../errors.js";

export interface CachedSessionStoreOptions {
  /** The fast, possibly volatile layer (e.g. Redis). */
  cache: SessionStore;
  /** The durable layer and the source of truth (e.g. PostgreSQL). */
  store: SessionStore;
  /** Told about cache failures the store absorbed (the request still succeeds). */
  onCacheError?: (error: unknown, operation: string) => void;
}

// The cache keeps the durable record's version next to the data, so a read served by the
// cache carries the version the durable store's compare-and-set expects.
function pack(record: SessionRecord): string {
  return `${record.version}:${record.data}`;
}

function unpack(record: SessionRecord): SessionRecord | null {
  const colon = record.data.indexOf(":");
  const version = colon > 0 ? Number(record.data.slice(0, colon)) : Number.NaN;
  if (!Number.isSafeInteger(version)) return null;
  return { data: record.data.slice(colon + 1), expiresAt: record.expiresAt, version };
}

/**
 * Django's `cached_db`: reads through the cache (falling back to the store and refilling
 * the cache, then re-checking the store so a copy never outlives a concurrent logout);
 * writes go to the store and drop the cached copy. The store decides every
 * compare-and-set; the cache is only ever a copy. A cache outage degrades to the store without failing the request —
 * except `delete`, which fails closed: a cached copy that outlived a logout would bring
 * the session back when the cache returns.
 */
export function cachedSessionStore(options: CachedSessionStoreOptions): SessionStore {
  const { cache, store } = options;
  if (cache === store) throw new ConfigError("cachedSessionStore: cache and store must be different stores");
  const report = options.onCacheError ?? (() => {});

  async function quietly<T>(operation: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (error) {
      report(error, operation);
      return undefined;
    }
  }

  /**
   * Copies a durable record into the cache, then checks the durable store again: a logout or
   * a write that landed while the copy was on its way would otherwise be undone by it (the
   * `cached_db` flaw of CVE-2015-3982). Whoever deletes or writes the durable record removes
   * the cache entry after its own write, so every interleaving ends without a stale copy.
   */
  async function fill(key: string, record: SessionRecord): Promise<void> {
    await quietly("fill", async () => {
      try {
        await cache.create(key, pack(record), record.expiresAt);
      } catch (error) {
        if (PorterError.is(error, "SESSION_EXISTS")) return;
        throw error;
      }
      let current: SessionRecord | null = null;
      try {
        current = await store.get(key);
      } catch {
        current = null;
      }
      if (current === null || current.version !== record.version || current.data !== record.data) {
        await cache.delete(key);
      }
    });
  }

  const invalidate = (key: string) => quietly("invalidate", () => cache.delete(key));

  return {
    contractVersion: 1,
    capabilities: {
      versioned: store.capabilities.versioned,
      nativeExpiry: store.capabilities.nativeExpiry,
      touch: true,
      clearExpired: store.capabilities.clearExpired,
    },
    async get(key) {
      const cached = await quietly("get", () => cache.get(key));
      if (cached !== undefined && cached !== null) {
        const record = unpack(cached);
        if (record !== null) return record;
      }
      const record = await store.get(key);
      if (record !== null) await fill(key, record);
      return record;
    },
    async create(key, data, expiresAt) {
      const record = await store.create(key, data, expiresAt);
      // An expired copy may still sit in the cache under a reused key.
      await invalidate(key);
      return record;
    },
    async update(key, record) {
      try {
        return await store.update(key, record);
      } finally {
        // Writes invalidate rather than write through: a copy written after a concurrent
        // logout's cache delete would revive the session. The next read refills (and checks).
        await invalidate(key);
      }
    },
    async touch(key, expiresAt) {
      if (store.touch !== undefined && store.capabilities.touch) {
        await store.touch(key, expiresAt);
      } else {
        const current = await store.get(key);
        if (current === null) return;
        await store.update(key, { ...current, expiresAt });
      }
      await quietly("touch", async () => {
        if (cache.touch !== undefined && cache.capabilities.touch) await cache.touch(key, expiresAt);
        else await cache.delete(key);
      });
    },
    async delete(key) {
      await store.delete(key);
      await cache.delete(key);
    },
    ...(store.clearExpired !== undefined && store.capabilities.clearExpired
      ? { clearExpired: () => store.clearExpired!() }
      : {}),
    async close() {
      await Promise.all([cache.close?.(), store.close?.()]);
    },
  };
}
