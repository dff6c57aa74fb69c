import { PorterError } from "@porter/core";
import { HOSTILE_KEYS, testKey } from "@porter/core/conformance";
import { MongoClient } from "mongodb";
import { describe, expect, it } from "vitest";
import {
  createMongoSessionStore,
  createMongoUserStore,
  type MongoSessionStoreOptions,
  type MongoUserStoreOptions,
} from "../src/index.js";
import { badInputs } from "./bad-inputs.js";

const HOUR = 3_600_000;
// Nothing listens on port 1 of the loopback interface: a real driver, a real refused connection.
const UNREACHABLE = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500";

async function outcome(run: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await run();
    return { error: undefined, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

function configError(run: () => unknown): PorterError {
  try {
    run();
  } catch (error) {
    expect(PorterError.is(error, "INVALID_CONFIG"), String(error)).toBe(true);
    return error as PorterError;
  }
  return expect.fail("expected ConfigError");
}

describe("options", () => {
  it("refuse collection names outside a strict pattern, the corpus's included", () => {
    const corpus = badInputs("store-config", testKey())
      .filter((e) => e.id === "CFG-006" || e.id === "CFG-007")
      .map((e) => e.value as string);
    expect(corpus).toEqual(["system.users", "sess\u0000ions"]);
    const names = [...corpus, "", "a$b", "$cmd", "a b", "x".repeat(121), "1abc", "sessions;drop", "a\u202eb"];
    for (const collection of names) {
      configError(() => createMongoSessionStore({ url: UNREACHABLE, collection }));
      configError(() => createMongoUserStore({ url: UNREACHABLE, collection }));
      configError(() => createMongoUserStore({ url: UNREACHABLE, groupsCollection: collection }));
    }
  });

  it("need exactly one of client, db or url, and a sane database name", () => {
    const client = new MongoClient(UNREACHABLE);
    const bad: MongoSessionStoreOptions[] = [
      {},
      { client, url: UNREACHABLE },
      { client, db: client.db("x") },
      { url: "http://127.0.0.1:27017" },
      { url: UNREACHABLE, dbName: "a/b" },
      { url: UNREACHABLE, dbName: "" },
      { db: client.db("x"), dbName: "y" },
      { url: UNREACHABLE, timeoutMs: 0 },
      { url: UNREACHABLE, maxSessionBytes: 32 * 1024 * 1024 },
      { url: UNREACHABLE, cleanupBatchSize: -1 },
    ];
    for (const options of bad) configError(() => createMongoSessionStore(options));
  });

  it("a URL that cannot be parsed is a ConfigError that never repeats the password", () => {
    const error = configError(() =>
      createMongoUserStore({ url: "mongodb://user:s3cr3t@127.0.0.1:1/?authMechanism=NOPE" }),
    );
    expect(error.message).not.toContain("s3cr3t");
    expect(error.message).not.toContain("127.0.0.1");
  });
});

describe("an unreachable MongoDB", () => {
  it("every session operation rejects with StoreUnavailableError within the deadline, never null", async () => {
    const store = createMongoSessionStore({ url: UNREACHABLE });
    const key = testKey();
    const ops: [string, () => Promise<unknown>][] = [
      ["get", () => store.get(key)],
      ["create", () => store.create(key, "x", Date.now() + HOUR)],
      ["update", () => store.update(key, { data: "x", expiresAt: Date.now() + HOUR, version: 1 })],
      ["touch", () => store.touch(key, Date.now() + HOUR)],
      ["delete", () => store.delete(key)],
      ["clearExpired", () => store.clearExpired()],
      ["ensureIndexes", () => store.ensureIndexes()],
    ];
    for (const [op, run] of ops) {
      const { error, ms } = await outcome(run);
      expect(PorterError.is(error, "STORE_UNAVAILABLE"), `${op}: ${String(error)}`).toBe(true);
      expect((error as Error).cause, op).toBeInstanceOf(Error);
      expect(ms, op).toBeLessThan(3000);
    }
    await store.close();
  });

  it("every user operation rejects with StoreUnavailableError within the deadline", async () => {
    const store = createMongoUserStore({ url: UNREACHABLE });
    const id = "0b7c6a52-4a0e-4d4b-9d8e-2f0c9c1f5a10";
    const ops: [string, () => Promise<unknown>][] = [
      ["findById", () => store.findById(id)],
      ["findByUsername", () => store.findByUsername("alice")],
      ["create", () => store.create({ username: "alice", passwordHash: "!x" })],
      ["update", () => store.update(id, { isActive: false })],
      ["delete", () => store.delete(id)],
      ["groupPermissions", () => store.groupPermissions(["editors"])],
      ["setGroupPermissions", () => store.setGroupPermissions("editors", ["a.b"])],
    ];
    for (const [op, run] of ops) {
      const { error, ms } = await outcome(run);
      expect(PorterError.is(error, "STORE_UNAVAILABLE"), `${op}: ${String(error)}`).toBe(true);
      expect(ms, op).toBeLessThan(3000);
    }
    await store.close();
  });

  it("hostile keys and usernames are refused before the driver is asked", async () => {
    // Had any of these reached the driver, it would have waited 500 ms for a server and then
    // rejected with STORE_UNAVAILABLE; command monitoring would have seen a command start.
    const client = new MongoClient(UNREACHABLE, { monitorCommands: true });
    let commands = 0;
    client.on("commandStarted", () => commands++);
    const sessions = createMongoSessionStore({ client });
    const users = createMongoUserStore({ client });
    const corpus = badInputs("session-key", testKey()).map((e) => e.value);
    for (const key of [...corpus, ...HOSTILE_KEYS, { $ne: null }, { $gt: "" }, { $where: "sleep(5000)" }]) {
      const k = key as never;
      for (const run of [
        () => sessions.get(k),
        () => sessions.create(k, "x", Date.now() + HOUR),
        () => sessions.update(k, { data: "x", expiresAt: Date.now() + HOUR, version: 1 }),
        () => sessions.touch(k, Date.now() + HOUR),
        () => sessions.delete(k),
      ]) {
        const { error, ms } = await outcome(run);
        expect(PorterError.is(error, "INVALID_ARGUMENT"), String(error)).toBe(true);
        expect(ms).toBeLessThan(100);
      }
    }
    const usernames = badInputs("username", testKey()).map((e) => e.value);
    for (const username of [...usernames, { $ne: null }, { $gt: "" }, ["admin"], "", "x\ud800"]) {
      if (
        typeof username === "string" &&
        username.length > 0 &&
        username.length <= 150 &&
        (username as unknown as { isWellFormed(): boolean }).isWellFormed()
      )
        continue;
      const { error, ms } = await outcome(async () =>
        expect(await users.findByUsername(username as never)).toBeNull(),
      );
      expect(error).toBeUndefined();
      expect(ms).toBeLessThan(100);
    }
    for (const id of [{ $ne: null }, "1", "", ["x"], "../x"]) {
      const { error, ms } = await outcome(async () => expect(await users.findById(id as never)).toBeNull());
      expect(error).toBeUndefined();
      expect(ms).toBeLessThan(100);
    }
    expect(commands).toBe(0);
    await client.close();
  });

  it("close() leaves a client the application gave open", async () => {
    const client = new MongoClient(UNREACHABLE);
    const realClose = client.close.bind(client);
    let closes = 0;
    client.close = (force?: boolean) => {
      closes++;
      return realClose(force);
    };
    const given: MongoUserStoreOptions = { client };
    await createMongoUserStore(given).close();
    await createMongoSessionStore({ client }).close();
    await createMongoSessionStore({ db: client.db("x") }).close();
    expect(closes).toBe(0);
    await client.close();
    expect(closes).toBe(1);
  });

  it("close() closes the client a store made from a URL", async () => {
    const store = createMongoSessionStore({ url: UNREACHABLE });
    await store.close();
    const { error, ms } = await outcome(() => store.get(testKey()));
    expect(PorterError.is(error, "STORE_UNAVAILABLE"), String(error)).toBe(true);
    // A closed client refuses at once; an open one would wait 500 ms for a server first.
    expect((error as Error).cause).toMatchObject({ name: "MongoNotConnectedError" });
    expect(ms).toBeLessThan(300);
  });
});
