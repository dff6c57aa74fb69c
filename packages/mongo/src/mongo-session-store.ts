import {
  ConfigError,
  SessionConflictError,
  SessionExistsError,
  SessionMissingError,
  type SessionStore,
} from "@porter/core";
import { type Collection, MongoError } from "mongodb";
import {
  allExpiredFilter,
  expiredFilter,
  liveFilter,
  liveRecord,
  liveVersionFilter,
  MAX_SESSION_BYTES,
  SESSION_INDEXES,
  type SessionDocument,
  sessionDocument,
  sessionFilter,
  sessionUpdate,
  touchUpdate,
} from "./documents.js";
import {
  call,
  checkCollectionName,
  connect,
  isDuplicateKey,
  type MongoConnectionOptions,
} from "./mongo-connection.js";

export interface MongoSessionStoreOptions extends MongoConnectionOptions {
  /** The collection. @default "porter_sessions" */
  collection?: string;
  /** The clock reads and filters compare `expiresAt` against. @default Date.now */
  clock?: () => number;
  /** The largest session accepted, in bytes; larger ones are refused with `SessionTooLargeError` before any request. @default about 16 MiB */
  maxSessionBytes?: number;
  /** `clearExpired`: documents removed per batch. @default 1000 */
  cleanupBatchSize?: number;
}

/** A `SessionStore` on MongoDB, plus its index management. */
export interface MongoSessionStore extends SessionStore {
  readonly collectionName: string;
  /** Creates the TTL index on the expiry (`expireAfterSeconds: 0`). Safe to run twice. */
  ensureIndexes(): Promise<void>;
  touch(key: string, expiresAt: number): Promise<void>;
  /**
   * Deletes expired sessions in batches of `cleanupBatchSize` (the TTL monitor does this too,
   * once a minute); resolves how many it removed. `close()` stops it between batches.
   */
  clearExpired(): Promise<number>;
  close(): Promise<void>;
}

/**
 * A `SessionStore` on MongoDB: `_id` is the key, a TTL index on `x` expires sessions natively,
 * and every filter names the key as `{ _id: { $eq: key } }` with a key that passed
 * `isStoreKey`, so no operator from outside can reach a query. The TTL monitor runs once a
 * minute, so reads and filters also compare the expiry themselves.
 */
export function createMongoSessionStore(options: MongoSessionStoreOptions): MongoSessionStore {
  const collectionName = checkCollectionName(options.collection ?? "porter_sessions");
  const now = options.clock ?? Date.now;
  const maxBytes = options.maxSessionBytes ?? MAX_SESSION_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0 || maxBytes > MAX_SESSION_BYTES) {
    throw new ConfigError(`maxSessionBytes must be a positive integer up to ${MAX_SESSION_BYTES}`);
  }
  const batchSize = options.cleanupBatchSize ?? 1000;
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0) {
    throw new ConfigError("cleanupBatchSize must be a positive integer");
  }
  const conn = connect(options);
  const sessions: Collection<SessionDocument> = conn.db.collection<SessionDocument>(collectionName);
  let closed = false;

  const find = (key: string) => call("findOne", () => sessions.findOne(sessionFilter(key)));

  return {
    contractVersion: 1,
    capabilities: { versioned: true, nativeExpiry: true, touch: true, clearExpired: true },
    collectionName,

    async ensureIndexes() {
      try {
        await call("createIndexes", () => sessions.createIndexes([...SESSION_INDEXES]));
      } catch (err) {
        throw indexConflict(err, collectionName) ?? err;
      }
    },

    async get(key) {
      return liveRecord(await find(key), now());
    },

    async create(key, data, expiresAt) {
      const doc = sessionDocument(key, data, expiresAt, 1, maxBytes);
      try {
        await call("insertOne", () => sessions.insertOne(doc));
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        // Taken: only an expired session (the TTL monitor has not reached it yet) may be replaced.
        const { matchedCount } = await call("replaceOne", () =>
          sessions.replaceOne(expiredFilter(key, now()), doc),
        );
        if (matchedCount !== 1) throw new SessionExistsError(key);
      }
      return { data, expiresAt, version: 1 };
    },

    async update(key, record) {
      const { data, expiresAt, version } = record;
      const filter = liveVersionFilter(key, version, now());
      const change = sessionUpdate(data, expiresAt, maxBytes);
      const { matchedCount } = await call("updateOne", () => sessions.updateOne(filter, change));
      if (matchedCount === 1) return { data, expiresAt, version: version + 1 };
      // Nothing matched: one read, on this failure path only, tells a conflict from a missing session.
      throw liveRecord(await find(key), now()) === null
        ? new SessionMissingError(key)
        : new SessionConflictError(key);
    },

    async touch(key, expiresAt) {
      const filter = liveFilter(key, now());
      const change = touchUpdate(expiresAt);
      await call("updateOne", () => sessions.updateOne(filter, change));
    },

    async delete(key) {
      const filter = sessionFilter(key);
      await call("deleteOne", () => sessions.deleteOne(filter));
    },

    async clearExpired() {
      const cutoff = now();
      let removed = 0;
      while (!closed) {
        const batch = await call("find", () =>
          sessions
            .find(allExpiredFilter(cutoff), { projection: { _id: 1 }, limit: batchSize })
            .map((d) => d._id)
            .toArray(),
        );
        if (batch.length === 0) break;
        const { deletedCount } = await call("deleteMany", () =>
          sessions.deleteMany({ _id: { $in: batch }, ...allExpiredFilter(cutoff) }),
        );
        removed += deletedCount;
        if (batch.length < batchSize) break;
      }
      return removed;
    },

    async close() {
      closed = true;
      await conn.close();
    },
  };
}

/** An index of the same name or keys exists with other options: a configuration problem, not an outage. */
export function indexConflict(err: unknown, collection: string): ConfigError | undefined {
  const cause = err instanceof MongoError ? err : (err as { cause?: unknown } | undefined)?.cause;
  if (cause instanceof MongoError && (cause.code === 85 || cause.code === 86)) {
    return new ConfigError(
      `${collection} has an index on the same keys with other options; drop it or use another collection`,
    );
  }
  return undefined;
}
