import {
  ConfigError,
  checkExpiresAt,
  checkSessionData,
  checkSessionRecord,
  checkStoreKey,
  PorterError,
  SessionConflictError,
  SessionExistsError,
  SessionMissingError,
  type SessionRecord,
  type SessionStore,
  StoreUnavailableError,
} from "@porter/core";
import { type Cluster, Redis, type RedisOptions } from "ioredis";
import { decodeRecord, encodeRecord } from "./data-encoding.js";

export interface RedisSessionStoreOptions {
  /**
   * A `Redis` or `Cluster` the application already has. The store never quits it, and its
   * timeouts and retry settings are the application's to choose. Give `client` or `url`.
   */
  client?: Redis | Cluster;
  /**
   * A `redis://` / `rediss://` URL: the store creates its own single-node client with bounded
   * timeouts, retries and offline queue, and `close()` quits it.
   */
  url?: string;
  /** Extra options for the client created from `url`; they override the store's defaults. */
  redisOptions?: RedisOptions;
  /**
   * Prepended to every key: 1–128 characters of `[A-Za-z0-9:_.-]`.
   * @default "porter:sess:"
   */
  prefix?: string;
  /**
   * For a client created from `url`: how long a command may wait for a reply, and how long a
   * connection attempt may take, in milliseconds.
   * @default 2000
   */
  commandTimeoutMs?: number;
  /** The clock reads compare `expiresAt` against. @default Date.now */
  clock?: () => number;
}

/** A `SessionStore` on Redis, plus what tests and tools need to find its keys. */
export interface RedisSessionStore extends SessionStore {
  readonly prefix: string;
  /** The Redis key that holds the session stored under `key` (one string value per session). */
  redisKey(key: string): string;
  touch(key: string, expiresAt: number): Promise<void>;
  /** Quits the client the store created from `url`; a client it was given stays open. */
  close(): Promise<void>;
}

const PREFIX_PATTERN = /^[A-Za-z0-9:_.-]{1,128}$/;

// One string per session, `<version>:<expiresAt>:<format>:<data>` (see data-encoding.ts), with
// the deadline also set natively (PXAT). `now` comes from the app's clock so that a record the
// app considers expired is treated as gone even if Redis still holds it. A key that holds
// something else (another type, or a string that is not a record) counts as absent: `create`
// replaces it, and `update` and `touch` leave it alone.
// The header's version and deadline, read exactly as the client reads them (data-encoding.ts).
const HEADER = `
local function header(s)
  local v, x, f = string.match(s, '^(%d+):(%d+):(%d+):')
  if not v or #v > 15 or #x > 15 or (f ~= '8' and f ~= '16') then return nil end
  return tonumber(v), tonumber(x)
end`;

const CREATE = `${HEADER}
local h = redis.pcall('GETRANGE', KEYS[1], 0, 39)
if type(h) == 'string' then
  local v, x = header(h)
  if v and x > tonumber(ARGV[3]) then return 0 end
end
if tonumber(ARGV[2]) <= tonumber(ARGV[3]) then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
return 1`;

const UPDATE = `${HEADER}
local h = redis.pcall('GETRANGE', KEYS[1], 0, 39)
if type(h) ~= 'string' then return -1 end
local v, x = header(h)
if not v or x <= tonumber(ARGV[4]) then return -1 end
if v ~= tonumber(ARGV[1]) then return -2 end
if tonumber(ARGV[3]) <= tonumber(ARGV[4]) then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
end
return v + 1`;

const TOUCH = `${HEADER}
local cur = redis.pcall('GET', KEYS[1])
if type(cur) ~= 'string' then return 0 end
local v, x = header(cur)
if not v or x <= tonumber(ARGV[2]) then return 0 end
if tonumber(ARGV[1]) <= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 1
end
local vt, xt = string.match(cur, '^(%d+):(%d+):')
redis.call('SET', KEYS[1], vt .. ':' .. ARGV[1] .. string.sub(cur, #vt + #xt + 2), 'PXAT', ARGV[1])
return 1`;

type Arg = string | Buffer;
interface PorterCommands {
  porterSessionCreate(key: string, ...args: Arg[]): Promise<number>;
  porterSessionUpdate(key: string, ...args: Arg[]): Promise<number>;
  porterSessionTouch(key: string, ...args: Arg[]): Promise<number>;
}
type Client = (Redis | Cluster) & PorterCommands;

