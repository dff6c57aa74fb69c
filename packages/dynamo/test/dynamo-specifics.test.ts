import { randomInt } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
} from "@aws-sdk/client-dynamodb";
import { PorterError } from "@porter/core";
import { testKey } from "@porter/core/conformance";
import { afterAll, describe, expect, it } from "vitest";
import {
  createDynamoSessionStore,
  type DynamoSessionStore,
  type DynamoSessionStoreOptions,
} from "../src/index.js";
import { closedPort, credentials, startDynalite, uniqueTable } from "./dynalite-server.js";

const ddb = await startDynalite();
afterAll(() => ddb.close());
const HOUR = 3_600_000;

/** A client on the same dynalite that counts the commands it sends, by name. */
function countingClient(): { client: DynamoDBClient; sent: string[] } {
  const client = new DynamoDBClient({ endpoint: ddb.endpoint, region: "us-east-1", credentials });
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(String(context.commandName));
      return next(args);
    },
    { step: "initialize" },
  );
  return { client, sent };
}

async function freshStore(options: Partial<DynamoSessionStoreOptions> = {}): Promise<DynamoSessionStore> {
  const store = createDynamoSessionStore({ client: ddb.client, table: uniqueTable("spec"), ...options });
  await store.ensureTable();
  return store;
}

const raw = async (store: DynamoSessionStore, key: string) =>
  (
    await ddb.client.send(
      new GetItemCommand({ TableName: store.table, Key: { pk: { S: key } }, ConsistentRead: true }),
    )
  ).Item;

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail("expected a rejection"),
    (e: unknown) => e,
  );
}
const assert = { fail: (m: string): never => expect.fail(m) };

describe("DynamoDB items", () => {
  it("keep expiresAt in ms and the TTL attribute in epoch seconds, rounded up", async () => {
    const store = await freshStore();
    const key = testKey();
    const expiresAt = Date.now() + HOUR + 123;
    await store.create(key, "{}", expiresAt);
    const item = await raw(store, key);
    expect(item?.x?.N).toBe(String(expiresAt));
    expect(item?.ttl?.N).toBe(String(Math.ceil(expiresAt / 1000)));
    // Seconds, not milliseconds: DynamoDB's TTL sweep ignores values too far in the future.
    expect(Number(item?.ttl?.N)).toBeLessThan(1e11);
    await store.touch(key, expiresAt + HOUR);
    expect((await raw(store, key))?.ttl?.N).toBe(String(Math.ceil((expiresAt + HOUR) / 1000)));
  });

  it("keep well-formed text as a string and text with lone surrogates as UTF-16LE binary, both exactly", async () => {
    const store = await freshStore();
    const cases = ["nul \u0000 inside", "lone \ud800 high", "lone \udc00 low", "\udfff\ud800", "", "😀 pair"];
    for (const data of cases) {
      const key = testKey();
      await store.create(key, data, Date.now() + HOUR);
      const item = await raw(store, key);
      if ((data as unknown as { isWellFormed(): boolean }).isWellFormed()) expect(item?.d?.S).toBe(data);
      else expect(Buffer.from(item?.d?.B ?? []).toString("utf16le")).toBe(data);
      expect((await store.get(key))?.data).toBe(data);
    }
  });

  it("deflate large data so a 1 MB session fits, and refuse what still does not fit before any request", async () => {
    const { client, sent } = countingClient();
    const store = await freshStore({ client });
    const key = testKey();
    const big = `[${'{"k":"xxxxxxxx","u":"ü😀\u0000"},'.repeat(30_000)}0]`;
    await store.create(key, big, Date.now() + HOUR);
    const item = await raw(store, key);
    expect(item?.f?.S).toBe("z8");
    expect(item?.d?.B?.byteLength).toBeLessThan(100_000);
    expect((await store.get(key))?.data).toBe(big);

    // Random CJK text: ~900 KB of UTF-8 that deflate cannot bring under 400 KB.
    const noise = Array.from({ length: 300_000 }, () => String.fromCharCode(0x4e00 + randomInt(0x5000))).join(
      "",
    );
    sent.length = 0;
    const error = await failure(store.create(testKey(), noise, Date.now() + HOUR));
    expect(PorterError.is(error, "SESSION_TOO_LARGE")).toBe(true);
    const updateError = await failure(
      store.update(key, { data: noise, expiresAt: Date.now() + HOUR, version: 1 }),
    );
    expect(PorterError.is(updateError, "SESSION_TOO_LARGE")).toBe(true);
    expect(sent).toEqual([]);
    client.destroy();
  });

  it("a record past expiresAt is gone on read even though no TTL sweep removed it", async () => {
    const store = await freshStore();
    const key = testKey();
    const t = Date.now();
    await store.create(key, "x", t + HOUR);
    const later = createDynamoSessionStore({
      client: ddb.client,
      table: store.table,
      clock: () => t + 2 * HOUR,
    });
    expect(await later.get(key)).toBeNull();
    expect(await raw(store, key)).toBeDefined();
    expect(await later.clearExpired()).toBe(1);
    expect(await raw(store, key)).toBeUndefined();
  });
});

