import { ConfigError, StoreUnavailableError } from "@porter/core";
import type { Pool, QueryConfig, QueryResult, QueryResultRow } from "pg";
import pg from "pg";

/** How a store reaches PostgreSQL; shared by the session and the user store. */
export interface PostgresConnectionOptions {
  /**
   * A `pg.Pool` the application owns. The store never ends it. If it has no `error` listener
   * the store adds a no-op one (an idle client's error would otherwise crash the process)
   * and removes it on `close()`.
   */
  pool?: Pool;
  /**
   * Used when no `pool` is given: the store creates its own pool (with an `error` listener,
   * connect and statement deadlines and `application_name`) and `close()` ends it.
   */
  connectionString?: string;
  /** Deadline of one statement, in ms: `statement_timeout` and `lock_timeout` on the server, `query_timeout` in the driver. @default 3000 */
  queryTimeoutMs?: number;
  /** Deadline to open a connection (own pool only). @default 2000 */
  connectTimeoutMs?: number;
  /** `application_name` of the store's own connections. @default "porter" */
  applicationName?: string;
  /** Size of the store's own pool. @default 10 */
  maxConnections?: number;
  /** Told about errors of idle connections of the store's own pool and of its pipelined connections (they are otherwise ignored: the connection is replaced). */
  onPoolError?: (error: Error) => void;
  /**
   * How many pipelined connections carry the store's single-statement operations. Each one
   * sends statements without waiting for the answers to the ones before it, so many
   * concurrent operations share one connection and one socket write: fewer connections,
   * fewer system calls and more throughput than one pooled connection per statement. The
   * pool then serves only schema changes and cleanup (which can run long and must not hold
   * up a pipeline). `0` sends everything through the pool.
   *
   * With `pool`, the connections are opened with the pool's own settings (`pool.options`), in
   * addition to the pool's. Needs pg ≥ 8.23 (older versions have no pipeline mode, and the
   * store then uses the pool). Set `0` behind a pooler that cannot relay pipelined statements.
   * @default 8 with `connectionString`, 0 with `pool`
   */
  pipelineConnections?: number;
}

export interface Connection {
  readonly pool: Pool;
  /**
   * Runs one statement. Driver errors that mean "could not ask" become `StoreUnavailableError`;
   * with `idempotent`, one immediate retry on a fresh connection after a dropped connection.
   */
  query<R extends QueryResultRow = QueryResultRow>(
    config: QueryConfig,
    idempotent: boolean,
  ): Promise<QueryResult<R>>;
  /** Runs one statement on a pooled connection, never a pipelined one: for statements that may run long. */
  queryPooled<R extends QueryResultRow = QueryResultRow>(
    config: QueryConfig,
    idempotent: boolean,
  ): Promise<QueryResult<R>>;
  /** Runs `statements` in one transaction holding Porter's schema advisory lock. */
  migrate(statements: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

// Any fixed bigint: concurrent ensureSchema() calls of every Porter store serialize on it.
const SCHEMA_LOCK = "7311730522155104321";

function checkPositiveInt(value: number | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`${option} must be a positive integer`);
  }
  return value;
}

/** Options of a pool that are not a connection's, left out when opening a pipelined connection. */
const POOL_ONLY = [
  "max",
  "min",
  "poolSize",
  "idleTimeoutMillis",
  "maxUses",
  "maxLifetimeSeconds",
  "allowExitOnIdle",
  "log",
  "Promise",
  "Client",
];

/**
 * The settings of a pipelined connection beside an application's pool: the pool's own
 * connection settings (pg-pool keeps the password as a non-enumerable property, so it is
 * copied by name), without the pool's sizing.
 */
export function pipelinedClientConfig(pool: Pool): pg.ClientConfig {
  const options = pool.options as unknown as Record<string, unknown>;
  const config: Record<string, unknown> = { ...options };
  for (const option of POOL_ONLY) delete config[option];
  if ("password" in options) config.password = options.password;
  return { ...(config as pg.ClientConfig), pipeline: true };
}