function defineCommands(client: Redis | Cluster): Client {
  const scripts: [keyof PorterCommands, string][] = [
    ["porterSessionCreate", CREATE],
    ["porterSessionUpdate", UPDATE],
    ["porterSessionTouch", TOUCH],
  ];
  // defineCommand sends EVALSHA and falls back to EVAL when the server answers NOSCRIPT.
  // Defining again on a shared client is harmless and keeps this version's scripts.
  for (const [name, lua] of scripts) client.defineCommand(name, { numberOfKeys: 1, lua });
  return client as Client;
}

function createClient(
  url: string,
  timeoutMs: number,
  extra: RedisOptions | undefined,
  onError: (err: unknown) => void,
): Redis {
  const client = new Redis(url, {
    commandTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    // Commands wait in the offline queue for at most two reconnect attempts (and never past
    // commandTimeout), so an outage costs bounded memory and surfaces quickly.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    // A command cut off by a dropped connection is indeterminate; re-sending a create or an
    // update would answer "exists"/"conflict" for our own write. Report it instead.
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000) + Math.floor(Math.random() * 100),
    ...extra,
  });
  // Without a listener an `error` event would crash the process; failures reach callers as
  // rejected commands instead.
  client.on("error", onError);
  return client;
}

/**
 * Lets the commands issued in one tick leave in one socket write. Under load many requests
 * are in flight, and one read of the socket resolves several of them, whose next commands are
 * then issued in the same tick; without coalescing each would be a write system call of its
 * own, and on a busy machine those calls (and waking the server for each) are most of a
 * command's cost. The first command of a tick corks the connection's socket; the socket is
 * uncorked on the next tick, so nothing is ever held back longer than the current tick, and the
 * order of commands is unchanged. Other commands the application sends on the same client in
 * that tick ride along, which only saves them a write of their own.
 *
 * Only for a single-node client that does not pipeline by itself: ioredis's
 * `enableAutoPipelining` already batches (better: it also waits for the previous batch), and a
 * Cluster spreads commands over many sockets.
 */
function writeCoalescer(client: Redis | Cluster): () => void {
  const c = client as unknown as {
    isCluster?: boolean;
    options?: { enableAutoPipelining?: boolean };
    stream?: { cork?: () => void; uncork?: () => void; writable?: boolean };
  };
  if (c.isCluster || c.options?.enableAutoPipelining) return () => {};
  let corked: { uncork: () => void } | null = null;
  const uncork = () => {
    const stream = corked;
    corked = null;
    stream?.uncork();
  };
  return () => {
    if (corked !== null) return;
    const stream = c.stream;
    if (!stream?.writable || typeof stream.cork !== "function" || typeof stream.uncork !== "function") return;
    stream.cork();
    corked = stream as { uncork: () => void };
    process.nextTick(uncork);
  };
}

/** A `get` of a key that holds another type: no session of ours. */
function isWrongType(error: unknown): boolean {
  const cause = error instanceof StoreUnavailableError ? error.cause : error;
  return cause instanceof Error && cause.message.startsWith("WRONGTYPE");
}

function unavailable(what: string, cause: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`redis session store: ${what} failed; is Redis reachable?`, { cause });
}

/**
 * A session store on Redis (single node, Sentinel or Cluster, through ioredis).
 * - One round trip per operation: `get` is one GET; `create`, `update` and `touch` are one
 *   server-side Lua script each (sent by SHA, re-sent in full if the server lost its cache).
 * - `create` never overwrites a live record; `update` compares the version and writes in one
 *   atomic script; neither recreates a deleted key.
 * - Expiry is native (`PXAT`, the absolute deadline; Redis 6.2 or newer) and also compared on
 *   every read.
 * - Keys are `prefix + "{" + key + "}"`: the hash tag keeps each session in one Cluster slot.
 */
