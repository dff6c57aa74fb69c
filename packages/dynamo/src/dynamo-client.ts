import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { ConfigError, createDeadlineRunner, PorterError, StoreUnavailableError } from "@porter/core";

/** How a store reaches DynamoDB: a client the application owns, or one the store creates. */
export interface DynamoConnectionOptions {
  /**
   * A `DynamoDBClient` the application already has. The store never destroys it, and its
   * retries and timeouts are the application's to choose. Give `client`, or leave it out and
   * the store creates its own from the options below (`close()` then destroys it).
   */
  client?: DynamoDBClient;
  /** For a client the store creates: the AWS region (else the SDK's usual sources). */
  region?: string;
  /** For a client the store creates: an endpoint such as `http://127.0.0.1:8000` (DynamoDB Local, dynalite). */
  endpoint?: string;
  /** For a client the store creates: any other `DynamoDBClient` settings; they override the store's defaults. */
  clientConfig?: DynamoDBClientConfig;
  /** For a client the store creates: how long opening a connection may take, in ms. @default 1000 */
  connectionTimeoutMs?: number;
  /** For a client the store creates: how long one attempt may wait for a response, in ms. @default 2000 */
  requestTimeoutMs?: number;
  /** For a client the store creates: the SDK's attempts per request, the first included. @default 3 */
  maxAttempts?: number;
  /**
   * A deadline for each store operation, the SDK's retries included, in ms: past it the
   * operation rejects with `StoreUnavailableError`. The request itself is not cancelled (an
   * abort signal per request costs the SDK about a tenth of its CPU per call); the SDK's
   * `requestTimeoutMs` and `maxAttempts` bound how long an abandoned request lives.
   * @default 5000
   */
  operationTimeoutMs?: number;
}

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function checkTableName(table: unknown): string {
  if (typeof table !== "string" || !TABLE_NAME.test(table)) {
    throw new ConfigError("table must be 3–255 characters of [A-Za-z0-9_.-]");
  }
  return table;
}

export function checkAttributeName(name: unknown, what: string): string {
  if (typeof name !== "string" || !ATTRIBUTE_NAME.test(name)) {
    throw new ConfigError(`${what} must be 1–64 characters of [A-Za-z0-9_], not starting with a digit`);
  }
  return name;
}

function positive(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`${what} must be a positive integer`);
  return value;
}

/** A command sender with the store's deadline and error mapping; `destroy` only touches an owned client. */
export interface Connection {
  readonly client: DynamoDBClient;
  /** Sends `command`; every failure but a condition check becomes `StoreUnavailableError`. */
  send<T>(what: string, run: (client: DynamoDBClient) => Promise<T>): Promise<T>;
  destroy(): void;
}

export function connect(options: DynamoConnectionOptions, table: string): Connection {
  const connectionTimeout = positive(options.connectionTimeoutMs, 1000, "connectionTimeoutMs");
  const requestTimeout = positive(options.requestTimeoutMs, 2000, "requestTimeoutMs");
  const maxAttempts = positive(options.maxAttempts, 3, "maxAttempts");
  const operationTimeout = positive(options.operationTimeoutMs, 5000, "operationTimeoutMs");
  const owned = options.client === undefined;
  let client: DynamoDBClient;
  if (options.client !== undefined) {
    client = options.client;
  } else {
    const config: DynamoDBClientConfig = {
      maxAttempts,
      // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes.
      requestHandler: { connectionTimeout, requestTimeout, throwOnRequestTimeout: true },
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...options.clientConfig,
    };
    client = new DynamoDBClient(config);
  }

  // One shared interval rather than a timer and an abort signal per call: past the deadline the
  // caller hears TIMED_OUT; everything else passes through to the mapping below.
  const deadline = createDeadlineRunner(operationTimeout, {
    timeoutError: () => TIMED_OUT,
    mapError: (error) => error,
  });

  return {
    client,
    async send(what, run) {
      try {
        return await deadline(() => run(client));
      } catch (err) {
        if (err === TIMED_OUT) throw unavailable(undefined, what, table, operationTimeout);
        if (isConditionFailed(err) || PorterError.is(err)) throw err;
        throw unavailable(err, what, table, undefined);
      }
    },
    destroy() {
      if (owned) client.destroy();
    },
  };
}

