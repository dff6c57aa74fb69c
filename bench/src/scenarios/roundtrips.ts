import { rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createSessionEngine, type SessionStore } from "@porter/core";
import { createDynamoSessionStore } from "@porter/dynamo";
import { createFileSessionStore } from "@porter/file";
import { createPostgresSessionStore } from "@porter/postgres";
import { createRedisSessionStore } from "@porter/redis";
import { RedisStore } from "connect-redis";
import type session from "express-session";
import type { Redis } from "ioredis";
import type pg from "pg";
import { type Driver, peerDriver, porterDriver } from "../drivers.js";
import { countFsCalls } from "../fs-count.js";
import { type Finding, table } from "../harness.js";
import { MAX_AGE, RUN_ID, sessionData } from "../session-data.js";
import { peerDynamoStore, startDynalite } from "./dynamo.js";
import { FILE_ROOT, peerFileStore } from "./file.js";
import { createPeerTable, dropSchema, PG_SCHEMA, peerPgStore, pgPool } from "./postgres.js";
import { cleanRedis, REDIS_PREFIX, redisClient } from "./redis.js";

/** Read-only requests per contender; the counts below are divided by it. */
const REQUESTS = 20;

type Counts = Map<string, number>;
const add = (m: Counts, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
const total = (m: Counts) => [...m.values()].reduce((a, b) => a + b, 0);
const perRequest = (m: Counts) =>
  [...m.entries()]
    .sort()
    .map(([k, v]) => `${k} ${+(v / REQUESTS).toFixed(2)}`)
    .join(", ") || "none";

/** Counts the store-contract calls (get, touch, update, …) a Porter store receives. */
function countingStore<S extends SessionStore>(store: S, counts: Counts): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return (...args: unknown[]) => {
        add(counts, prop);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Counts the calls express-session's protocol makes on a peer store (get, touch, set, destroy). */
function countingPeer(store: session.Store, counts: Counts): session.Store {
  const s = store as unknown as Record<string, unknown>;
  for (const name of ["get", "set", "touch", "destroy"]) {
    const fn = s[name];
    if (typeof fn !== "function") continue;
    s[name] = (...args: unknown[]) => {
      add(counts, name);
      return (fn as (...a: unknown[]) => unknown).apply(store, args);
    };
  }
  return store;
}

interface Row {
  store: string;
  contender: string;
  /** Store-contract calls per request (client side). */
  storeCalls: string;
  /** What the backend saw, per request. */
  server: string;
  /** The backend's count per request: commands, statements, requests, fs calls. */
  serverTotal: number;
}

/** Runs REQUESTS read-only requests on one visitor; `count` brackets them with the backend's counter. */
async function measureOne(
  driver: Driver,
  storeCalls: Counts,
  count: (requests: () => Promise<void>) => Promise<Counts>,
): Promise<{ storeCalls: Counts; server: Counts }> {
  const ref = await driver.create(sessionData(1));
  storeCalls.clear();
  const server = await count(async () => {
    for (let i = 0; i < REQUESTS; i++) await driver.loadOnly(ref);
  });
  return { storeCalls: new Map(storeCalls), server };
}

// --- Redis: MONITOR, filtered to the contender's own connection -------------------------

/**
 * Redis: every command the server received from the contender's connection, read from
 * MONITOR (which names the sending client's address), between two ECHO markers the
 * contender's own connection sends. Commands a Lua script runs show up as "lua" and are not
 * round trips. INFO commandstats deltas are printed too, but they also count other clients.
 */
async function redisCount(client: Redis, requests: () => Promise<void>): Promise<Counts> {
  const info = String(await client.client("INFO"));
  const addr = /addr=(\S+)/.exec(info)?.[1];
  if (addr === undefined) throw new Error("redis: CLIENT INFO gave no address");
  const origin = redisClient();
  const monitor = await origin.monitor();
  origin.disconnect();
  const counts: Counts = new Map();
  const marker = `bench-${RUN_ID}-${Math.random().toString(36).slice(2)}`;
  let inside = false;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (source !== addr) return;
    const command = String(args[0]).toLowerCase();
    if (command === "echo" && args[1] === `${marker}-start`) inside = true;
    else if (command === "echo" && args[1] === `${marker}-end`) done();
    else if (inside) add(counts, command);
  });
  try {
    await client.echo(`${marker}-start`);
    await requests();
    await client.echo(`${marker}-end`);
    await Promise.race([
      finished,
      sleep(10_000).then(() => Promise.reject(new Error("MONITOR lost the end marker"))),
    ]);
  } finally {
    monitor.disconnect();
  }
  return counts;
}

