import { createSessionEngine } from "@porter/core";
import { createRedisSessionStore } from "@porter/redis";
import { RedisStore } from "connect-redis";
import { Redis } from "ioredis";
import { peerDriver, porterDriver } from "../drivers.js";
import { MAX_AGE, RUN_ID } from "../session-data.js";
import { type Measure, runStoreSuite } from "./store-suite.js";

export const REDIS_URL = "redis://127.0.0.1:6379";
/** Every key this run writes starts with this; `cleanRedis` removes them. */
export const REDIS_PREFIX = `bench:${RUN_ID}:`;

/** A client per contender, so none waits behind another's pipeline. */
export function redisClient(): Redis {
  return new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
}

/** Removes every key of this run. */
export async function cleanRedis(): Promise<void> {
  const client = redisClient();
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${REDIS_PREFIX}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

export async function redisSuite(measure: Measure, destroyOps: number): Promise<void> {
  const clients = [redisClient(), redisClient(), redisClient()] as const;
  const [porterClient, peerClient, rawClient] = clients;
  try {
    const store = createRedisSessionStore({ client: porterClient, prefix: `${REDIS_PREFIX}porter:` });
    const engine = createSessionEngine({ store, maxAge: MAX_AGE, cookie: { secure: false } });
    const peer = new RedisStore({ client: peerClient, prefix: `${REDIS_PREFIX}peer:` });
    const rawPrefix = `${REDIS_PREFIX}raw:`;
    const ttlMs = MAX_AGE * 1000;
    await runStoreSuite(
      {
        engine: "redis",
        porterName: "porter redis",
        porter: porterDriver(engine),
        peerName: "connect-redis",
        peer: peerDriver(peer),
        bound: {
          name: "raw ioredis",
          saveOps: "GET + SET",
          readOps: "GET",
          async seed(visitor, bytes) {
            const key = `${rawPrefix}${visitor}`;
            await rawClient.set(key, bytes, "PX", ttlMs);
            return key;
          },
          async loadSave(key) {
            const bytes = await rawClient.getBuffer(key);
            if (bytes === null) throw new Error("raw redis: key missing");
            await rawClient.set(key, bytes, "PX", ttlMs);
          },
          async loadOnly(key) {
            if ((await rawClient.getBuffer(key)) === null) throw new Error("raw redis: key missing");
          },
        },
        destroyOps,
      },
      measure,
    );
  } finally {
    for (const c of clients) c.disconnect();
    await cleanRedis();
  }
}
