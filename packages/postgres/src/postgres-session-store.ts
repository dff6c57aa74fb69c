import {
  ConfigError,
  checkSessionData,
  checkStoreKey,
  InvalidArgumentError,
  isStoreKey,
  SessionConflictError,
  SessionExistsError,
  SessionMissingError,
  type SessionRecord,
  type SessionStore,
} from "@porter/core";
import { openConnection, type PostgresConnectionOptions } from "./connection.js";
import { checkIdentifier, createSchemaStatement, djangoIndexName, quoteIdent, statement } from "./sql.js";
import { decodeStoredText, encodeStoredText } from "./text-escape.js";

export interface PostgresSessionStoreOptions extends PostgresConnectionOptions {
  /** The table. @default "porter_sessions", or "django_session" with `django: true` */
  table?: string;
  /** The schema holding the table. @default "public" */
  schema?: string;
  /**
   * Read and write Django's `django_session` table (`session_key`, `session_data`,
   * `expire_date`), so a Django app and a Porter app share sessions. Configure the engine with
   * `codec: djangoCodec({ secret })` and `hashKeys: false`. Not versioned: `update` is last
   * write wins, and still never recreates a missing or expired row.
   */
  django?: boolean;
  /**
   * The clock that decides what is expired, in epoch ms: the application's, the same clock
   * that computed `expiresAt`, sent as a statement parameter (the database's clock is not used).
   * @default Date.now
   */
  clock?: () => number;
  /** Rows deleted per statement by `clearExpired()`. @default 5000 */
  cleanupBatchSize?: number;
}

/** A `SessionStore` on PostgreSQL, with the DDL it needs. */
export interface PostgresSessionStore extends SessionStore {
  readonly touch: (key: string, expiresAt: number) => Promise<void>;
  readonly clearExpired: () => Promise<number>;
  readonly close: () => Promise<void>;
  /** The schema-qualified, quoted table name, for tests and tools. */
  readonly tableName: string;
  /**
   * Creates the schema (if absent), the table and its expiry index. Idempotent, and safe to run
   * from several processes at once (it holds an advisory lock in one transaction). In Django
   * mode it creates the table exactly as Django's `sessions.0001_initial` migration does.
   */
  ensureSchema(): Promise<void>;
}

interface Row {
  data: string;
  expires_at: string | number;
  version: number;
}

/**
 * A session store on PostgreSQL (pg 8). One named statement and one round trip per operation;
 * `create` never overwrites a live row; `update` compares the version in its `WHERE`.
 */
export function createPostgresSessionStore(options: PostgresSessionStoreOptions): PostgresSessionStore {
  const django = options.django === true;
  const schema = checkIdentifier(options.schema === undefined ? "public" : options.schema, "schema");
  const defaultTable = django ? "django_session" : "porter_sessions";
  const table = checkIdentifier(options.table === undefined ? defaultTable : options.table, "table");
  const clock = options.clock ?? Date.now;
  if (typeof clock !== "function") throw new ConfigError("clock must be a function returning epoch ms");
  const batchSize = options.cleanupBatchSize ?? 5000;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new ConfigError("cleanupBatchSize must be an integer from 1 to 100000");
  }
  const what = "PostgreSQL session store";
  const db = openConnection(options, what);
  const T = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  const sql = django ? djangoStatements(T) : porterStatements(T);
  const ddl = django ? djangoDdl(schema, table) : porterDdl(schema, table);
  let closing = false;

  // A record is live while expiresAt > now, i.e. from floor(now) + 1 on (expiresAt is whole ms).
  const liveFrom = () => Math.floor(clock()) + 1;

  function checkWrite(key: unknown, data: unknown, expiresAt: unknown): number {
    const storeKey = checkStoreKey(key);
    if (django && storeKey.length > 40) {
      throw new InvalidArgumentError(
        "Django's session_key holds at most 40 characters: configure the engine with hashKeys: false",
      );
    }
    checkSessionData(data);
    if (typeof expiresAt !== "number" || !Number.isFinite(expiresAt)) {
      throw new InvalidArgumentError("expiresAt must be a finite number of epoch ms");
    }
    // The column holds whole milliseconds; rounding up never ends a session early.
    return Math.ceil(expiresAt);
  }

  const readable = (key: unknown): key is string => isStoreKey(key) && (!django || key.length <= 40);

  return {
    contractVersion: 1,
    capabilities: { versioned: !django, nativeExpiry: false, touch: true, clearExpired: true },
    tableName: T,

    async get(key) {
      if (!readable(key)) return null;
      const result = await db.query<Row>(sql.get([key, liveFrom()]), true);
      const row = result.rows[0];
      if (row === undefined) return null;
      return { data: decodeStoredText(row.data), expiresAt: Number(row.expires_at), version: row.version };
    },

    async create(key, data, expiresAt) {
      const deadline = checkWrite(key, data, expiresAt);
      const result = await db.query(sql.create([key, encodeStoredText(data), deadline, liveFrom()]), false);
      if (result.rowCount !== 1) throw new SessionExistsError(key);
      return { data, expiresAt: deadline, version: django ? 0 : 1 };
    },

    async update(key, record: SessionRecord) {
      const deadline = checkWrite(key, record?.data, record?.expiresAt);
      const data = encodeStoredText(record.data);
      if (django) {
        const result = await db.query(sql.update([key, data, deadline, liveFrom()]), false);
        if (result.rowCount !== 1) throw new SessionMissingError(key);
        return { data: record.data, expiresAt: deadline, version: 0 };
      }
      if (!Number.isSafeInteger(record.version) || record.version < 0 || record.version > 2 ** 31 - 2) {
        throw new InvalidArgumentError("record.version must be a non-negative integer");
      }
      const now = liveFrom();
      const result = await db.query<{ version: number }>(
        sql.update([key, data, deadline, record.version, now]),
        false,
      );
      const row = result.rows[0];
      if (row !== undefined) return { data: record.data, expiresAt: deadline, version: row.version };
      // The rare path costs a second round trip. A writer that slips in between can only turn
      // "conflict" into "missing" (it deleted the row) or the other way round (the key was
      // re-created): either answer was true at some moment after the update failed.
      const { liveVersion } = sql as ReturnType<typeof porterStatements>;
      const live = await db.query<{ version: number }>(liveVersion([key, now]), true);
      if (live.rows[0] === undefined) throw new SessionMissingError(key);
      throw new SessionConflictError(key);
    },

    async touch(key, expiresAt) {
      if (!readable(key)) return;
      const deadline = checkWrite(key, "", expiresAt);
      await db.query(sql.touch([key, deadline, liveFrom()]), true);
    },

    async delete(key) {
      if (!readable(key)) return;
      await db.query(sql.delete([key]), true);
    },

    async clearExpired() {
      let total = 0;
      while (!closing) {
        const result = await db.queryPooled(sql.clear([liveFrom(), batchSize]), true);
        const removed = result.rowCount ?? 0;
        total += removed;
        if (removed < batchSize) break;
      }
      return total;
    },

    async ensureSchema() {
      await db.migrate(ddl);
    },

    async close() {
      closing = true;
      await db.close();
    },
  };
}