async function redisRows(): Promise<Row[]> {
  const porterClient = redisClient();
  const peerClient = redisClient();
  try {
    const porterCalls: Counts = new Map();
    const peerCalls: Counts = new Map();
    const store = countingStore(
      createRedisSessionStore({ client: porterClient, prefix: `${REDIS_PREFIX}rt:porter:` }),
      porterCalls,
    );
    const engine = createSessionEngine({ store, maxAge: MAX_AGE, cookie: { secure: false } });
    const peer = countingPeer(
      new RedisStore({ client: peerClient, prefix: `${REDIS_PREFIX}rt:peer:` }),
      peerCalls,
    );
    const a = await measureOne(porterDriver(engine), porterCalls, (r) => redisCount(porterClient, r));
    const b = await measureOne(peerDriver(peer), peerCalls, (r) => redisCount(peerClient, r));
    return [row("redis", "porter redis", a, "commands"), row("redis", "connect-redis", b, "commands")];
  } finally {
    porterClient.disconnect();
    peerClient.disconnect();
    await cleanRedis();
  }
}

function row(store: string, contender: string, m: { storeCalls: Counts; server: Counts }, unit: string): Row {
  return {
    store,
    contender,
    storeCalls: perRequest(m.storeCalls),
    server: `${unit}: ${perRequest(m.server)}`,
    serverTotal: total(m.server) / REQUESTS,
  };
}

// --- PostgreSQL: the table's own statistics ------------------------------------------------

interface TableStats {
  scans: number;
  updated: number;
}

async function tableStats(pool: pg.Pool, tableName: string): Promise<TableStats> {
  const { rows } = await pool.query<{ scans: string; updated: string }>(
    `SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) AS scans, n_tup_upd AS updated
       FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2`,
    [PG_SCHEMA, tableName],
  );
  if (rows[0] === undefined) throw new Error(`postgres: no statistics for ${tableName}`);
  return { scans: Number(rows[0].scans), updated: Number(rows[0].updated) };
}

/** Reads the statistics until they stop moving (a backend flushes its counts when it exits). */
async function settledStats(pool: pg.Pool, tableName: string, expectAbove?: number): Promise<TableStats> {
  const deadline = Date.now() + 15_000;
  let last = await tableStats(pool, tableName);
  let stable = 0;
  while (Date.now() < deadline) {
    await sleep(100);
    const now = await tableStats(pool, tableName);
    const moved = now.scans !== last.scans || now.updated !== last.updated;
    last = now;
    stable = moved ? 0 : stable + 1;
    if (stable >= 3 && (expectAbove === undefined || now.scans > expectAbove)) return now;
  }
  throw new Error(`postgres: the statistics of ${tableName} did not settle`);
}

/**
 * PostgreSQL: statements that touched the session table, counted by the server in
 * pg_stat_user_tables (sequential + index scans: each statement by key is one scan; an UPDATE
 * also counts its row in n_tup_upd). The requests run on a connection of their own that is
 * closed afterwards, which makes the server publish its counts; the table belongs to this run
 * alone, so no other client's traffic is counted. (pg_stat_statements would count statements
 * directly, but it needs shared_preload_libraries, which a shared server here does not have.)
 */
