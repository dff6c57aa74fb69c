import { type ChildProcess, execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describeSessionStore, type InspectedRecord } from "@porter/core/conformance";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeRecord } from "../src/data-encoding.js";
import { createRedisSessionStore, type RedisSessionStore } from "../src/index.js";
import { freePort, pings, spawnRedis, stop, waitFor } from "./helpers.js";

const run = promisify(execFile);

// A real three-master Redis Cluster on free loopback ports, owned by this test file.
let dir: string;
const ports: number[] = [];
const servers: ChildProcess[] = [];
let cluster: Cluster;
const killAll = (): void => {
  for (const s of servers) s.kill("SIGKILL");
};

async function clusterInfo(port: number): Promise<string> {
  const probe = new Redis({
    port,
    host: "127.0.0.1",
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on("error", () => {});
  try {
    await probe.connect();
    return String(await probe.cluster("INFO"));
  } finally {
    probe.disconnect();
  }
}

beforeAll(async () => {
  process.once("exit", killAll);
  dir = await mkdtemp(join(tmpdir(), "porter-redis-cluster-"));
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    ports.push(port);
    servers.push(
      spawnRedis(port, dir, [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(dir, `nodes-${port}.conf`),
      ]),
    );
  }
  for (const port of ports) await waitFor(`cluster node ${port}`, () => pings(port));
  await run(
    "redis-cli",
    [
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ],
    { timeout: 30_000 },
  );
  await waitFor(
    "cluster_state:ok on every node",
    async () =>
      (await Promise.all(ports.map(clusterInfo))).every((info) => info.includes("cluster_state:ok")),
    30_000,
  );
  cluster = new Cluster(
    ports.map((port) => ({ host: "127.0.0.1", port })),
    { redisOptions: { commandTimeout: 2000 }, clusterRetryStrategy: (times) => Math.min(100 * times, 1000) },
  );
  cluster.on("error", () => {});
  await waitFor("the Cluster client", async () => (await cluster.ping()) === "PONG", 15_000);
}, 90_000);

afterAll(async () => {
  await cluster?.quit().catch(() => cluster.disconnect());
  await Promise.all(servers.map((s) => stop(s, "SIGKILL")));
  process.off("exit", killAll);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function inspect(store: RedisSessionStore, key: string): Promise<InspectedRecord | null> {
  const redisKey = store.redisKey(key);
  const [value, ttlMs] = await Promise.all([cluster.getBuffer(redisKey), cluster.pttl(redisKey)]);
  if (ttlMs === -2) return null;
  const record = value === null ? null : decodeRecord(value);
  return {
    ...(record === null ? { data: "<undecodable>" } : { data: record.data, expiresAt: record.expiresAt }),
    ttlMs,
  };
}

// A Cluster client whose only seed node does not answer: the app's client, so the test owns it.
const deadClusters: Cluster[] = [];
function unreachable(): RedisSessionStore {
  const dead = new Cluster([{ host: "127.0.0.1", port: 1 }], {
    clusterRetryStrategy: () => null,
    enableOfflineQueue: false,
  });
  dead.on("error", () => {});
  deadClusters.push(dead);
  return createRedisSessionStore({ client: dead, prefix: "dead:" });
}

describeSessionStore("redis cluster", {
  create: () => createRedisSessionStore({ client: cluster, prefix: `test:${randomUUID()}:` }),
  inspect,
  unreachable,
  deadlineMs: 3000,
  dispose: async (store) => {
    await store.close();
    for (const dead of deadClusters.splice(0)) dead.disconnect();
  },
});

describe("cluster specifics", () => {
  it("puts each session in the slot of its own key, and spreads sessions over the masters", async () => {
    const store = createRedisSessionStore({ client: cluster, prefix: `test:${randomUUID()}:` });
    const keys = Array.from({ length: 30 }, () => randomBytes(32).toString("hex"));
    const slots = new Set<number>();
    for (const key of keys) {
      const slot = Number(await cluster.cluster("KEYSLOT", store.redisKey(key)));
      // Only the hash tag counts: the prefix does not move a session to another slot.
      expect(slot).toBe(Number(await cluster.cluster("KEYSLOT", key)));
      slots.add(slot);
      await store.create(key, `data-${key}`, Date.now() + 60_000);
    }
    expect(slots.size).toBeGreaterThan(20);
    // Each session's one key is held by exactly one master, and all three masters hold some.
    const holders = new Set<number>();
    for (const key of keys) {
      const slot = Number(await cluster.cluster("KEYSLOT", key));
      const owners: number[] = [];
      for (const node of cluster.nodes("master")) {
        const inSlot = (await node.cluster("GETKEYSINSLOT", slot, 100)) as string[];
        if (inSlot.includes(store.redisKey(key))) owners.push(node.options.port ?? 0);
      }
      expect(owners).toHaveLength(1);
      holders.add(owners[0] as number);
    }
    expect(holders.size).toBe(3);
    for (const key of keys) expect((await store.get(key))?.data).toBe(`data-${key}`);
    for (const key of keys) await store.delete(key);
  });

  it("re-sends its scripts to a master that lost them (NOSCRIPT)", async () => {
    const store = createRedisSessionStore({ client: cluster, prefix: `test:${randomUUID()}:` });
    const keys = Array.from({ length: 10 }, () => randomBytes(32).toString("hex"));
    const expiresAt = Date.now() + 60_000;
    for (const key of keys) await store.create(key, "a", expiresAt);
    await Promise.all(cluster.nodes("master").map((node) => node.script("FLUSH")));
    for (const key of keys) {
      expect((await store.update(key, { data: "b", expiresAt, version: 1 })).version).toBe(2);
      await store.touch(key, expiresAt + 1);
      expect(await store.get(key)).toEqual({ data: "b", expiresAt: expiresAt + 1, version: 2 });
      await store.delete(key);
    }
  });
});
