import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { PorterError } from "@porter/core";
import { createManualClock } from "@porter/core/conformance";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pipelinedClientConfig } from "../src/connection.js";
import {
  createPostgresSessionStore,
  createPostgresUserStore,
  type PostgresSessionStore,
} from "../src/index.js";
import { DATABASE_URL, dropSchema, openTestPool, uniqueName } from "./helpers.js";

const HOUR = 3_600_000;
const schema = uniqueName("porter_spec");
let pool: pg.Pool;
let tables = 0;

beforeAll(async () => {
  pool = await openTestPool();
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

const key = () => randomBytes(32).toString("hex");

async function freshStore(extra: Partial<Parameters<typeof createPostgresSessionStore>[0]> = {}) {
  const store = createPostgresSessionStore({ pool, schema, table: `s_${++tables}`, ...extra });
  await store.ensureSchema();
  return store;
}

/** A store on connections of its own (pipelined by default), on a new table of this run's schema. */
function ownStore(extra: Partial<Parameters<typeof createPostgresSessionStore>[0]> = {}) {
  return createPostgresSessionStore({
    connectionString: DATABASE_URL,
    schema,
    table: `s_${++tables}`,
    ...extra,
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** Records every query the stores send through `pool`. */
function spyOn(target: pg.Pool) {
  const sent: pg.QueryConfig[] = [];
  const original = target.query.bind(target);
  const spy = ((config: pg.QueryConfig, ...rest: unknown[]) => {
    sent.push(config);
    return (original as (...args: unknown[]) => unknown)(config, ...rest);
  }) as typeof target.query;
  const spied = Object.create(target, { query: { value: spy } }) as pg.Pool;
  return { pool: spied, sent };
}

describe("schema", () => {
  it("ensureSchema is idempotent and safe when two processes run it at once", async () => {
    // Two stores with their own pools stand for two processes; fresh names each round.
    for (let round = 0; round < 3; round++) {
      const s = uniqueName("porter_race");
      const make = () =>
        createPostgresSessionStore({
          connectionString: DATABASE_URL,
          schema: s,
          table: "sessions",
          maxConnections: 1,
        });
      const makeUsers = () =>
        createPostgresUserStore({ connectionString: DATABASE_URL, schema: s, maxConnections: 1 });
      const makeDjango = () =>
        createPostgresSessionStore({
          connectionString: DATABASE_URL,
          schema: s,
          django: true,
          maxConnections: 1,
        });
      const stores = [make(), make(), makeUsers(), makeUsers(), makeDjango(), makeDjango()];
      try {
        const results = await Promise.allSettled(stores.map((store) => store.ensureSchema()));
        expect(results.map((r) => r.status)).toEqual(Array(6).fill("fulfilled"));
        await Promise.all(stores.map((store) => store.ensureSchema()));
        const { rows } = await pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1",
          [s],
        );
        expect(rows[0]?.n).toBe(4);
      } finally {
        await Promise.all(stores.map((store) => store.close()));
        await dropSchema(pool, s);
      }
    }
  });

  it("creates the session table, its primary key and the expiry index", async () => {
    const store = await freshStore();
    const table = store.tableName.split(".")[1]!.replaceAll('"', "");
    const { rows: columns } = await pool.query(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
      [schema, table],
    );
    expect(columns).toEqual([
      { column_name: "key", data_type: "text" },
      { column_name: "data", data_type: "text" },
      { column_name: "expires_at", data_type: "bigint" },
      { column_name: "version", data_type: "integer" },
    ]);
    const { rows: indexes } = await pool.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname",
      [schema, table],
    );
    expect(indexes.map((i) => i.indexdef.replace(/^.* USING /, ""))).toEqual([
      "btree (expires_at)",
      "btree (key)",
    ]);
  });

  it("refuses hostile table and schema names at construction, before anything is sent", () => {
    const corpus = JSON.parse(
      readFileSync(new URL("../../../../shared/security/bad-inputs.json", import.meta.url), "utf8"),
    ) as { id: string; target: string; value: string }[];
    const identifiers = corpus.filter((e) => e.id === "CFG-001" || e.id === "CFG-002").map((e) => e.value);
    expect(identifiers).toHaveLength(2);
    const others = ["", "a.b", "a;b", 'a"b', "a b", "1abc", "x".repeat(41), "sess\u0000ions", "tablé", "$1"];
    const spy = spyOn(pool);
    for (const value of [...identifiers, ...others, 42, null]) {
      const attempts = [
        () => createPostgresSessionStore({ pool: spy.pool, table: value as string }),
        () => createPostgresSessionStore({ pool: spy.pool, schema: value as string }),
        () => createPostgresSessionStore({ pool: spy.pool, schema: value as string, django: true }),
        () => createPostgresUserStore({ pool: spy.pool, schema: value as string }),
        () => createPostgresUserStore({ pool: spy.pool, tablePrefix: value as string }),
      ];
      for (const attempt of attempts) {
        let thrown: unknown;
        try {
          attempt();
        } catch (error) {
          thrown = error;
        }
        // An empty prefix is allowed for the user store (tables "users", "groups").
        if (value === "" && attempt === attempts[4]) continue;
        expect(PorterError.is(thrown, "INVALID_CONFIG"), `${JSON.stringify(value)} → ${String(thrown)}`).toBe(
          true,
        );
      }
    }
    expect(spy.sent).toHaveLength(0);
  });

  it("refuses a missing or doubled connection, and bad timeouts", () => {
    for (const options of [
      {},
      { pool, connectionString: DATABASE_URL },
      { pool, queryTimeoutMs: 0 },
      { pool, queryTimeoutMs: Number.NaN },
      { pool, cleanupBatchSize: 0 },
      { pool, connectTimeoutMs: -1 },
      { pool, applicationName: "a\nb" },
    ]) {
      expect(() => createPostgresSessionStore(options)).toThrow(
        expect.objectContaining({ code: "INVALID_CONFIG" }),
      );
    }
  });

  it("an operation on a table that does not exist is the driver's error, not an outage", async () => {
    const store = createPostgresSessionStore({ pool, schema, table: "never_created" });
    const error = await rejection(store.get(key()));
    expect(PorterError.is(error)).toBe(false);
    expect((error as { code?: string }).code).toBe("42P01");
  });
});

describe("statements", () => {
  it("one named, parameterized statement per operation; data never appears in the SQL", async () => {
    const base = await freshStore();
    const spy = spyOn(pool);
    const store = createPostgresSessionStore({ pool: spy.pool, schema, table: `s_${tables}` });
    const k = key();
    const secret = `secret-${randomBytes(8).toString("hex")}`;
    const created = await store.create(k, secret, Date.now() + HOUR);
    await store.get(k);
    const updated = await store.update(k, { ...created, data: `${secret}!` });
    await store.touch(k, Date.now() + 2 * HOUR);
    await store.delete(k);
    await store.clearExpired();
    expect(spy.sent).toHaveLength(6);
    for (const config of spy.sent) {
      expect(config.name).toMatch(/^porter_[0-9a-f]{24}$/);
      expect(config.text).not.toContain(secret);
      expect(config.text).not.toContain(k);
      expect(config.text).toMatch(/\$1/);
    }
    expect(new Set(spy.sent.map((c) => c.name)).size).toBe(6);
    expect(updated.version).toBe(2);
    await base.close();
  });

  it("statements are prepared once per connection", async () => {
    const single = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    single.on("error", () => {});
    try {
      const store = createPostgresSessionStore({ pool: single, schema, table: `s_${++tables}` });
      await store.ensureSchema();
      for (let i = 0; i < 5; i++) {
        const k = key();
        const record = await store.create(k, "x", Date.now() + HOUR);
        await store.get(k);
        await store.update(k, record);
      }
      const { rows } = await single.query<{ name: string }>(
        "SELECT name FROM pg_prepared_statements WHERE name LIKE 'porter_%'",
      );
      expect(rows).toHaveLength(3);
    } finally {
      await single.end();
    }
  });

  it("two stores on one pool never share a statement name", async () => {
    const a = await freshStore();
    const b = await freshStore();
    const k = key();
    await a.create(k, "in a", Date.now() + HOUR);
    await b.create(k, "in b", Date.now() + HOUR);
    expect((await a.get(k))?.data).toBe("in a");
    expect((await b.get(k))?.data).toBe("in b");
  });
});

describe("data", () => {
  it("stores well-formed text as is and escapes only what PostgreSQL text cannot hold", async () => {
    const store = await freshStore();
    const raw = async (k: string) =>
      (await pool.query<{ data: string }>(`SELECT data FROM ${store.tableName} WHERE key = $1`, [k])).rows[0]
        ?.data;
    const plain = '{"a":"ü😀 مرحبا \\\\ \\u0000"}';
    const awkward = [
      "nul \u0000 here",
      "lone \ud800",
      "low \udc00 end",
      "\u0001porter:looks escaped \\0",
      "\\0\\\\\\u0041",
    ];
    const k = key();
    await store.create(k, plain, Date.now() + HOUR);
    expect(await raw(k)).toBe(plain);
    for (const data of awkward) {
      const kk = key();
      await store.create(kk, data, Date.now() + HOUR);
      expect((await store.get(kk))?.data).toBe(data);
      expect(await raw(kk)).not.toContain("\u0000");
    }
  });

  it("round-trips every single code unit exactly", async () => {
    const store = await freshStore();
    let all = "";
    for (let c = 0; c < 0x10000; c++) all += String.fromCharCode(c);
    const k = key();
    await store.create(k, all, Date.now() + HOUR);
    expect((await store.get(k))?.data === all).toBe(true);
  });

  it("rejects a key or record of the wrong shape with a typed error", async () => {
    const store = await freshStore();
    for (const attempt of [
      () => store.create("short", "x", Date.now() + HOUR),
      () => store.create(key(), 42 as unknown as string, Date.now() + HOUR),
      () => store.create(key(), "x", Number.NaN),
      () => store.update(key(), { data: "x", expiresAt: Date.now() + HOUR, version: 1.5 }),
      () => store.update(key(), null as unknown as never),
    ]) {
      expect((await rejection(attempt())) as PorterError).toMatchObject({ code: "INVALID_ARGUMENT" });
    }
  });
});

describe("versions and races", () => {
  it("an update waiting on a row another writer changes reports a conflict, exactly", async () => {
    const store = await freshStore();
    const k = key();
    const created = await store.create(k, "v1", Date.now() + HOUR);
    const other = await pool.connect();
    try {
      await other.query("BEGIN");
      await other.query(
        `UPDATE ${store.tableName} SET data = 'other', version = version + 1 WHERE key = $1`,
        [k],
      );
      const pending = rejection(store.update(k, { ...created, data: "mine" }));
      await waitForLockWaiter();
      await other.query("COMMIT");
      expect(await pending).toMatchObject({ code: "SESSION_CONFLICT" });
      expect((await store.get(k))?.data).toBe("other");
    } finally {
      other.release();
    }
  });

  it("an update waiting on a row another request deletes reports it missing, and never recreates it", async () => {
    const store = await freshStore();
    const k = key();
    const created = await store.create(k, "v1", Date.now() + HOUR);
    const other = await pool.connect();
    try {
      await other.query("BEGIN");
      await other.query(`DELETE FROM ${store.tableName} WHERE key = $1`, [k]);
      const pending = rejection(store.update(k, { ...created, data: "mine" }));
      await waitForLockWaiter();
      await other.query("COMMIT");
      expect(await pending).toMatchObject({ code: "SESSION_MISSING" });
      expect(await store.get(k)).toBeNull();
    } finally {
      other.release();
    }
  });

  it("an update waiting on a row another request touches still applies, keeping the version check", async () => {
    const store = await freshStore();
    const k = key();
    const created = await store.create(k, "v1", Date.now() + HOUR);
    const other = await pool.connect();
    try {
      await other.query("BEGIN");
      await other.query(`UPDATE ${store.tableName} SET expires_at = expires_at + 1000 WHERE key = $1`, [k]);
      const pending = store.update(k, { ...created, data: "mine", expiresAt: created.expiresAt + 5000 });
      await waitForLockWaiter();
      await other.query("COMMIT");
      expect(await pending).toEqual({ data: "mine", expiresAt: created.expiresAt + 5000, version: 2 });
      expect(await store.get(k)).toEqual({ data: "mine", expiresAt: created.expiresAt + 5000, version: 2 });
    } finally {
      other.release();
    }
  });

  it("concurrent updates and a delete: the deleted session stays deleted", async () => {
    const store = await freshStore();
    for (let round = 0; round < 10; round++) {
      const k = key();
      const created = await store.create(k, "v1", Date.now() + HOUR);
      const results = await Promise.allSettled([
        ...Array.from({ length: 5 }, (_, i) => store.update(k, { ...created, data: `w${i}` })),
        store.delete(k),
        ...Array.from({ length: 5 }, (_, i) => store.update(k, { ...created, data: `x${i}` })),
      ]);
      for (const r of results) {
        if (r.status === "rejected") expect(["SESSION_CONFLICT", "SESSION_MISSING"]).toContain(r.reason.code);
      }
      expect(await store.get(k)).toBeNull();
    }
  });

  it("expiry is decided by the application's clock, passed to the statement", async () => {
    const clock = createManualClock();
    const store = await freshStore({ clock: clock.now });
    const k = key();
    await store.create(k, "x", clock.now() + 1000);
    expect(await store.get(k)).not.toBeNull();
    // The database's own clock still says "live"; the store's clock says "expired".
    clock.advance(1000);
    expect(await store.get(k)).toBeNull();
    clock.advance(-1);
    expect(await store.get(k)).not.toBeNull();
  });
});

async function waitForLockWaiter(): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const { rows } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
    );
    if ((rows[0]?.n ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("the update never waited on the row lock");
}

describe("clearExpired", () => {
  async function seedExpired(store: PostgresSessionStore, n: number, expiresAt: number) {
    await pool.query(
      `INSERT INTO ${store.tableName} (key, data, expires_at, version)
       SELECT md5(random()::text || g::text), 'old', $1, 1 FROM generate_series(1, $2) g`,
      [expiresAt, n],
    );
  }

  it("deletes in bounded batches, returns the count and keeps live rows", async () => {
    const spy = spyOn(pool);
    const store = createPostgresSessionStore({
      pool: spy.pool,
      schema,
      table: `s_${++tables}`,
      cleanupBatchSize: 5000,
    });
    await store.ensureSchema();
    await seedExpired(store, 12_000, Date.now() - 1000);
    const live = key();
    await store.create(live, "live", Date.now() + HOUR);
    spy.sent.length = 0;
    expect(await store.clearExpired()).toBe(12_000);
    expect(spy.sent).toHaveLength(3);
    expect((await store.get(live))?.data).toBe("live");
    expect(await store.clearExpired()).toBe(0);
  });

  it("skips rows another transaction holds instead of waiting, and live reads go on", async () => {
    const store = await freshStore({ queryTimeoutMs: 60_000 });
    await seedExpired(store, 20_000, Date.now() - 1000);
    const held = key();
    await pool.query(`INSERT INTO ${store.tableName} VALUES ($1, 'held', $2, 1)`, [held, Date.now() - 1000]);
    const live = key();
    await store.create(live, "live", Date.now() + HOUR);
    const other = await pool.connect();
    try {
      await other.query("BEGIN");
      await other.query(`SELECT 1 FROM ${store.tableName} WHERE key = $1 FOR UPDATE`, [held]);
      const clearing = store.clearExpired();
      const reads = await Promise.all(Array.from({ length: 20 }, () => store.get(live)));
      expect(reads.every((r) => r?.data === "live")).toBe(true);
      expect(await clearing).toBe(20_000);
    } finally {
      await other.query("ROLLBACK");
      other.release();
    }
    expect(await store.clearExpired()).toBe(1);
  });

  it("stops between batches when the store is closed", async () => {
    const store = ownStore({
      cleanupBatchSize: 100,
    });
    await store.ensureSchema();
    await seedExpired(store, 20_000, Date.now() - 1000);
    const clearing = store.clearExpired().catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await store.close();
    const outcome = await clearing;
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${store.tableName}`);
    expect(rows[0]!.n).toBeGreaterThan(0);
    if (typeof outcome === "number") expect(outcome).toBe(20_000 - rows[0]!.n);
    else expect(outcome).toMatchObject({ code: "STORE_UNAVAILABLE" });
  });
});

describe("pools and failures", () => {
  it("never ends the application's pool, and adds an error listener only where none was", async () => {
    const appPool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    expect(appPool.listenerCount("error")).toBe(0);
    const store = createPostgresSessionStore({ pool: appPool, schema, table: `s_${++tables}` });
    expect(appPool.listenerCount("error")).toBe(1);
    await store.ensureSchema();
    await store.close();
    expect(appPool.listenerCount("error")).toBe(0);
    expect((await appPool.query("SELECT 1 AS one")).rows[0].one).toBe(1);
    // Still usable: closing a store over an app pool releases nothing of the app's.
    expect(await store.get(key())).toBeNull();
    appPool.on("error", () => {});
    const second = createPostgresSessionStore({ pool: appPool, schema, table: `s_${tables}` });
    expect(appPool.listenerCount("error")).toBe(1);
    await second.close();
    await appPool.end();
  });

  it("its own pool: closed by close(); 100 open/use/close cycles leave no handles behind", async () => {
    const baseline = countHandles();
    for (let i = 0; i < 100; i++) {
      const store = createPostgresSessionStore({ connectionString: DATABASE_URL, schema, table: "s_1" });
      await store.get(key());
      await store.close();
      await store.close();
    }
    await waitUntil(() => countHandles() <= baseline, 5000);
    expect(countHandles()).toBeLessThanOrEqual(baseline);
    const closed = createPostgresSessionStore({ connectionString: DATABASE_URL, schema, table: "s_1" });
    await closed.close();
    expect(await rejection(closed.get(key()))).toMatchObject({ code: "STORE_UNAVAILABLE" });
  });

  // Each failure test runs over the pipelined connections (the default of a store's own
  // connections) and over the pool alone.
  const paths = [
    { path: "pipelined", pipelineConnections: 4 },
    { path: "pool only", pipelineConnections: 0 },
  ] as const;

  it.each(paths)(
    "survives its backends being terminated mid-run: in-flight calls may fail typed, later ones succeed ($path)",
    async ({ pipelineConnections }) => {
      const applicationName = `porter-test-${randomBytes(4).toString("hex")}`;
      const store = ownStore({
        applicationName,
        maxConnections: 4,
        pipelineConnections,
      });
      await store.ensureSchema();
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown) => uncaught.push(error);
      process.on("uncaughtException", onUncaught);
      try {
        const keys = await Promise.all(
          Array.from({ length: 8 }, async () => {
            const k = key();
            await store.create(k, "x", Date.now() + HOUR);
            return k;
          }),
        );
        const failures: unknown[] = [];
        let stop = false;
        const workers = keys.map(async (k) => {
          while (!stop) {
            try {
              await store.get(k);
              const record = await store.get(k);
              if (record) await store.update(k, record);
            } catch (error) {
              failures.push(error);
            }
          }
        });
        let terminated = 0;
        for (let i = 0; i < 5; i++) {
          await new Promise((resolve) => setTimeout(resolve, 40));
          const { rows } = await pool.query<{ n: number }>(
            "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1",
            [applicationName],
          );
          terminated += rows[0]?.n ?? 0;
        }
        stop = true;
        await Promise.all(workers);
        expect(terminated).toBeGreaterThan(0);
        for (const error of failures) {
          expect(["STORE_UNAVAILABLE", "SESSION_CONFLICT"]).toContain((error as PorterError).code);
        }
        // Nothing restarted: the next operations simply work.
        for (const k of keys) {
          const record = await store.get(k);
          expect(record?.data).toBe("x");
          await store.update(k, record!);
        }
        expect(uncaught).toEqual([]);
      } finally {
        process.off("uncaughtException", onUncaught);
        await store.close();
      }
    },
  );

  it.each(paths)(
    "reads retry once when their connection was terminated just before, so they do not fail ($path)",
    async ({ pipelineConnections }) => {
      const applicationName = `porter-retry-${randomBytes(4).toString("hex")}`;
      const store = ownStore({
        applicationName,
        maxConnections: 1,
        pipelineConnections: pipelineConnections === 0 ? 0 : 1,
      });
      await store.ensureSchema();
      try {
        const k = key();
        await store.create(k, "x", Date.now() + HOUR);
        for (let i = 0; i < 20; i++) {
          await pool.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            [applicationName],
          );
          expect((await store.get(k))?.data).toBe("x");
        }
      } finally {
        await store.close();
      }
    },
  );

  it("a statement stuck behind a lock rejects with StoreUnavailableError within its deadline", async () => {
    const own = ownStore({
      queryTimeoutMs: 400,
    });
    await own.ensureSchema();
    const borrowed = createPostgresSessionStore({ pool, schema, table: `s_${tables}`, queryTimeoutMs: 400 });
    const locker = await pool.connect();
    try {
      await locker.query("BEGIN");
      await locker.query(`LOCK TABLE ${own.tableName} IN ACCESS EXCLUSIVE MODE`);
      for (const store of [own, borrowed]) {
        const started = Date.now();
        const error = await rejection(store.get(key()));
        expect(error).toMatchObject({ code: "STORE_UNAVAILABLE" });
        expect(Date.now() - started).toBeLessThan(400 + 1500);
      }
    } finally {
      await locker.query("ROLLBACK");
      locker.release();
    }
    // The timed-out statements cost nothing lasting: both stores answer again.
    try {
      expect(await own.get(key())).toBeNull();
      expect(await borrowed.get(key())).toBeNull();
    } finally {
      await own.close();
    }
  });

  it("a server that accepts and never answers: StoreUnavailableError within the connect deadline", async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const store = createPostgresSessionStore({
      connectionString: `postgres://postgres:s3cr3t@127.0.0.1:${port}/test`,
      connectTimeoutMs: 500,
    });
    try {
      for (const op of [() => store.get(key()), () => store.create(key(), "x", Date.now() + HOUR)]) {
        const started = Date.now();
        const error = (await rejection(op())) as Error;
        expect(error).toMatchObject({ code: "STORE_UNAVAILABLE" });
        expect(Date.now() - started).toBeLessThan(500 + 1000);
        expect(error.message).not.toContain("s3cr3t");
      }
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("pipelined connections", () => {
  const backends = async (applicationName: string) => {
    const { rows } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
      [applicationName],
    );
    return rows[0]!.n;
  };
  const appName = () => `porter-pipe-${randomBytes(4).toString("hex")}`;
  /**
   * A store on its own connections over a table another store created, so that its own pool is
   * never used and every backend under its application name is one it opened for statements.
   */
  const storeBesideSchema = async (extra: Partial<Parameters<typeof createPostgresSessionStore>[0]>) => {
    const applicationName = appName();
    const table = `s_${++tables}`;
    const schemaOwner = await freshStore({ table });
    return { store: ownStore({ table, applicationName, ...extra }), schemaOwner, applicationName };
  };

  it("carry many concurrent operations over one connection, each with its own answer", async () => {
    const { store, schemaOwner, applicationName } = await storeBesideSchema({ pipelineConnections: 1 });
    try {
      const keys = Array.from({ length: 300 }, key);
      await Promise.all(keys.map((k, i) => store.create(k, `value ${i}`, Date.now() + HOUR)));
      const records = await Promise.all(keys.map((k) => store.get(k)));
      expect(records.map((r) => r?.data)).toEqual(keys.map((_, i) => `value ${i}`));
      const updated = await Promise.all(keys.map((k, i) => store.update(k, records[i]!)));
      expect(updated.every((r) => r.version === 2)).toBe(true);
      // A stale version among them is a conflict for that one only.
      const mixed = await Promise.allSettled(
        keys.map((k, i) => store.update(k, i === 7 ? records[i]! : updated[i]!)),
      );
      expect(
        mixed.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason.code),
      ).toEqual(["SESSION_CONFLICT"]);
      expect(await backends(applicationName)).toBe(1);
    } finally {
      await store.close();
      await schemaOwner.close();
    }
    expect(await settle(() => backends(applicationName), 0)).toBe(0);
  });

  it("with pipelineConnections: 0 every statement takes a pooled connection of its own", async () => {
    const { store, schemaOwner, applicationName } = await storeBesideSchema({
      pipelineConnections: 0,
      maxConnections: 6,
    });
    try {
      const keys = Array.from({ length: 300 }, key);
      await Promise.all(keys.map((k) => store.create(k, "x", Date.now() + HOUR)));
      expect(await backends(applicationName)).toBeGreaterThan(1);
      expect(await backends(applicationName)).toBeLessThanOrEqual(6);
    } finally {
      await store.close();
      await schemaOwner.close();
    }
  });

  it("beside an application's pool take the pool's connection settings, password included, not its sizing", () => {
    const password = () => "from a vault";
    const appPool = new pg.Pool({
      connectionString: DATABASE_URL,
      password,
      application_name: "app",
      statement_timeout: 1234,
      max: 3,
      idleTimeoutMillis: 50,
    });
    const config = pipelinedClientConfig(appPool) as Record<string, unknown>;
    expect(config).toMatchObject({
      connectionString: DATABASE_URL,
      application_name: "app",
      statement_timeout: 1234,
      pipeline: true,
    });
    expect(config.password).toBe(password);
    for (const option of ["max", "min", "idleTimeoutMillis", "maxUses", "allowExitOnIdle"]) {
      expect(config).not.toHaveProperty(option);
    }
    void appPool.end();
  });

  it("with an application's pool: opened with the pool's settings, ended by close(), the pool untouched", async () => {
    const applicationName = appName();
    const appPool = new pg.Pool({
      connectionString: DATABASE_URL,
      max: 1,
      application_name: applicationName,
    });
    appPool.on("error", () => {});
    const store = createPostgresSessionStore({
      pool: appPool,
      schema,
      table: `s_${++tables}`,
      pipelineConnections: 2,
    });
    try {
      await store.ensureSchema();
      const keys = Array.from({ length: 200 }, key);
      await Promise.all(keys.map((k) => store.create(k, "x", Date.now() + HOUR)));
      expect((await Promise.all(keys.map((k) => store.get(k)))).every((r) => r?.data === "x")).toBe(true);
      // One pooled connection (the schema) and at most the two pipelined ones.
      const during = await backends(applicationName);
      expect(during).toBeGreaterThan(1);
      expect(during).toBeLessThanOrEqual(3);
      await store.close();
      expect(await settle(() => backends(applicationName), appPool.totalCount)).toBe(appPool.totalCount);
      expect((await appPool.query("SELECT 1 AS one")).rows[0].one).toBe(1);
      // A closed store over an app pool goes on working through the pool, as it always has.
      expect((await store.get(keys[0]!))?.data).toBe("x");
    } finally {
      await store.close();
      await appPool.end();
    }
  });

  it("close() lets the statements already sent finish, then ends the connections", async () => {
    const { store, schemaOwner, applicationName } = await storeBesideSchema({ pipelineConnections: 2 });
    try {
      const keys = Array.from({ length: 100 }, key);
      await Promise.all(keys.map((k) => store.create(k, "x", Date.now() + HOUR)));
      const reads = keys.map((k) => store.get(k));
      await store.close();
      expect((await Promise.all(reads)).every((r) => r?.data === "x")).toBe(true);
      expect(await settle(() => backends(applicationName), 0)).toBe(0);
      expect(await rejection(store.get(keys[0]!))).toMatchObject({ code: "STORE_UNAVAILABLE" });
    } finally {
      await schemaOwner.close();
    }
  });

  it("an idle pipelined connection that dies is reported to onPoolError and replaced", async () => {
    const errors: Error[] = [];
    const { store, schemaOwner, applicationName } = await storeBesideSchema({
      pipelineConnections: 1,
      onPoolError: (error) => errors.push(error),
    });
    try {
      const k = key();
      await store.create(k, "x", Date.now() + HOUR);
      await pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [
        applicationName,
      ]);
      await waitUntil(() => errors.length > 0, 3000);
      expect(errors.length).toBeGreaterThan(0);
      // The next statements open a fresh connection; nothing was restarted.
      expect((await store.get(k))?.data).toBe("x");
      await store.update(k, (await store.get(k))!);
      expect(await backends(applicationName)).toBe(1);
    } finally {
      await store.close();
      await schemaOwner.close();
    }
  });

  it("an update waiting on a row lock holds up only its own connection", async () => {
    const applicationName = appName();
    const store = ownStore({
      applicationName,
      pipelineConnections: 2,
    });
    await store.ensureSchema();
    const locker = await pool.connect();
    try {
      const locked = key();
      const other = key();
      const record = await store.create(locked, "x", Date.now() + HOUR);
      await store.create(other, "y", Date.now() + HOUR);
      await locker.query("BEGIN");
      await locker.query(`SELECT 1 FROM ${store.tableName} WHERE key = $1 FOR UPDATE`, [locked]);
      const waiting = store.update(locked, record);
      let settled = false;
      void waiting.then(
        () => (settled = true),
        () => (settled = true),
      );
      const lockWaits = async () => {
        const { rows } = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [applicationName],
        );
        return rows[0]!.n;
      };
      expect(await settle(lockWaits, 1)).toBe(1);
      // Reads and writes of other sessions go on while the update waits.
      for (let i = 0; i < 20; i++) {
        const got = await store.get(other);
        expect(got?.data).toBe("y");
        await store.update(other, got!);
      }
      expect(settled).toBe(false);
      await locker.query("COMMIT");
      expect((await waiting).version).toBe(2);
    } finally {
      await locker.query("ROLLBACK").catch(() => {});
      locker.release();
      await store.close();
    }
  });
});

function countHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap" || r === "Timeout").length;
}

/** `read()` once it returns `expected`, or its last value after 3 s. */
async function settle<T>(read: () => Promise<T>, expected: T): Promise<T> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const value = await read();
    if (value === expected || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}
