import { randomUUID } from "node:crypto";
import { createManualClock, describeSessionStore, describeUserStore } from "@porter/core/conformance";
import { MongoClient } from "mongodb";
import { afterAll, describe, it } from "vitest";
import { decodeText } from "../src/documents.js";
import {
  createMongoSessionStore,
  createMongoUserStore,
  type MongoSessionStore,
  type MongoUserStore,
} from "../src/index.js";

const url = process.env.MONGODB_URL;

if (url === undefined || url === "") {
  const reason = "MONGODB_URL is not set (no MongoDB server can be installed on this machine)";
  console.warn(`MongoDB kit — skipped: ${reason}`);
  describe(`MongoDB kit — skipped: ${reason}`, () => {
    it("SessionStore and UserStore conformance against a real MongoDB", (ctx) => ctx.skip(reason));
  });
} else {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  const dbName = `porter_test_${randomUUID().slice(0, 8)}`;
  afterAll(async () => {
    await client.db(dbName).dropDatabase();
    await client.close();
  });
  const clock = createManualClock();

  describeSessionStore<MongoSessionStore>("mongo", {
    create: async () => {
      const store = createMongoSessionStore({
        client,
        dbName,
        collection: `sess_${randomUUID().replaceAll("-", "")}`,
        clock: clock.now,
      });
      await store.ensureIndexes();
      return store;
    },
    clock,
    inspect: async (store, key) => {
      const doc = await client
        .db(dbName)
        .collection(store.collectionName)
        .findOne({ _id: { $eq: key } } as never);
      if (doc === null) return null;
      const data = decodeText(doc.d);
      return { ...(data === undefined ? {} : { data }), expiresAt: (doc.x as Date).getTime() };
    },
    unreachable: () =>
      createMongoSessionStore({
        url: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500",
        collection: "unreachable",
      }),
    deadlineMs: 3000,
  });

  describeUserStore("mongo", {
    create: async (): Promise<MongoUserStore> => {
      const suffix = randomUUID().replaceAll("-", "");
      const store = createMongoUserStore({
        client,
        dbName,
        collection: `users_${suffix}`,
        groupsCollection: `groups_${suffix}`,
      });
      await store.ensureIndexes();
      return store;
    },
  });
}