const TIMED_OUT: unique symbol = Symbol("timed out");

export const errorName = (err: unknown): string | undefined =>
  typeof err === "object" && err !== null && typeof (err as { name?: unknown }).name === "string"
    ? (err as { name: string }).name
    : undefined;

export const isConditionFailed = (err: unknown): boolean =>
  errorName(err) === "ConditionalCheckFailedException";

const THROTTLING = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "LimitExceededException",
]);

function unavailable(
  err: unknown,
  what: string,
  table: string,
  deadline: number | undefined,
): StoreUnavailableError {
  const name = errorName(err) ?? "error";
  let reason: string;
  if (deadline !== undefined) reason = `no answer within ${deadline} ms`;
  else if (name === "ResourceNotFoundException") reason = `table ${table} does not exist; run ensureTable()`;
  else if (THROTTLING.has(name)) reason = "throttled after the SDK's retries";
  else reason = name;
  return new StoreUnavailableError(
    `DynamoDB ${what} failed: ${reason}`,
    err === undefined ? undefined : { cause: err },
  );
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What `ensureTable` accepts. */
export interface EnsureTableOptions {
  /** How long to wait for a new table to become ACTIVE, in ms. @default 120000 */
  timeoutMs?: number;
}

/**
 * Creates `table` (partition key `pk`, a string; on-demand billing) unless it exists, waits
 * until it is ACTIVE, checks its key schema, and turns on TTL on `ttlAttribute` when given.
 * Safe to run twice and concurrently.
 */
export async function ensureTable(
  conn: Connection,
  table: string,
  ttlAttribute: string | undefined,
  options: EnsureTableOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  try {
    await conn.send("CreateTable", (c) =>
      c.send(
        new CreateTableCommand({
          TableName: table,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
          KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        }),
      ),
    );
  } catch (err) {
    // The table exists already, or a concurrent call is creating it: wait for it below.
    if (errorName((err as { cause?: unknown }).cause) !== "ResourceInUseException") throw err;
  }

  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    const { Table } = await conn.send("DescribeTable", (c) =>
      c.send(new DescribeTableCommand({ TableName: table })),
    );
    const key = Table?.KeySchema ?? [];
    const pkType = Table?.AttributeDefinitions?.find((a) => a.AttributeName === "pk")?.AttributeType;
    if (key.length !== 1 || key[0]?.AttributeName !== "pk" || key[0]?.KeyType !== "HASH" || pkType !== "S") {
      throw new ConfigError(
        `table ${table} exists with another key schema; Porter needs a string partition key "pk" only`,
      );
    }
    if (Table?.TableStatus === "ACTIVE") break;
    if (Date.now() + delay > deadline) {
      throw new StoreUnavailableError(`DynamoDB table ${table} did not become ACTIVE in time`);
    }
    await sleep(delay);
  }

  if (ttlAttribute !== undefined) await ensureTimeToLive(conn, table, ttlAttribute);
}

async function ensureTimeToLive(conn: Connection, table: string, attribute: string): Promise<void> {
  const enabledOn = async (): Promise<string | undefined> => {
    const { TimeToLiveDescription: ttl } = await conn.send("DescribeTimeToLive", (c) =>
      c.send(new DescribeTimeToLiveCommand({ TableName: table })),
    );
    const on = ttl?.TimeToLiveStatus === "ENABLED" || ttl?.TimeToLiveStatus === "ENABLING";
    return on ? ttl?.AttributeName : undefined;
  };
  const current = await enabledOn();
  if (current === attribute) return;
  if (current !== undefined) {
    throw new ConfigError(
      `table ${table} has TTL on "${current}"; the store writes its TTL to "${attribute}"`,
    );
  }
  try {
    await conn.send("UpdateTimeToLive", (c) =>
      c.send(
        new UpdateTimeToLiveCommand({
          TableName: table,
          TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
        }),
      ),
    );
  } catch (err) {
    const name = errorName((err as { cause?: unknown }).cause);
    // Emulators (dynalite) do not implement TTL at all; reads compare expiresAt regardless.
    if (name === "UnknownOperationException") return;
    // A concurrent ensureTable turned it on first ("TimeToLive is already enabled").
    if (name === "ValidationException" && (await enabledOn()) === attribute) return;
    throw err;
  }
}
