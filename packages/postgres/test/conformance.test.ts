import { createManualClock, describeSessionStore } from "@porter/core/conformance";
import type pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { createPostgresSessionStore, type PostgresSessionStore } from "../src/index.js";
import { decodeStoredText } from "../src/text-escape.js";
import { DATABASE_URL, dropSchema, openTestPool, uniqueName } from "./helpers.js";

const schema = uniqueName("porter_conf");
let pool: pg.Pool;
let tables = 0;

beforeAll(async () => {
  pool = await openTestPool();
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

async function rawRow(store: PostgresSessionStore, key: string, django: boolean) {
  const text = django
    ? `SELECT session_data AS data, floor(extract(epoch FROM expire_date)::numeric * 1000)::float8 AS expires_at FROM ${store.tableName} WHERE session_key = $1`
    : `SELECT data, expires_at FROM ${store.tableName} WHERE key = $1`;
  const { rows } = await pool.query<{ data: string; expires_at: string | number }>(text, [key]);
  const row = rows[0];
  return row === undefined ? null : { data: decodeStoredText(row.data), expiresAt: Number(row.expires_at) };
}

/** A store whose server is gone: nothing listens on port 1. */
const unreachable = (django = false) =>
  createPostgresSessionStore({
    connectionString: "postgres://postgres@127.0.0.1:1/test",
    connectTimeoutMs: 1000,
    django,
  });

const clock = createManualClock();
describeSessionStore<PostgresSessionStore>("postgres (application's pool, injected clock)", {
  create: async () => {
    const store = createPostgresSessionStore({
      pool,
      schema,
      table: `sessions_${++tables}`,
      clock: clock.now,
    });
    await store.ensureSchema();
    return store;
  },
  inspect: (store, key) => rawRow(store, key, false),
  clock,
  unreachable: () => unreachable(),
  deadlineMs: 3000,
});

describeSessionStore<PostgresSessionStore>("postgres (own pool, real clock)", {
  create: async () => {
    const store = createPostgresSessionStore({
      connectionString: DATABASE_URL,
      schema,
      table: `sessions_${++tables}`,
      maxConnections: 4,
    });
    await store.ensureSchema();
    return store;
  },
  inspect: (store, key) => rawRow(store, key, false),
  unreachable: () => unreachable(),
  deadlineMs: 3000,
});

// Django's session_key is varchar(40) and the engine hands Django mode 32-character keys; the
// kit's keys are 64 characters, so this wrapper keeps their first 40 (still unique).
const djangoClock = createManualClock();
const shorten = (key: unknown) =>
  typeof key === "string" && /^[a-z0-9]{41,64}$/.test(key) ? key.slice(0, 40) : key;
function withShortKeys(store: PostgresSessionStore): PostgresSessionStore {
  return {
    ...store,
    get: (key) => store.get(shorten(key) as string),
    create: (key, data, expiresAt) => store.create(shorten(key) as string, data, expiresAt),
    update: (key, record) => store.update(shorten(key) as string, record),
    touch: (key, expiresAt) => store.touch(shorten(key) as string, expiresAt),
    delete: (key) => store.delete(shorten(key) as string),
  };
}
describeSessionStore<PostgresSessionStore>("postgres (Django table)", {
  create: async () => {
    const store = createPostgresSessionStore({
      pool,
      schema,
      table: `django_session_${++tables}`,
      django: true,
      clock: djangoClock.now,
    });
    await store.ensureSchema();
    return withShortKeys(store);
  },
  inspect: (store, key) => rawRow(store, shorten(key) as string, true),
  clock: djangoClock,
  unreachable: () => withShortKeys(unreachable(true)),
  deadlineMs: 3000,
});