describe("ensureTable", () => {
  it("creates an on-demand table once, and is safe to run twice and concurrently", async () => {
    const table = uniqueTable("ensure");
    const a = createDynamoSessionStore({ client: ddb.client, table });
    const b = createDynamoSessionStore({ client: ddb.client, table });
    await Promise.all([a.ensureTable(), b.ensureTable(), a.ensureTable()]);
    await a.ensureTable();
    const { Table } = await ddb.client.send(new DescribeTableCommand({ TableName: table }));
    expect(Table?.TableStatus).toBe("ACTIVE");
    expect(Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
    expect(Table?.KeySchema).toEqual([{ AttributeName: "pk", KeyType: "HASH" }]);
    const key = testKey();
    await a.create(key, "works", Date.now() + HOUR);
    expect((await b.get(key))?.data).toBe("works");
  });

  it("refuses a table whose key schema is not Porter's", async () => {
    const table = uniqueTable("other");
    await ddb.client.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      }),
    );
    const error = await failure(createDynamoSessionStore({ client: ddb.client, table }).ensureTable());
    expect(PorterError.is(error, "INVALID_CONFIG")).toBe(true);
  });

  it("without it, operations reject with StoreUnavailableError that says what to do", async () => {
    const store = createDynamoSessionStore({ client: ddb.client, table: uniqueTable("missing") });
    const error = await failure(store.get(testKey()));
    expect(PorterError.is(error, "STORE_UNAVAILABLE")).toBe(true);
    expect(String((error as Error).message)).toMatch(/ensureTable/);
    expect((error as Error).cause).toMatchObject({ name: "ResourceNotFoundException" });
  });
});

describe("options", () => {
  it("are checked at construction", () => {
    const bad: Partial<DynamoSessionStoreOptions>[] = [
      { table: "ab" },
      { table: "sessions; DROP" },
      { table: "x".repeat(256) },
      { ttlAttribute: "d" },
      { ttlAttribute: "bad name" },
      { maxItemBytes: 500 * 1024 },
      { cleanupRequestsPerSecond: 0 },
      { requestTimeoutMs: -1 },
    ];
    for (const options of bad) {
      let error: unknown;
      try {
        createDynamoSessionStore({ client: ddb.client, ...options });
      } catch (e) {
        error = e;
      }
      expect(PorterError.is(error, "INVALID_CONFIG"), JSON.stringify(options)).toBe(true);
    }
  });

  it("close() never destroys a client the application gave", async () => {
    const store = await freshStore();
    await store.close();
    const again = createDynamoSessionStore({ client: ddb.client, table: store.table });
    const key = testKey();
    await again.create(key, "still up", Date.now() + HOUR);
    expect((await again.get(key))?.data).toBe("still up");
  });
});

