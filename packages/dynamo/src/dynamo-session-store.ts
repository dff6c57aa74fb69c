import {
  type AttributeValue,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  ConfigError,
  checkExpiresAt,
  checkSessionData,
  checkSessionRecord,
  checkStoreKey,
  isStoreKey,
  SessionConflictError,
  SessionExistsError,
  SessionMissingError,
  type SessionRecord,
  type SessionStore,
  SessionTooLargeError,
} from "@porter/core";
import {
  checkAttributeName,
  checkTableName,
  connect,
  type DynamoConnectionOptions,
  type EnsureTableOptions,
  ensureTable,
  isConditionFailed,
} from "./dynamo-client.js";
import { decodeSessionData, encodeSessionData } from "./session-data.js";
import { numberAttribute, readNumber } from "./text-attribute.js";

export interface DynamoSessionStoreOptions extends DynamoConnectionOptions {
  /** The table; `ensureTable()` creates it. 3–255 characters of `[A-Za-z0-9_.-]`. @default "porter_sessions" */
  table?: string;
  /**
   * The attribute DynamoDB's TTL sweep reads: the expiry in epoch **seconds**, rounded up.
   * @default "ttl"
   */
  ttlAttribute?: string;
  /** The clock reads and conditions compare `expiresAt` against. @default Date.now */
  clock?: () => number;
  /**
   * The largest item the store writes, in bytes; larger sessions are refused with
   * `SessionTooLargeError` before any request. At most DynamoDB's own limit. @default 409600 (400 KB)
   */
  maxItemBytes?: number;
  /**
   * Data larger than this is deflated before it is written (when that makes it smaller), so
   * sessions cost fewer write units and large ones still fit DynamoDB's 400 KB item limit.
   * @default 16384
   */
  compressAboveBytes?: number;
  /** `clearExpired`: the most requests (Scan pages and deletes) it sends per second. @default 100 */
  cleanupRequestsPerSecond?: number;
}

/** A `SessionStore` on DynamoDB, plus its table management. */
export interface DynamoSessionStore extends SessionStore {
  readonly table: string;
  readonly ttlAttribute: string;
  /**
   * Creates the table if it does not exist (partition key `pk`, on-demand billing), waits for
   * it to become ACTIVE and turns on TTL on `ttlAttribute`. Safe to run twice and concurrently.
   */
  ensureTable(options?: EnsureTableOptions): Promise<void>;
  touch(key: string, expiresAt: number): Promise<void>;
  /**
   * Deletes expired items: a `Scan` that follows `LastEvaluatedKey` to the end, then one
   * conditional delete per item (only if it is still expired), at most
   * `cleanupRequestsPerSecond` requests per second. `close()` stops it; it then resolves
   * what it had removed.
   */
  clearExpired(): Promise<number>;
  close(): Promise<void>;
}

/** DynamoDB's item size limit. */
export const DYNAMO_MAX_ITEM_BYTES = 400 * 1024;

// Item attributes: pk = key, d (+ f) = data (see encodeSessionData), v = version,
// x = expiresAt in epoch ms, and the TTL attribute in epoch seconds.
// What DynamoDB counts for an item besides the key, the data and the TTL attribute's name:
// the other attribute names, and numbers at 21 bytes each (their maximum).
const FIXED_ITEM_BYTES = 2 + 1 + 21 + 1 + 21 + 21;

/**
 * A `SessionStore` on DynamoDB. Every write is conditional, so a create never overwrites a
 * live session, an update never resurrects a deleted one and a stale version never wins.
 * DynamoDB's TTL sweep deletes expired items eventually (it may run days late), so every
 * read and condition also compares `expiresAt` itself.
 */
