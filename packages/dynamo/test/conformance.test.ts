import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { createManualClock, describeSessionStore, describeUserStore } from "@porter/core/conformance";
import { afterAll } from "vitest";
import { createDynamoSessionStore, createDynamoUserStore, type DynamoSessionStore } from "../src/index.js";
import { decodeSessionData } from "../src/session-data.js";
import { closedPort, credentials, startDynalite, uniqueTable } from "./dynalite-server.js";

const ddb = await startDynalite();
afterAll(() => ddb.close());
const clock = createManualClock();
const deadPort = await closedPort();

describeSessionStore<DynamoSessionStore>("dynamo (dynalite)", {
  create: async () => {
    const store = createDynamoSessionStore({
      client: ddb.client,
      table: uniqueTable("sess"),
      clock: clock.now,
    });
    await store.ensureTable();
    return store;
  },
  clock,
  inspect: async (store, key) => {
    const { Item } = await ddb.client.send(
      new GetItemCommand({ TableName: store.table, Key: { pk: { S: key } }, ConsistentRead: true }),
    );
    if (Item === undefined) return null;
    const data = await decodeSessionData(Item);
    return {
      ...(data === undefined ? {} : { data }),
      // The TTL attribute is in epoch seconds: ×1000 must land within a second of expiresAt.
      expiresAt: Number(Item[store.ttlAttribute]?.N) * 1000,
    };
  },
  unreachable: () =>
    createDynamoSessionStore({
      endpoint: `http://127.0.0.1:${deadPort}`,
      region: "us-east-1",
      clientConfig: { credentials },
      table: "porter_unreachable",
      operationTimeoutMs: 2500,
    }),
  deadlineMs: 3000,
});

describeUserStore("dynamo (dynalite)", {
  create: async () => {
    const store = createDynamoUserStore({ client: ddb.client, table: uniqueTable("users") });
    await store.ensureTable();
    return store;
  },
});