export function openConnection(
  options: PostgresConnectionOptions,
  what: string,
  pipelineDefault = 8,
): Connection {
  const queryTimeoutMs = checkPositiveInt(options.queryTimeoutMs, "queryTimeoutMs", 3000);
  const connectTimeoutMs = checkPositiveInt(options.connectTimeoutMs, "connectTimeoutMs", 2000);
  const maxConnections = checkPositiveInt(options.maxConnections, "maxConnections", 10);
  const applicationName = options.applicationName ?? "porter";
  if (typeof applicationName !== "string" || !/^[\x20-\x7e]{1,63}$/.test(applicationName)) {
    throw new ConfigError("applicationName must be 1 to 63 printable ASCII characters");
  }
  if ((options.pool === undefined) === (options.connectionString === undefined)) {
    throw new ConfigError(`${what}: give exactly one of pool or connectionString`);
  }
  const lanes =
    options.pipelineConnections === 0
      ? 0
      : checkPositiveInt(
          options.pipelineConnections,
          "pipelineConnections",
          options.pool ? 0 : pipelineDefault,
        );
  if (lanes > 64) throw new ConfigError("pipelineConnections must be at most 64");

  let pool: Pool;
  let owned: boolean;
  let addedListener: ((error: Error) => void) | undefined;
  if (options.pool !== undefined) {
    pool = options.pool;
    owned = false;
    if (pool.listenerCount("error") === 0) {
      addedListener = () => {};
      pool.on("error", addedListener);
    }
  } else {
    if (typeof options.connectionString !== "string" || options.connectionString === "") {
      throw new ConfigError(`${what}: connectionString must be a non-empty string`);
    }
    owned = true;
    pool = new pg.Pool({ ...ownConnectionConfig(), max: maxConnections });
    const onPoolError = options.onPoolError;
    pool.on("error", (error) => onPoolError?.(error));
  }

  function ownConnectionConfig(): pg.ClientConfig {
    return {
      connectionString: options.connectionString,
      application_name: applicationName,
      connectionTimeoutMillis: connectTimeoutMs,
      statement_timeout: queryTimeoutMs,
      lock_timeout: queryTimeoutMs,
      query_timeout: queryTimeoutMs + 500,
      keepAlive: true,
    };
  }

  let closed = false;
  // The server's statement_timeout answers first; the driver's deadline also covers a silent network.
  const driverTimeout = queryTimeoutMs + 500;

  const pipelines =
    lanes === 0 || !hasPipelineMode()
      ? undefined
      : openPipelines(
          lanes,
          () =>
            new pg.Client(owned ? { ...ownConnectionConfig(), pipeline: true } : pipelinedClientConfig(pool)),
          (error) => options.onPoolError?.(error),
        );

  /**
   * Sends one statement through `send` with the driver's deadline; an idempotent statement whose
   * connection was dropped under it is sent once more (`send` then takes a fresh connection).
   */
  async function run<R extends QueryResultRow>(
    send: (config: QueryConfig) => Promise<QueryResult<R>>,
    config: QueryConfig,
    idempotent: boolean,
  ): Promise<QueryResult<R>> {
    const withDeadline = { ...config, query_timeout: driverTimeout } as QueryConfig;
    try {
      return await send(withDeadline);
    } catch (error) {
      if (!idempotent || !isDroppedConnection(error)) throw translate(error, what);
    }
    try {
      return await send(withDeadline);
    } catch (again) {
      throw translate(again, what);
    }
  }

  const sendPooled = <R extends QueryResultRow>(config: QueryConfig) => pool.query<R>(config);

  function query<R extends QueryResultRow>(config: QueryConfig, idempotent: boolean) {
    if (pipelines === undefined || closed) return queryPooled<R>(config, idempotent);
    return run<R>(pipelines.query, config, idempotent);
  }

  async function queryPooled<R extends QueryResultRow>(config: QueryConfig, idempotent: boolean) {
    if (closed && owned) throw new StoreUnavailableError(`${what} is closed`);
    return run<R>(sendPooled, config, idempotent);
  }

  async function migrate(statements: readonly string[]) {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw translate(error, what);
    }
    let failure: unknown;
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [SCHEMA_LOCK]);
      for (const text of statements) await client.query(text);
      await client.query("COMMIT");
    } catch (error) {
      failure = error;
      await client.query("ROLLBACK").catch(() => {});
    } finally {
      // A client that failed mid-transaction is not worth reusing.
      client.release(failure !== undefined);
    }
    if (failure !== undefined) throw translate(failure, what);
  }

  async function close() {
    if (closed) return;
    closed = true;
    if (addedListener !== undefined) pool.removeListener("error", addedListener);
    await pipelines?.close();
    if (owned) await pool.end();
  }

  return {
    pool,
    query,
    queryPooled,
    migrate,
    close,
  };
}

