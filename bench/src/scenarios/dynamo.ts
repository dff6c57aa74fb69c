import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { createSessionEngine } from "@porter/core";
import { createDynamoSessionStore } from "@porter/dynamo";
import connectDynamoDB from "connect-dynamodb";
import session from "express-session";
import { peerDriver, porterDriver } from "../drivers.js";
import { MAX_AGE, RUN_ID } from "../session-data.js";
import { type Measure, runStoreSuite } from "./store-suite.js";

// The SDK's notice about Node versions it will drop in 2027 is not a benchmark result.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export interface Dynalite {
  readonly endpoint: string;
  client(): DynamoDBClient;
  close(): Promise<void>;
}

// dynalite runs in a child process of its own, on a free loopback port, so the server's work
// does not share the measuring process's event loop (a DynamoDB endpoint is never in-process).
// The child exits when its stdin closes, so it cannot outlive the run.
const CHILD = `
const dynalite = require("dynalite");
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
`;

/** Starts dynalite (in memory) and waits until it listens, within 15 s. */
export async function startDynalite(): Promise<Dynalite> {
  const cwd = fileURLToPath(new URL("../..", import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ["-e", CHILD], {
    cwd,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("dynalite did not start within 15 s")), 15_000);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`dynalite exited with ${code}`)));
    child.stdout!.once("data", (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(Number(chunk.toString().trim()));
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: DynamoDBClient[] = [];
  return {
    endpoint,
    client() {
      const c = new DynamoDBClient({
        endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
      });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.stdin!.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** connect-dynamodb on its own table, created (as it does) before the first request. */
export async function peerDynamoStore(client: DynamoDBClient, table: string): Promise<session.Store> {
  const factory = connectDynamoDB as unknown as (s: typeof session) => new (options: object) => session.Store;
  const DynamoDBStore = factory(session);
  const store = new DynamoDBStore({ client, table }) as session.Store & { initialize(): Promise<void> };
  await store.initialize();
  return store;
}

export async function dynamoSuite(measure: Measure, destroyOps: number, opsAt64: number): Promise<void> {
  const dynalite = await startDynalite();
  try {
    const store = createDynamoSessionStore({ client: dynalite.client(), table: `porter_${RUN_ID}` });
    await store.ensureTable();
    const engine = createSessionEngine({ store, maxAge: MAX_AGE, cookie: { secure: false } });
    const peer = await peerDynamoStore(dynalite.client(), `peer_${RUN_ID}`);
    // The raw bound: the SDK's GetItem and PutItem by key on a table of the same key schema
    // (made here by a store's ensureTable), the same bytes, no condition, no engine.
    const rawTable = `raw_${RUN_ID}`;
    await createDynamoSessionStore({ client: dynalite.client(), table: rawTable }).ensureTable();
    const raw = dynalite.client();
    const readData = async (key: string): Promise<string> => {
      const { Item } = await raw.send(
        new GetItemCommand({ TableName: rawTable, Key: { pk: { S: key } }, ConsistentRead: true }),
      );
      const data = Item?.d?.S;
      if (data === undefined) throw new Error("raw dynamo: item missing");
      return data;
    };
    const put = (key: string, data: string) =>
      raw.send(
        new PutItemCommand({
          TableName: rawTable,
          Item: { pk: { S: key }, d: { S: data }, x: { N: String(Date.now() + MAX_AGE * 1000) } },
        }),
      );
    await runStoreSuite(
      {
        engine: "dynamo",
        porterName: "porter dynamo",
        porter: porterDriver(engine),
        peerName: "connect-dynamodb",
        peer: peerDriver(peer),
        bound: {
          name: "raw SDK",
          saveOps: "GetItem + PutItem",
          readOps: "GetItem",
          async seed(visitor, bytes) {
            const key = `raw${visitor}`;
            await put(key, bytes);
            return key;
          },
          async loadSave(key) {
            await put(key, await readData(key));
          },
          async loadOnly(key) {
            await readData(key);
          },
        },
        destroyOps,
        // dynalite's rate swings from a few hundred to a few thousand requests/s here: each
        // window runs a fixed number of operations, the same for both contenders.
        opsPerWindow: (concurrency) => (concurrency === 1 ? Math.ceil(opsAt64 / 4) : opsAt64),
      },
      measure,
    );
  } finally {
    await dynalite.close();
  }
}
