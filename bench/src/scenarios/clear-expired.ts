import { performance } from "node:perf_hooks";
import { jsonCodec } from "@porter/core";
import { createPostgresSessionStore } from "@porter/postgres";
import { type Finding, table } from "../harness.js";
import { MAX_AGE, sessionData } from "../session-data.js";
import { createPeerTable, dropSchema, PG_SCHEMA, peerPgStore, pgPool, q } from "./postgres.js";

const READERS = 4;

interface Reads {
  count: number;
  worstMs: number;
  p99Ms: number;
}

/** Reads live sessions from `READERS` workers until `stop` resolves; reports the slowest. */
async function liveReads(read: (i: number) => Promise<unknown>, stop: Promise<unknown>): Promise<Reads> {
  let stopped = false;
  const halt = () => {
    stopped = true;
  };
  stop.then(halt, halt);
  const latencies: number[] = [];
  let n = 0;
  await Promise.all(
    Array.from({ length: READERS }, async () => {
      while (!stopped) {
        const t0 = performance.now();
        await read(n++);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    count: latencies.length,
    worstMs: latencies.at(-1) ?? 0,
    p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  };
}

/**
 * Clear-expired at scale on PostgreSQL: `expired` expired and `live` live sessions of ~1 KB in
 * each of three identical-sized tables; the time to remove the expired ones, and the slowest
 * read of a live session from 4 readers while it runs, for:
 * - one raw `DELETE … WHERE expires_at < now` (the floor: one statement, one transaction);
 * - Porter's `clearExpired()` (batches of 5000 rows locked with `FOR UPDATE SKIP LOCKED`, deleted by `ctid`);
 * - connect-pg-simple's `pruneSessions()` (one DELETE, like the raw one, on its own layout).
 */
export async function clearExpired(expired: number, live: number): Promise<Finding> {
  const admin = pgPool(2);
  const work = pgPool(2);
  const readers = pgPool(READERS);
  try {
    const data = jsonCodec().encode(sessionData(1));
    const now = Date.now();
    const liveUntil = now + MAX_AGE * 1000;
    const expiredAt = now - 3_600_000;
    const porterStore = createPostgresSessionStore({ pool: work, schema: PG_SCHEMA, table: "clear_porter" });
    await porterStore.ensureSchema();
    const rawStore = createPostgresSessionStore({ pool: admin, schema: PG_SCHEMA, table: "clear_raw" });
    await rawStore.ensureSchema();
    await createPeerTable(admin, "clear_peer");

    const fill = async (name: string) => {
      await admin.query(
        `INSERT INTO ${q(name)} (key, data, expires_at, version)
         SELECT 'e' || lpad(i::text, 12, '0'), $1::text, $2::bigint, 1 FROM generate_series(1, $3::int) AS i
         UNION ALL
         SELECT 'l' || lpad(i::text, 12, '0'), $1::text, $4::bigint, 1 FROM generate_series(1, $5::int) AS i`,
        [data, expiredAt, expired, liveUntil, live],
      );
      await admin.query(`VACUUM ANALYZE ${q(name)}`);
    };
    const t0 = performance.now();
    await fill("clear_raw");
    await fill("clear_porter");
    // connect-pg-simple keeps the session as json and the expiry as a timestamp.
    await admin.query(
      `INSERT INTO ${q("clear_peer")} (sid, sess, expire)
       SELECT 'e' || lpad(i::text, 12, '0'), $1::json, to_timestamp($2::bigint / 1000.0) FROM generate_series(1, $3::int) AS i
       UNION ALL
       SELECT 'l' || lpad(i::text, 12, '0'), $1::json, to_timestamp($4::bigint / 1000.0) FROM generate_series(1, $5::int) AS i`,
      [JSON.stringify(sessionData(1)), expiredAt, expired, liveUntil, live],
    );
    await admin.query(`VACUUM ANALYZE ${q("clear_peer")}`);
    const fillSeconds = (performance.now() - t0) / 1000;

    const liveKey = (i: number) => `l${String(((i * 7919) % live) + 1).padStart(12, "0")}`;
    const rawRead = {
      name: "bench_clear_raw_get",
      text: `SELECT data FROM ${q("clear_raw")} WHERE key = $1`,
    };
    const readPorter = createPostgresSessionStore({
      pool: readers,
      schema: PG_SCHEMA,
      table: "clear_porter",
    });
    const readPeer = peerPgStore(readers, "clear_peer");
    const mustFind = (found: unknown) => {
      if (found === null || found === undefined)
        throw new Error("clear-expired: a live session was not found");
    };

    const runs: { name: string; seconds: number; removed: number; reads: Reads }[] = [];
    const timed = async (
      name: string,
      clear: () => Promise<number>,
      read: (i: number) => Promise<unknown>,
    ) => {
      // Each cleanup starts from the same state: the fill's (or the previous cleanup's) dirty
      // pages written out, connections opened and statements prepared.
      await admin.query("CHECKPOINT");
      await Promise.all(Array.from({ length: READERS * 2 }, (_, i) => read(i)));
      const start = performance.now();
      const clearing = clear();
      const reads = await liveReads(read, clearing);
      const removed = await clearing;
      runs.push({ name, seconds: (performance.now() - start) / 1000, removed, reads });
    };

    await timed(
      "one raw DELETE",
      async () =>
        (await work.query(`DELETE FROM ${q("clear_raw")} WHERE expires_at < $1`, [Date.now()])).rowCount ?? 0,
      async (i) => mustFind((await readers.query({ ...rawRead, values: [liveKey(i)] })).rows[0]),
    );
    await timed(
      "porter clearExpired()",
      () => porterStore.clearExpired(),
      async (i) => mustFind(await readPorter.get(liveKey(i))),
    );
    await timed(
      "connect-pg-simple pruneSessions()",
      async () => {
        const before = await admin.query(`SELECT count(*)::int AS n FROM ${q("clear_peer")}`);
        await new Promise<void>((resolve, reject) =>
          peerPgStore(work, "clear_peer").pruneSessions((err) => (err ? reject(err) : resolve())),
        );
        const after = await admin.query(`SELECT count(*)::int AS n FROM ${q("clear_peer")}`);
        return before.rows[0].n - after.rows[0].n;
      },
      (i) =>
        new Promise<void>((resolve, reject) =>
          readPeer.get(liveKey(i), (err: unknown, sess?: unknown) =>
            err ? reject(err) : resolve(mustFind(sess)),
          ),
        ),
    );

    const raw = runs[0]!;
    const porter = runs[1]!;
    return {
      key: "clear-expired",
      title: `Clear-expired: ${expired.toLocaleString("en-US")} expired + ${live.toLocaleString("en-US")} live sessions (PostgreSQL)`,
      table: table(
        [
          "cleanup",
          "removed",
          "time s",
          "÷ raw DELETE",
          "live reads meanwhile",
          "live read p99 ms",
          "worst live read ms",
        ],
        runs.map((r) => [
          r.name,
          r.removed.toLocaleString("en-US"),
          r.seconds.toFixed(2),
          `${(r.seconds / raw.seconds).toFixed(2)}×`,
          r.reads.count,
          r.reads.p99Ms.toFixed(1),
          r.reads.worstMs.toFixed(1),
        ]),
      ),
      metrics: {
        porterOverRawDelete: porter.seconds / raw.seconds,
        porterWorstReadMs: porter.reads.worstMs,
        peerOverRawDelete: runs[2]!.seconds / raw.seconds,
      },
      notes: [
        `Each cleanup runs on its own table of ~1 KB sessions (filled with INSERT … SELECT and VACUUM ANALYZE first, ${fillSeconds.toFixed(0)} s for the three; a CHECKPOINT before each cleanup); the live reads come from ${READERS} readers on a pool of their own, each read by key.`,
        "The time includes the readers' load on the server; the worst live read is the target's figure (a live read must never wait behind the cleanup).",
      ],
    };
  } finally {
    await Promise.allSettled([admin.end(), work.end(), readers.end()]);
    await dropSchema();
  }
}
