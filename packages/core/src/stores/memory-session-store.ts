import type { SessionRecord, SessionStore } from "../contracts.js";
import {
  SessionConflictError,
  SessionExistsError,
  SessionMissingError,
  StoreUnavailableError,
} from "../errors.js";
import { checkStoreKey } from "./session-args.js";

export interface MemorySessionStoreOptions {
  /** @default Date.now — inject one to move time in tests. */
  clock?: () => number;
}

export interface MemorySessionStore extends SessionStore {
  /** Records held, expired ones included (until `clearExpired`). */
  readonly size: number;
  /** Drops every record; from then on every call rejects with `StoreUnavailableError`, as a closed network store's do. */
  close(): Promise<void>;
}

/**
 * The reference `SessionStore`: a `Map` in this process. For tests, development and
 * single-process apps; sessions are lost on restart.
 */
export function createMemorySessionStore(options: MemorySessionStoreOptions = {}): MemorySessionStore {
  const now = options.clock ?? Date.now;
  const records = new Map<string, SessionRecord>();
  let closed = false;
  /** Checks the key, and that the store still serves. */
  const serving = (key: string): void => {
    if (closed) throw new StoreUnavailableError("memory session store: the store was closed");
    checkStoreKey(key);
  };

  const live = (key: string): SessionRecord | undefined => {
    const record = records.get(key);
    return record !== undefined && record.expiresAt > now() ? record : undefined;
  };

  return {
    contractVersion: 1,
    capabilities: { versioned: true, nativeExpiry: false, touch: true, clearExpired: true },
    get size() {
      return records.size;
    },
    async get(key) {
      serving(key);
      return live(key) ?? null;
    },
    async create(key, data, expiresAt) {
      serving(key);
      if (live(key) !== undefined) throw new SessionExistsError(key);
      const record = { data, expiresAt, version: 1 };
      records.set(key, record);
      return record;
    },
    async update(key, record) {
      serving(key);
      const current = live(key);
      if (current === undefined) throw new SessionMissingError(key);
      if (current.version !== record.version) throw new SessionConflictError(key);
      const next = { data: record.data, expiresAt: record.expiresAt, version: record.version + 1 };
      records.set(key, next);
      return next;
    },
    async touch(key, expiresAt) {
      serving(key);
      const current = live(key);
      if (current !== undefined) records.set(key, { ...current, expiresAt });
    },
    async delete(key) {
      serving(key);
      records.delete(key);
    },
    async clearExpired() {
      if (closed) throw new StoreUnavailableError("memory session store: the store was closed");
      const t = now();
      let removed = 0;
      for (const [key, record] of records) {
        if (record.expiresAt <= t) {
          records.delete(key);
          removed++;
        }
      }
      return removed;
    },
    async close() {
      closed = true;
      records.clear();
    },
  };
}