async function postgresCount(
  statsPool: pg.Pool,
  tableName: string,
  run: (pool: pg.Pool) => Promise<void>,
): Promise<Counts> {
  const before = await settledStats(statsPool, tableName);
  const pool = pgPool(1);
  try {
    await run(pool);
  } finally {
    await pool.end();
  }
  const after = await settledStats(statsPool, tableName, before.scans);
  return new Map([
    ["statements", after.scans - before.scans],
    ["rows updated", after.updated - before.updated],
  ]);
}

async function postgresRows(): Promise<Row[]> {
  const statsPool = pgPool(1);
  try {
    const setup = pgPool(2);
    const setupStore = createPostgresSessionStore({ pool: setup, schema: PG_SCHEMA, table: "rt_porter" });
    await setupStore.ensureSchema();
    await createPeerTable(setup, "rt_peer");
    // The visitor is made on a connection that is gone before counting starts.
    const porterRef = await porterDriver(
      createSessionEngine({ store: setupStore, maxAge: MAX_AGE, cookie: { secure: false } }),
    ).create(sessionData(1));
    const peerRef = await peerDriver(peerPgStore(setup, "rt_peer")).create(sessionData(1));
    await setup.end();

    const porterCalls: Counts = new Map();
    const peerCalls: Counts = new Map();
    const porterServer = await postgresCount(statsPool, "rt_porter", async (pool) => {
      const store = countingStore(
        createPostgresSessionStore({ pool, schema: PG_SCHEMA, table: "rt_porter" }),
        porterCalls,
      );
      const driver = porterDriver(createSessionEngine({ store, maxAge: MAX_AGE, cookie: { secure: false } }));
      for (let i = 0; i < REQUESTS; i++) await driver.loadOnly(porterRef);
    });
    const peerServer = await postgresCount(statsPool, "rt_peer", async (pool) => {
      const driver = peerDriver(countingPeer(peerPgStore(pool, "rt_peer"), peerCalls));
      for (let i = 0; i < REQUESTS; i++) await driver.loadOnly(peerRef);
    });
    const statements = (m: Counts) => (m.get("statements") ?? 0) / REQUESTS;
    return [
      {
        ...row("postgres", "porter postgres", { storeCalls: porterCalls, server: porterServer }, "server"),
        serverTotal: statements(porterServer),
      },
      {
        ...row("postgres", "connect-pg-simple", { storeCalls: peerCalls, server: peerServer }, "server"),
        serverTotal: statements(peerServer),
      },
    ];
  } finally {
    await statsPool.end();
  }
}

// --- DynamoDB: requests the SDK sent --------------------------------------------------------

/** Counts every HTTP request the client sends (retries included), by operation. */
function countRequests(client: DynamoDBClient, counts: Counts, on: () => boolean): void {
  client.middlewareStack.add(
    (next, context) => (args) => {
      if (on()) add(counts, String(context.commandName).replace(/Command$/, ""));
      return next(args);
    },
    { step: "finalizeRequest", priority: "low", name: "benchRequestCounter" },
  );
}

async function dynamoRows(): Promise<Row[]> {
  const dynalite = await startDynalite();
  try {
    const porterClient = dynalite.client();
    const peerClient = dynalite.client();
    let on = false;
    const porterSent: Counts = new Map();
    const peerSent: Counts = new Map();
    countRequests(porterClient, porterSent, () => on);
    countRequests(peerClient, peerSent, () => on);
    const porterCalls: Counts = new Map();
    const peerCalls: Counts = new Map();
    const store = createDynamoSessionStore({ client: porterClient, table: `rt_porter_${RUN_ID}` });
    await store.ensureTable();
    const engine = createSessionEngine({
      store: countingStore(store, porterCalls),
      maxAge: MAX_AGE,
      cookie: { secure: false },
    });
    const peer = countingPeer(await peerDynamoStore(peerClient, `rt_peer_${RUN_ID}`), peerCalls);
    const count = (sent: Counts) => async (requests: () => Promise<void>) => {
      sent.clear();
      on = true;
      try {
        await requests();
      } finally {
        on = false;
      }
      return new Map(sent);
    };
    const a = await measureOne(porterDriver(engine), porterCalls, count(porterSent));
    const b = await measureOne(peerDriver(peer), peerCalls, count(peerSent));
    return [row("dynamo", "porter dynamo", a, "requests"), row("dynamo", "connect-dynamodb", b, "requests")];
  } finally {
    await dynalite.close();
  }
}