export function createDynamoSessionStore(options: DynamoSessionStoreOptions = {}): DynamoSessionStore {
  const table = checkTableName(options.table ?? "porter_sessions");
  const ttlAttribute = checkAttributeName(options.ttlAttribute ?? "ttl", "ttlAttribute");
  if (["pk", "d", "f", "v", "x"].includes(ttlAttribute)) {
    throw new ConfigError(`ttlAttribute "${ttlAttribute}" is taken`);
  }
  const now = options.clock ?? Date.now;
  const maxItemBytes = options.maxItemBytes ?? DYNAMO_MAX_ITEM_BYTES;
  if (!Number.isSafeInteger(maxItemBytes) || maxItemBytes <= 0 || maxItemBytes > DYNAMO_MAX_ITEM_BYTES) {
    throw new ConfigError(`maxItemBytes must be a positive integer up to ${DYNAMO_MAX_ITEM_BYTES}`);
  }
  const compressAboveBytes = options.compressAboveBytes ?? 16_384;
  if (!(compressAboveBytes >= 0)) throw new ConfigError("compressAboveBytes must be a number of bytes");
  const rate = options.cleanupRequestsPerSecond ?? 100;
  if (!(rate > 0 && Number.isFinite(rate))) {
    throw new ConfigError("cleanupRequestsPerSecond must be a positive number");
  }
  const conn = connect(options, table);
  const closing = new AbortController();

  const keyOf = (key: string): Record<string, AttributeValue> => ({ pk: { S: checkStoreKey(key) } });

  const item = async (
    key: string,
    data: string,
    expiresAt: number,
    version: number,
  ): Promise<Record<string, AttributeValue>> => {
    checkSessionData(data);
    checkExpiresAt(expiresAt);
    const encoded = await encodeSessionData(data, compressAboveBytes);
    const size = FIXED_ITEM_BYTES + ttlAttribute.length + key.length + encoded.bytes;
    if (size > maxItemBytes) throw new SessionTooLargeError(size, maxItemBytes);
    return {
      pk: { S: key },
      ...encoded.attributes,
      v: numberAttribute(version),
      x: numberAttribute(expiresAt),
      [ttlAttribute]: numberAttribute(Math.ceil(expiresAt / 1000)),
    };
  };

  const getItem = async (key: string): Promise<Record<string, AttributeValue> | undefined> => {
    const { Item } = await conn.send("GetItem", (c) =>
      c.send(new GetItemCommand({ TableName: table, Key: keyOf(key), ConsistentRead: true })),
    );
    return Item;
  };

  /** The live record an item holds, or null when it is absent, expired or not one this store wrote. */
  const liveRecord = async (
    found: Record<string, AttributeValue> | undefined,
  ): Promise<SessionRecord | null> => {
    if (found === undefined) return null;
    const version = readNumber(found.v);
    const expiresAt = readNumber(found.x);
    if (version === undefined || expiresAt === undefined || expiresAt <= now()) return null;
    const data = await decodeSessionData(found);
    return data === undefined ? null : { data, expiresAt, version };
  };

  return {
    contractVersion: 1,
    capabilities: { versioned: true, nativeExpiry: true, touch: true, clearExpired: true },
    table,
    ttlAttribute,

    ensureTable: (opts) => ensureTable(conn, table, ttlAttribute, opts),

    async get(key) {
      return liveRecord(await getItem(key));
    },

    async create(key, data, expiresAt) {
      keyOf(key);
      const record = { data, expiresAt, version: 1 };
      const newItem = await item(key, data, expiresAt, 1);
      try {
        await conn.send("PutItem", (c) =>
          c.send(
            new PutItemCommand({
              TableName: table,
              Item: newItem,
              // An expired item may be replaced: the TTL sweep has simply not reached it yet.
              ConditionExpression: "attribute_not_exists(#pk) OR #x <= :now",
              ExpressionAttributeNames: { "#pk": "pk", "#x": "x" },
              ExpressionAttributeValues: { ":now": numberAttribute(now()) },
            }),
          ),
        );
      } catch (err) {
        if (isConditionFailed(err)) throw new SessionExistsError(key);
        throw err;
      }
      return record;
    },

    async update(key, record) {
      keyOf(key);
      const { data, expiresAt, version } = checkSessionRecord(record);
      const next = { data, expiresAt, version: version + 1 };
      const nextItem = await item(key, data, expiresAt, version + 1);
      try {
        await conn.send("PutItem", (c) =>
          c.send(
            new PutItemCommand({
              TableName: table,
              Item: nextItem,
              // An absent item has no #v, so the comparison alone also refuses to create one.
              ConditionExpression: "#v = :v AND #x > :now",
              ExpressionAttributeNames: { "#v": "v", "#x": "x" },
              ExpressionAttributeValues: { ":v": numberAttribute(version), ":now": numberAttribute(now()) },
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            }),
          ),
        );
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
        // DynamoDB returns the item that failed the check; emulators that do not (dynalite),
        // or an absent item, cost one consistent read, on this failure path only.
        const old = (err as { Item?: Record<string, AttributeValue> }).Item ?? (await getItem(key));
        throw (await liveRecord(old)) === null ? new SessionMissingError(key) : new SessionConflictError(key);
      }
      return next;
    },

    async touch(key, expiresAt) {
      const Key = keyOf(key);
      checkExpiresAt(expiresAt);
      try {
        await conn.send("UpdateItem", (c) =>
          c.send(
            new UpdateItemCommand({
              TableName: table,
              Key,
              UpdateExpression: "SET #x = :x, #t = :t",
              // Never creates an item (an absent one has no #x), and never revives an expired one.
              ConditionExpression: "#x > :now",
              ExpressionAttributeNames: { "#x": "x", "#t": ttlAttribute },
              ExpressionAttributeValues: {
                ":x": numberAttribute(expiresAt),
                ":t": numberAttribute(Math.ceil(expiresAt / 1000)),
                ":now": numberAttribute(now()),
              },
            }),
          ),
        );
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
      }
    },

    async delete(key) {
      const Key = keyOf(key);
      await conn.send("DeleteItem", (c) => c.send(new DeleteItemCommand({ TableName: table, Key })));
    },

    async clearExpired() {
      let removed = 0;
      try {
        return await sweep((n) => {
          removed = n;
        });
      } catch (err) {
        // close() during a sweep destroys an owned client under it: report what was done.
        if (closing.signal.aborted) return removed;
        throw err;
      }
    },

    async close() {
      closing.abort();
      conn.destroy();
    },
  };

  async function sweep(progress: (removed: number) => void): Promise<number> {
    const cutoff = numberAttribute(now());
    const pace = pacer(rate, closing.signal);
    let removed = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      if (!(await pace())) break;
      const page = await conn.send("Scan", (c) =>
        c.send(
          new ScanCommand({
            TableName: table,
            ProjectionExpression: "#pk",
            FilterExpression: "#x <= :now",
            ExpressionAttributeNames: { "#pk": "pk", "#x": "x" },
            ExpressionAttributeValues: { ":now": cutoff },
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        ),
      );
      for (const found of page.Items ?? []) {
        const key = found.pk?.S;
        if (key === undefined || !isStoreKey(key)) continue;
        if (!(await pace())) break;
        try {
          await conn.send("DeleteItem", (c) =>
            c.send(
              new DeleteItemCommand({
                TableName: table,
                Key: { pk: { S: key } },
                // Only if still expired: a session touched since the Scan stays.
                ConditionExpression: "#x <= :now",
                ExpressionAttributeNames: { "#x": "x" },
                ExpressionAttributeValues: { ":now": cutoff },
              }),
            ),
          );
          progress(++removed);
        } catch (err) {
          if (!isConditionFailed(err)) throw err;
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && !closing.signal.aborted);
    return removed;
  }
}

/**
 * Spaces requests `1000 / perSecond` ms apart. Resolves false, at once, when `signal` aborts
 * (the store is closing), so a cleanup in progress stops without leaving a timer behind.
 */
function pacer(perSecond: number, signal: AbortSignal): () => Promise<boolean> {
  const interval = 1000 / perSecond;
  let next = 0;
  return () => {
    if (signal.aborted) return Promise.resolve(false);
    const t = performance.now();
    const wait = next - t;
    next = Math.max(next, t) + interval;
    if (wait <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      }, wait);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  };
}