describe("resources", () => {
  it("100 stores that made their own client, used and closed, leave no connection open", async () => {
    const { table } = await freshStore();
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
    const baseline = sockets();
    for (let i = 0; i < 100; i++) {
      const store = createDynamoSessionStore({
        endpoint: ddb.endpoint,
        region: "us-east-1",
        clientConfig: { credentials },
        table,
      });
      await store.create(testKey(), "x", Date.now() + HOUR);
      await store.close();
    }
    // Both ends of each connection live in this process; the server's side closes a moment later.
    const deadline = Date.now() + 3000;
    while (sockets() > baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(sockets()).toBeLessThanOrEqual(baseline);
  });
});

describe("clearExpired", () => {
  it("follows LastEvaluatedKey through every Scan page and keeps to its request rate", async () => {
    const { client, sent } = countingClient();
    let now = Date.now();
    const rate = 1000;
    const store = await freshStore({ client, clock: () => now, cleanupRequestsPerSecond: rate });
    // 1 200 items of ~3 KB: more than 3 MB, and a Scan page stops at 1 MB.
    const filler = "y".repeat(3000);
    const expired = Array.from({ length: 1200 }, () => testKey());
    for (let i = 0; i < expired.length; i += 50) {
      await Promise.all(expired.slice(i, i + 50).map((k) => store.create(k, filler, now + 1000)));
    }
    const live = [testKey(), testKey()];
    for (const k of live) await store.create(k, "live", now + HOUR);
    now += 2000;
    sent.length = 0;
    const started = performance.now();
    expect(await store.clearExpired()).toBe(expired.length);
    const seconds = (performance.now() - started) / 1000;
    const scans = sent.filter((c) => c === "ScanCommand").length;
    expect(scans).toBeGreaterThanOrEqual(4);
    expect(sent.length / seconds).toBeLessThanOrEqual(rate * 1.05);
    for (const k of live) expect((await store.get(k))?.data).toBe("live");
    expect(await store.clearExpired()).toBe(0);
    client.destroy();
  }, 60_000);

  it("stops when the store closes, reporting what it removed, and leaves no timer behind", async () => {
    let now = Date.now();
    const store = await freshStore({ clock: () => now, cleanupRequestsPerSecond: 20 });
    for (let i = 0; i < 40; i++) await store.create(testKey(), "old", now + 1000);
    now += 2000;
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const timersBefore = timers();
    const running = store.clearExpired();
    await new Promise((r) => setTimeout(r, 300));
    const closedAt = performance.now();
    await store.close();
    const removed = await running;
    expect(performance.now() - closedAt).toBeLessThan(200);
    expect(removed).toBeGreaterThan(0);
    expect(removed).toBeLessThan(40);
    expect(timers()).toBeLessThanOrEqual(timersBefore);
  });
});

describe("an unreachable or failing DynamoDB", () => {
  it("touch, clearExpired and ensureTable reject with StoreUnavailableError within the deadline", async () => {
    const store = createDynamoSessionStore({
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      region: "us-east-1",
      clientConfig: { credentials },
    });
    for (const run of [
      () => store.touch(testKey(), Date.now() + HOUR),
      () => store.clearExpired(),
      () => store.ensureTable(),
    ]) {
      const started = Date.now();
      const error = await failure(run());
      expect(PorterError.is(error, "STORE_UNAVAILABLE"), String(error)).toBe(true);
      expect(Date.now() - started).toBeLessThan(3000);
    }
    await store.close();
  });

  it("a server that accepts but never answers: the request timeout, retried by the SDK, then the operation deadline", async () => {
    const { createServer: createTcpServer } = await import("node:net");
    const sockets = new Set<import("node:net").Socket>();
    const silent = createTcpServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
    const { port } = silent.address() as AddressInfo;
    const store = createDynamoSessionStore({
      endpoint: `http://127.0.0.1:${port}`,
      region: "us-east-1",
      clientConfig: { credentials },
      requestTimeoutMs: 400,
      maxAttempts: 2,
      operationTimeoutMs: 1500,
    });
    const started = performance.now();
    const error = await failure(store.get(testKey()));
    const elapsed = performance.now() - started;
    expect(PorterError.is(error, "STORE_UNAVAILABLE"), String(error)).toBe(true);
    // Two attempts of 400 ms each (plus the SDK's backoff) end before the 1.5 s deadline.
    expect((error as Error).cause).toMatchObject({ name: "TimeoutError" });
    expect(elapsed).toBeGreaterThanOrEqual(800);
    expect(elapsed).toBeLessThan(1500);

    const deadline = createDynamoSessionStore({
      endpoint: `http://127.0.0.1:${port}`,
      region: "us-east-1",
      clientConfig: { credentials },
      requestTimeoutMs: 5000,
      operationTimeoutMs: 700,
    });
    const t0 = performance.now();
    const late = await failure(deadline.get(testKey()));
    expect(PorterError.is(late, "STORE_UNAVAILABLE")).toBe(true);
    expect((late as Error).message).toMatch(/no answer within 700 ms/);
    expect(performance.now() - t0).toBeLessThan(700 + 250);
    await deadline.close();
    await store.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  /** An HTTP endpoint that answers every request with one DynamoDB error (dynalite never throttles). */
  async function failingEndpoint(status: number, type: string) {
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      req.resume();
      req.on("end", () => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.0", "x-amzn-errortype": type });
        res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: "injected" }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const { port } = server.address() as AddressInfo;
    return {
      endpoint: `http://127.0.0.1:${port}`,
      requests: () => requests,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  for (const [status, type] of [
    [400, "ProvisionedThroughputExceededException"],
    [500, "InternalServerError"],
  ] as const) {
    it(`${type}: the SDK's own retries only, then StoreUnavailableError with the cause`, async () => {
      const endpoint = await failingEndpoint(status, type);
      const store = createDynamoSessionStore({
        endpoint: endpoint.endpoint,
        region: "us-east-1",
        clientConfig: { credentials },
        maxAttempts: 3,
      });
      const error = await failure(store.get(testKey()));
      expect(PorterError.is(error, "STORE_UNAVAILABLE")).toBe(true);
      expect((error as Error).cause).toMatchObject({ name: type });
      expect(endpoint.requests()).toBe(3);
      await store.close();
      await endpoint.close();
    });
  }
});
