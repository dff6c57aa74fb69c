import { randomUUID } from "node:crypto";
import { createManualClock, describeSessionStore, type InspectedRecord } from "@porter/core/conformance";
import { Redis } from "ioredis";
import { afterAll } from "vitest";
import { decodeRecord } from "../src/data-encoding.js";
import { createRedisSessionStore, type RedisSessionStore } from "../src/index.js";
import { REDIS_URL } from "./helpers.js";

const client = new Redis(REDIS_URL);
client.on("error", () => {});
afterAll(() => client.quit());

/** Reads the raw value and Redis's own TTL for the kit's backend checks. */
async function inspect(store: RedisSessionStore, key: string): Promise<InspectedRecord | null> {
  const redisKey = store.redisKey(key);
  const [value, ttlMs] = await Promise.all([client.getBuffer(redisKey), client.pttl(redisKey)]);
  if (ttlMs === -2) return null;
  const record = value === null ? null : decodeRecord(value);
  return {
    ...(record === null ? { data: "<undecodable>" } : { data: record.data, expiresAt: record.expiresAt }),
    ttlMs,
  };
}

const unreachable = () => createRedisSessionStore({ url: "redis://127.0.0.1:1", commandTimeoutMs: 1000 });

describeSessionStore("redis", {
  create: () => createRedisSessionStore({ client, prefix: `test:${randomUUID()}:` }),
  inspect,
  unreachable,
  deadlineMs: 3000,
});

// Redis expires keys by its own clock, so the manual clock starts each test at real time (never
// behind it, or a deadline the store thinks is ahead would already have passed for Redis).
const clock = createManualClock();
describeSessionStore("redis, injected clock", {
  create: () => {
    clock.set(Math.max(clock.now(), Date.now()));
    return createRedisSessionStore({ client, prefix: `test:${randomUUID()}:`, clock: clock.now });
  },
  inspect,
  clock,
  unreachable,
  deadlineMs: 3000,
});