interface Lane {
  client: pg.Client | null;
  ready: Promise<pg.Client> | null;
  /** Statements sent or waiting on this lane: the next statement takes the least busy lane. */
  busy: number;
}

let pipelineMode: boolean | undefined;

/**
 * pg ≥ 8.23 has a pipeline mode; an older client ignores the option (and would send one
 * statement at a time). Asked once per process, of a client that is never connected.
 */
function hasPipelineMode(): boolean {
  pipelineMode ??= new pg.Client({ pipeline: true }).pipeline === true;
  return pipelineMode;
}

interface Pipelines {
  query<R extends QueryResultRow>(config: QueryConfig): Promise<QueryResult<R>>;
  close(): Promise<void>;
}

/**
 * `count` pipelined connections, each opened on first use and replaced after it fails. A
 * statement goes to the lane with the fewest statements in flight, so one slow statement (a
 * row lock being waited on) delays as few others as possible.
 */
function openPipelines(
  count: number,
  makeClient: () => pg.Client,
  onError: (error: Error) => void,
): Pipelines {
  const lanes: Lane[] = Array.from({ length: count }, () => ({ client: null, ready: null, busy: 0 }));

  const retire = (lane: Lane, client: pg.Client) => {
    if (lane.client !== client) return;
    lane.client = null;
    lane.ready = null;
    client.end().catch(() => {});
  };

  function connect(lane: Lane): Promise<pg.Client> {
    const client = makeClient();
    client.on("error", (error) => {
      retire(lane, client);
      onError(error);
    });
    client.on("end", () => retire(lane, client));
    lane.client = client;
    const ready = client.connect().then(
      () => client,
      (error: unknown) => {
        retire(lane, client);
        throw error;
      },
    );
    // A failed connect is reported to the statements waiting on it, and retried by the next one.
    ready.catch(() => {});
    lane.ready = ready;
    return ready;
  }

  async function query<R extends QueryResultRow>(config: QueryConfig): Promise<QueryResult<R>> {
    let lane = lanes[0]!;
    for (let i = 1; i < lanes.length; i++) if (lanes[i]!.busy < lane.busy) lane = lanes[i]!;
    lane.busy++;
    try {
      const client = await (lane.ready ?? connect(lane));
      try {
        return await client.query<R>(config);
      } catch (error) {
        // The connection died under the statement: the next statement gets a fresh one.
        if (isDroppedConnection(error)) retire(lane, client);
        throw error;
      }
    } finally {
      lane.busy--;
    }
  }

  async function close() {
    await Promise.all(
      lanes.map(async (lane) => {
        const ready = lane.ready;
        lane.ready = null;
        lane.client = null;
        const client = await ready?.catch(() => undefined);
        // Ends after the statements already sent have been answered.
        await client?.end().catch(() => {});
      }),
    );
  }

  return { query, close };
}

const UNAVAILABLE_SYSCALLS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EADDRNOTAVAIL",
]);

const UNAVAILABLE_MESSAGES =
  /^(Connection terminated|Query read timeout|timeout expired|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end|The server does not support SSL|There was an error establishing an SSL)/;

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * "Could not ask", as opposed to "asked, and the statement is wrong": connection errors,
 * shutdowns, timeouts and cancellations, lock timeouts, exhausted resources, a read-only
 * server, serialization failures.
 */
export function isUnavailable(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined) {
    if (UNAVAILABLE_SYSCALLS.has(code)) return true;
    if (/^(08|53|57|58)/.test(code)) return true;
    if (["55P03", "25006", "40001", "40P01"].includes(code)) return true;
  }
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === "string" && UNAVAILABLE_MESSAGES.test(message);
}

/** The connection died under the statement (not a timeout): worth one retry on a fresh client. */
function isDroppedConnection(error: unknown): boolean {
  const code = codeOf(error);
  if (code === "57P01" || code === "57P02" || code === "ECONNRESET" || code === "EPIPE") return true;
  if (code?.startsWith("08")) return true;
  const message = (error as { message?: unknown } | null)?.message;
  return (
    typeof message === "string" &&
    /^(Connection terminated unexpectedly|Client has encountered a connection error)/.test(message)
  );
}

function translate(error: unknown, what: string): unknown {
  if (!isUnavailable(error)) return error;
  const code = codeOf(error) ?? "no code";
  return new StoreUnavailableError(
    `${what} could not reach PostgreSQL (${code}); the operation may not have been applied`,
    {
      cause: error,
    },
  );
}