function porterStatements(T: string) {
  return {
    get: statement(`SELECT data, expires_at, version FROM ${T} WHERE key = $1 AND expires_at >= $2`),
    create: statement(
      `INSERT INTO ${T} AS s (key, data, expires_at, version) VALUES ($1, $2, $3, 1)
       ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, expires_at = EXCLUDED.expires_at, version = 1
       WHERE s.expires_at < $4`,
    ),
    // The compare-and-set is the WHERE: under READ COMMITTED an UPDATE that meets a row another
    // transaction is writing waits for it and re-checks the WHERE on the latest committed
    // version, so two writers of one version can never both succeed.
    update: statement(
      `UPDATE ${T} SET data = $2, expires_at = $3, version = version + 1
       WHERE key = $1 AND version = $4 AND expires_at >= $5
       RETURNING version`,
    ),
    // Only after an update matched nothing: is there a live row (then the version was stale,
    // a conflict) or not (the session is gone)?
    liveVersion: statement(`SELECT version FROM ${T} WHERE key = $1 AND expires_at >= $2`),
    touch: statement(`UPDATE ${T} SET expires_at = $2 WHERE key = $1 AND expires_at >= $3`),
    delete: statement(`DELETE FROM ${T} WHERE key = $1`),
    // One batch: lock up to $2 expired rows, skipping rows another transaction holds (never
    // wait on them), then delete exactly those row versions by their physical address, which
    // costs about half of a join on the key. The repeated expiry test is belt and braces: a
    // row version that changed meanwhile has a new address and is not matched anyway.
    clear: statement(
      `DELETE FROM ${T} WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM ${T} WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED))
       AND expires_at < $1`,
    ),
  };
}

// Django keeps timestamptz; Porter speaks epoch ms. to_timestamp(ms / 1000) is exact to the
// microsecond, and the read floors to whole ms so `expiresAt <= now` and the SQL agree.
const TS = (n: number) => `to_timestamp($${n}::float8 / 1000)`;
const MS = "floor(extract(epoch FROM expire_date)::numeric * 1000)::float8";

function djangoStatements(T: string) {
  return {
    get: statement(
      `SELECT session_data AS data, ${MS} AS expires_at, 0 AS version FROM ${T}
       WHERE session_key = $1 AND expire_date >= ${TS(2)}`,
    ),
    create: statement(
      `INSERT INTO ${T} AS s (session_key, session_data, expire_date) VALUES ($1, $2, ${TS(3)})
       ON CONFLICT (session_key) DO UPDATE SET session_data = EXCLUDED.session_data, expire_date = EXCLUDED.expire_date
       WHERE s.expire_date < ${TS(4)}`,
    ),
    update: statement(
      `UPDATE ${T} SET session_data = $2, expire_date = ${TS(3)} WHERE session_key = $1 AND expire_date >= ${TS(4)}`,
    ),
    touch: statement(
      `UPDATE ${T} SET expire_date = ${TS(2)} WHERE session_key = $1 AND expire_date >= ${TS(3)}`,
    ),
    delete: statement(`DELETE FROM ${T} WHERE session_key = $1`),
    clear: statement(
      `DELETE FROM ${T} WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM ${T} WHERE expire_date < ${TS(1)} LIMIT $2 FOR UPDATE SKIP LOCKED))
       AND expire_date < ${TS(1)}`,
    ),
  };
}

function porterDdl(schema: string, table: string): string[] {
  const T = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  return [
    createSchemaStatement(schema),
    `CREATE TABLE IF NOT EXISTS ${T} (
      key text PRIMARY KEY,
      data text NOT NULL,
      expires_at bigint NOT NULL,
      version integer NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${table}_expires_at_idx`)} ON ${T} (expires_at)`,
  ];
}

function djangoDdl(schema: string, table: string): string[] {
  const T = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  return [
    createSchemaStatement(schema),
    `CREATE TABLE IF NOT EXISTS ${T} ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" timestamp with time zone NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(djangoIndexName(table, ["session_key"], "_like"))} ON ${T} ("session_key" varchar_pattern_ops)`,
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(djangoIndexName(table, ["expire_date"]))} ON ${T} ("expire_date")`,
  ];
}