// --- Files: fs calls ---------------------------------------------------------------------------

async function fileRows(): Promise<Row[]> {
  const porterCalls: Counts = new Map();
  const peerCalls: Counts = new Map();
  let a: Awaited<ReturnType<typeof measureOne>>;
  let b: Awaited<ReturnType<typeof measureOne>>;
  try {
    const store = countingStore(createFileSessionStore({ dir: join(FILE_ROOT, "porter") }), porterCalls);
    const engine = createSessionEngine({ store, maxAge: MAX_AGE, cookie: { secure: false } });
    const peer = countingPeer(peerFileStore(join(FILE_ROOT, "peer")), peerCalls);
    a = await measureOne(porterDriver(engine), porterCalls, countFsCalls);
    b = await measureOne(peerDriver(peer), peerCalls, countFsCalls);
    await store.close();
  } finally {
    rmSync(FILE_ROOT, { recursive: true, force: true });
  }
  // A file store has no server: its round trip is a store call; the fs calls are what it costs.
  const rows = [row("file", "porter file", a, "fs calls"), row("file", "session-file-store", b, "fs calls")];
  return rows.map((r, i) => ({ ...r, serverTotal: total([a, b][i]!.storeCalls) / REQUESTS }));
}

/** Round trips of a read-only logged-in request, counted at each backend. */
export async function roundTrips(): Promise<Finding> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const metrics: Record<string, number> = {};
  const parts: [string, () => Promise<Row[]>][] = [
    ["redis", redisRows],
    ["postgres", postgresRows],
    ["dynamo", dynamoRows],
    ["file", fileRows],
  ];
  try {
    for (const [name, make] of parts) {
      try {
        const made = await make();
        rows.push(...made);
        metrics[`${name}.porter`] = made[0]!.serverTotal;
        metrics[`${name}.peer`] = made[1]!.serverTotal;
      } catch (error) {
        notes.push(`${name}: not counted (${error instanceof Error ? error.message : String(error)})`);
      }
    }
  } finally {
    await dropSchema();
  }
  notes.unshift(
    `${REQUESTS} read-only requests per contender on one logged-in visitor (Porter: \`engine.load\` + \`engine.commit\` of an unmodified session; peers: \`get\` + \`touch\`, as express-session does with \`resave: false\`).`,
    "redis: commands received from the contender's own connection, read from MONITOR between two ECHO markers (commands run inside a Lua script are not round trips and are not counted).",
    "postgres: statements on the session table counted by the server (pg_stat_user_tables: sequential + index scans; each statement by key is one scan), on a table only this run uses; pg_stat_statements is not loaded on this server.",
    "dynamo: HTTP requests the AWS SDK sent, counted by a middleware after the retry step.",
    "file: no server — a round trip is a store call; the fs calls (fs, fs.promises and FileHandle methods, wrapped) are what each call costs.",
  );
  return {
    key: "roundtrips",
    title: "Round trips of a read-only logged-in request",
    table: table(
      ["store", "contender", "store calls / request", "counted at the backend / request", "round trips"],
      rows.map((r) => [r.store, r.contender, r.storeCalls, r.server, +r.serverTotal.toFixed(2)]),
    ),
    metrics,
    notes,
  };
}
