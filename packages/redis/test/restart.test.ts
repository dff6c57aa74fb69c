import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PorterError } from "@porter/core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createRedisSessionStore, type RedisSessionStore } from "../src/index.js";
import { freePort, pings, spawnRedis, stop, waitFor } from "./helpers.js";

const DEADLINE_MS = 5000;
let dir: string;
let port: number;
let server: ChildProcess | undefined;
let store: RedisSessionStore;
const killOnExit = (): void => {
  server?.kill("SIGKILL");
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "porter-redis-restart-"));
  port = await freePort();
  process.once("exit", killOnExit);
  server = spawnRedis(port, dir);
  await waitFor(`redis-server on ${port}`, () => pings(port));
  store = createRedisSessionStore({ url: `redis://127.0.0.1:${port}`, prefix: "restart:" });
});

afterAll(async () => {
  await store?.close();
  if (server) await stop(server, "SIGKILL");
  process.off("exit", killOnExit);
  await rm(dir, { recursive: true, force: true });
});

const newKey = (): string => randomBytes(32).toString("hex");

/** Runs `op`, and resolves what it settled with and how long it took. */
async function timed(op: () => Promise<unknown>): Promise<{ ms: number; error: unknown; value: unknown }> {
  const t0 = Date.now();
  try {
    const value = await op();
    return { ms: Date.now() - t0, error: undefined, value };
  } catch (error) {
    return { ms: Date.now() - t0, error, value: undefined };
  }
}

it("fails typed and fast while Redis is down, and recovers on the same store when it is back", async () => {
  const key = newKey();
  const expiresAt = Date.now() + 600_000;
  await store.create(key, "before", expiresAt);
  expect((await store.get(key))?.data).toBe("before");

  // Operations in flight when the server dies, and operations started while it is down.
  const inflight = Array.from({ length: 20 }, () => timed(() => store.get(key)));
  await stop(server as ChildProcess, "SIGKILL");
  const results = await Promise.all([
    ...inflight,
    timed(() => store.get(key)),
    timed(() => store.create(newKey(), "x", expiresAt)),
    timed(() => store.update(key, { data: "y", expiresAt, version: 1 })),
    timed(() => store.touch(key, expiresAt + 1)),
    timed(() => store.delete(key)),
  ]);
  for (const r of results) expect(r.ms).toBeLessThan(DEADLINE_MS);
  const down = results.slice(20);
  for (const r of down) {
    expect(PorterError.is(r.error, "STORE_UNAVAILABLE"), String(r.error)).toBe(true);
    expect((r.error as Error).cause).toBeDefined();
  }
  // An in-flight get either answered before the kill or failed typed: never null.
  for (const r of results.slice(0, 20)) {
    if (r.error === undefined) expect((r.value as { data: string }).data).toBe("before");
    else expect(PorterError.is(r.error, "STORE_UNAVAILABLE"), String(r.error)).toBe(true);
  }

  // A sustained outage keeps failing typed, within the deadline, without growing a queue.
  for (let i = 0; i < 5; i++) {
    const r = await timed(() => store.get(key));
    expect(PorterError.is(r.error, "STORE_UNAVAILABLE")).toBe(true);
    expect(r.ms).toBeLessThan(DEADLINE_MS);
  }

  server = spawnRedis(port, dir);
  await waitFor(`redis-server back on ${port}`, () => pings(port));
  const t0 = Date.now();
  // The server had no persistence: the session is gone, and that is an answer (null), not an error.
  await waitFor(
    "the store to reconnect",
    async () => {
      try {
        return (await store.get(key)) === null;
      } catch (err) {
        if (!PorterError.is(err, "STORE_UNAVAILABLE")) throw err;
        return false;
      }
    },
    10_000,
  );
  expect(Date.now() - t0).toBeLessThan(5000);
  const again = newKey();
  await store.create(again, "after", expiresAt);
  expect(await store.update(again, { data: "after2", expiresAt, version: 1 })).toEqual({
    data: "after2",
    expiresAt,
    version: 2,
  });
  await store.delete(again);
  expect(await store.get(again)).toBeNull();
});
