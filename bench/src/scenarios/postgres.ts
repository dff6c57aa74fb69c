import { createSessionEngine } from "@porter/core";
import { createPostgresSessionStore } from "@porter/postgres";
import connectPgSimple from "connect-pg-simple";
import session from "express-session";
import pg from "pg";
import { peerDriver, porterDriver } from "../drivers.js";
import { MAX_AGE, RUN_ID } from "../session-data.js";
import { type Measure, runStoreSuite } from "./store-suite.js";

export const DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";
/** Every table this run makes lives in this schema; `dropSchema` removes it. */
export const PG_SCHEMA = `bench_${RUN_ID}`;
const POOL_SIZE = 10;

/** A pool per contender, all the same size (pg's default, 10). */
export function pgPool(max = POOL_SIZE): pg.Pool {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max, application_name: "porter-bench" });
  pool.on("error", () => {});
  return pool;
}

export const q = (name: string) => `"${PG_SCHEMA}"."${name}"`;

/** connect-pg-simple's own table.sql, in this run's schema. */
export async function createPeerTable(pool: pg.Pool, name = "session"): Promise<void> {
  await pool.query(`CREATE SCHEMA IF NOT EXISTS "${PG_SCHEMA}"`);
  await pool.query(
    `CREATE TABLE ${q(name)} ("sid" varchar NOT NULL COLLATE "default", "sess" json NOT NULL, "expire" timestamp(6) NOT NULL)`,
  );
  await pool.query(`ALTER TABLE ${q(name)} ADD CONSTRAINT "${name}_pkey" PRIMARY KEY ("sid")`);
  await pool.query(`CREATE INDEX "IDX_${name}_expire" ON ${q(name)} ("expire")`);
}

/** A connect-pg-simple store on `pool`, without its prune timer (the benchmark prunes explicitly). */
export function peerPgStore(pool: pg.Pool, tableName = "session") {
  const PGStore = connectPgSimple(session);
  return new PGStore({ pool, schemaName: PG_SCHEMA, tableName, pruneSessionInterval: false });
}

export async function dropSchema(): Promise<void> {
  const pool = pgPool(1);
  try {
    await pool.query(`DROP SCHEMA IF EXISTS "${PG_SCHEMA}" CASCADE`);
  } finally {
    await pool.end();
  }
}

export async function postgresSuite(measure: Measure, destroyOps: number): Promise<void> {
  const pools = [pgPool(), pgPool(), pgPool()] as const;
  const [porterPool, peerPool, rawPool] = pools;
  const stores: { close(): Promise<void> }[] = [];
  try {
    // Porter as the README recommends: its own connections, pipelined (8 at most, fewer than
    // the peer's and the bound's pool of 10) ...
    const store = createPostgresSessionStore({ connectionString: DATABASE_URL, schema: PG_SCHEMA });
    stores.push(store);
    await store.ensureSchema();
    const engine = createSessionEngine({ store, maxAge: MAX_AGE, cookie: { secure: false } });
    // ... and on an application's pool of 10, one statement per pooled connection, as the peer.
    const pooledStore = createPostgresSessionStore({
      pool: porterPool,
      schema: PG_SCHEMA,
      table: "porter_pooled",
    });
    await pooledStore.ensureSchema();
    const pooled = createSessionEngine({ store: pooledStore, maxAge: MAX_AGE, cookie: { secure: false } });
    await createPeerTable(peerPool);
    const peer = peerPgStore(peerPool);
    await rawPool.query(
      `CREATE TABLE ${q("raw_sessions")} (key text PRIMARY KEY, data text NOT NULL, expires_at bigint NOT NULL)`,
    );
    const read = {
      name: `bench_raw_get_${RUN_ID}`,
      text: `SELECT data FROM ${q("raw_sessions")} WHERE key = $1`,
    };
    const write = {
      name: `bench_raw_put_${RUN_ID}`,
      text: `UPDATE ${q("raw_sessions")} SET data = $2, expires_at = $3 WHERE key = $1`,
    };
    const readData = async (key: string): Promise<string> => {
      const { rows } = await rawPool.query<{ data: string }>({ ...read, values: [key] });
      if (rows[0] === undefined) throw new Error("raw postgres: row missing");
      return rows[0].data;
    };
    await runStoreSuite(
      {
        engine: "postgres",
        porterName: "porter postgres",
        porter: porterDriver(engine),
        porterAlt: { name: "porter postgres, app's pool, not pipelined", driver: porterDriver(pooled) },
        peerName: "connect-pg-simple",
        peer: peerDriver(peer),
        bound: {
          name: "raw pg, prepared",
          saveOps: "SELECT + UPDATE",
          readOps: "SELECT",
          async seed(visitor, bytes) {
            const key = `raw${visitor}`;
            await rawPool.query(`INSERT INTO ${q("raw_sessions")} VALUES ($1, $2, $3)`, [
              key,
              bytes,
              Date.now() + MAX_AGE * 1000,
            ]);
            return key;
          },
          async loadSave(key) {
            const data = await readData(key);
            await rawPool.query({ ...write, values: [key, data, Date.now() + MAX_AGE * 1000] });
          },
          async loadOnly(key) {
            await readData(key);
          },
        },
        destroyOps,
      },
      measure,
    );
  } finally {
    await Promise.allSettled([...stores.map((s) => s.close()), ...pools.map((p) => p.end())]);
    await dropSchema();
  }
}