export function createRedisSessionStore(options: RedisSessionStoreOptions): RedisSessionStore {
  const { prefix = "porter:sess:", clock = Date.now, commandTimeoutMs = 2000 } = options;
  if (typeof prefix !== "string" || !PREFIX_PATTERN.test(prefix)) {
    throw new ConfigError("redis session store: prefix must be 1-128 characters of [A-Za-z0-9:_.-]");
  }
  if (!Number.isFinite(commandTimeoutMs) || commandTimeoutMs <= 0 || commandTimeoutMs > 60_000) {
    throw new ConfigError("redis session store: commandTimeoutMs must be between 1 and 60000");
  }
  if (typeof clock !== "function") throw new ConfigError("redis session store: clock must be a function");
  if ((options.client === undefined) === (options.url === undefined)) {
    throw new ConfigError("redis session store: give exactly one of `client` or `url`");
  }
  // Duck-typed rather than instanceof, so a client from a second copy of ioredis is accepted.
  const given = options.client as unknown as Record<string, unknown> | undefined;
  if (
    given !== undefined &&
    (typeof given.getBuffer !== "function" || typeof given.defineCommand !== "function")
  ) {
    throw new ConfigError("redis session store: `client` must be an ioredis Redis or Cluster");
  }
  if (options.url !== undefined && (typeof options.url !== "string" || !/^rediss?:\/\//.test(options.url))) {
    throw new ConfigError("redis session store: `url` must start with redis:// or rediss://");
  }

  const owned = options.client === undefined;
  let lastError: unknown;
  const client = defineCommands(
    options.client ??
      createClient(options.url as string, commandTimeoutMs, options.redisOptions, (err) => {
        lastError = err;
      }),
  );
  const redisKey = (key: string): string => `${prefix}{${key}}`;
  let closed = false;
  const coalesce = writeCoalescer(client);

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (closed) throw new StoreUnavailableError("redis session store: the store was closed");
    // A client of ours that lost its connection fails fast instead of queueing: the outage is
    // known, and the caller should hear it now rather than at the command timeout.
    if (owned && (client as Redis).status === "reconnecting") {
      throw unavailable(what, lastError ?? new Error(`redis connection lost (status ${client.status})`));
    }
    coalesce();
    try {
      return await fn();
    } catch (err) {
      if (PorterError.is(err)) throw err;
      throw unavailable(what, err);
    }
  }

  return {
    contractVersion: 1,
    capabilities: { versioned: true, nativeExpiry: true, touch: true, clearExpired: false },
    prefix,
    redisKey(key) {
      checkStoreKey(key);
      return redisKey(key);
    },

    async get(key) {
      checkStoreKey(key);
      let value: Buffer | null;
      try {
        value = await call("get", () => client.getBuffer(redisKey(key)));
      } catch (error) {
        if (isWrongType(error)) return null;
        throw error;
      }
      if (value === null) return null;
      const record = decodeRecord(value);
      return record === null || record.expiresAt <= clock() ? null : record;
    },

    async create(key, data, expiresAt) {
      checkStoreKey(key);
      checkExpiresAt(expiresAt);
      checkSessionData(data);
      const ok = await call("create", () =>
        client.porterSessionCreate(
          redisKey(key),
          encodeRecord(1, expiresAt, data),
          String(expiresAt),
          String(clock()),
        ),
      );
      if (ok !== 1) throw new SessionExistsError(key);
      return { data, expiresAt, version: 1 };
    },

    async update(key, record: SessionRecord) {
      checkStoreKey(key);
      const { data, expiresAt, version } = checkSessionRecord(record);
      const result = await call("update", () =>
        client.porterSessionUpdate(
          redisKey(key),
          String(version),
          encodeRecord(version + 1, expiresAt, data),
          String(expiresAt),
          String(clock()),
        ),
      );
      if (result === -1) throw new SessionMissingError(key);
      if (result === -2) throw new SessionConflictError(key);
      return { data, expiresAt, version: result };
    },

    async touch(key, expiresAt) {
      checkStoreKey(key);
      checkExpiresAt(expiresAt);
      await call("touch", () => client.porterSessionTouch(redisKey(key), String(expiresAt), String(clock())));
    },

    async delete(key) {
      checkStoreKey(key);
      await call("delete", () => client.del(redisKey(key)));
    },

    async close() {
      if (closed) return;
      closed = true;
      if (!owned) return;
      const quitting = client.quit().catch(() => {});
      const timer = new Promise<void>((resolve) => setTimeout(resolve, commandTimeoutMs).unref());
      await Promise.race([quitting, timer]);
      client.disconnect();
    },
  };
}
