import { PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { PorterError } from "@porter/core";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { createDynamoUserStore, type DynamoUserStore } from "../src/index.js";
import { startDynalite, uniqueTable } from "./dynalite-server.js";

const ddb = await startDynalite();
afterAll(() => ddb.close());

let store: DynamoUserStore;
beforeEach(async () => {
  store = createDynamoUserStore({ client: ddb.client, table: uniqueTable("users") });
  await store.ensureTable();
});

const hash = "pbkdf2_sha256$600000$seasalt$Dgn1dldl4VXmmfKGyTMBBYnS10AZeC0qknzm+1t2DX4=";

async function rawItems(): Promise<string[]> {
  const { Items = [] } = await ddb.client.send(
    new ScanCommand({ TableName: store.table, ConsistentRead: true }),
  );
  return Items.map((i) => i.pk?.S ?? "?").sort();
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(PorterError.is(error, code as never), `expected ${code}, got ${String(error)}`).toBe(true);
}

describe("DynamoDB user store: usernames", () => {
  it("normalizes with NFKC and matches exactly otherwise", async () => {
    const user = await store.create({
      username: "ｆｏｏ",
      passwordHash: hash,
      email: "a\u0000b@example.com",
    });
    expect(user.username).toBe("foo");
    expect((await store.findByUsername("foo"))?.id).toBe(user.id);
    expect((await store.findByUsername("ｆｏｏ"))?.id).toBe(user.id);
    expect(await store.findByUsername("FOO")).toBeNull();
    expect(await store.findByUsername("foo ")).toBeNull();
    const other = await store.create({ username: "FOO", passwordHash: hash });
    expect(other.id).not.toBe(user.id);
    expect(await store.findById(user.id)).toEqual(user);
  });

  it("of 10 concurrent creates of one username exactly one wins, and the losers leave nothing behind", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => store.create({ username: "race", passwordHash: hash })),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results)
      if (r.status === "rejected") expect(PorterError.is(r.reason, "USERNAME_TAKEN")).toBe(true);
    const id = (won[0] as PromiseFulfilledResult<{ id: string }>).value.id;
    expect(await rawItems()).toEqual([`user#${id}`, "username#race"]);
  });

  it("refuses what cannot be a username, and never looks it up", async () => {
    const bad: unknown[] = [
      { $ne: null },
      { $gt: "" },
      "",
      "a".repeat(1 << 20),
      "a".repeat(151),
      "x\ud800",
      null,
      7,
    ];
    for (const username of bad) {
      expect(await store.findByUsername(username as never)).toBeNull();
      await rejectsWith(
        store.create({ username: username as never, passwordHash: hash }),
        "INVALID_ARGUMENT",
      );
    }
    expect(await rawItems()).toEqual([]);
  });

  it("ids of the wrong shape are no user", async () => {
    for (const id of ["", "../x", "user#x", { $ne: null }, "00000000-0000-0000-0000-000000000000"]) {
      expect(await store.findById(id as never)).toBeNull();
      await store.delete(id as never);
      await rejectsWith(store.update(id as never, { isActive: false }), "USER_NOT_FOUND");
    }
  });
});

describe("DynamoDB user store: renames", () => {
  it("moves the username: the old one is free, the new one is taken", async () => {
    const alice = await store.create({ username: "alice", passwordHash: hash });
    const renamed = await store.update(alice.id, { username: "alicia", lastLogin: 1_700_000_000_000 });
    expect(renamed).toMatchObject({ username: "alicia", lastLogin: 1_700_000_000_000 });
    expect(await store.findByUsername("alice")).toBeNull();
    expect((await store.findByUsername("alicia"))?.id).toBe(alice.id);
    const newAlice = await store.create({ username: "alice", passwordHash: hash });
    expect(newAlice.id).not.toBe(alice.id);
    expect(await rawItems()).toHaveLength(4);
  });

  it("refuses a rename onto a taken username and changes nothing", async () => {
    const a = await store.create({ username: "a-user", passwordHash: hash });
    const b = await store.create({ username: "b-user", passwordHash: hash });
    await rejectsWith(store.update(a.id, { username: "b-user", isActive: false }), "USERNAME_TAKEN");
    expect(await store.findById(a.id)).toEqual(a);
    expect((await store.findByUsername("b-user"))?.id).toBe(b.id);
  });

  it("of two users renamed at once onto one free username exactly one gets it", async () => {
    const a = await store.create({ username: "one", passwordHash: hash });
    const b = await store.create({ username: "two", passwordHash: hash });
    const results = await Promise.allSettled([
      store.update(a.id, { username: "prize" }),
      store.update(b.id, { username: "prize" }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const holder = await store.findByUsername("prize");
    const loser = holder?.id === a.id ? b : a;
    expect(await store.findById(loser.id)).toEqual(loser);
    expect((await store.findByUsername(loser.username))?.id).toBe(loser.id);
  });

  it("a patch can remove the email", async () => {
    const u = await store.create({ username: "mail", passwordHash: hash, email: "m@example.com" });
    const updated = await store.update(u.id, { email: undefined });
    expect(updated.email).toBeUndefined();
    expect(await store.findById(u.id)).not.toHaveProperty("email");
  });
});

describe("DynamoDB user store: left-over claims", () => {
  const putClaim = (username: string, uid: string, at: number) =>
    ddb.client.send(
      new PutItemCommand({
        TableName: store.table,
        Item: { pk: { S: `username#${username}` }, uid: { S: uid }, at: { N: String(at) } },
      }),
    );

  it("a claim whose user is gone (a delete cut short) is taken over", async () => {
    await putClaim("ghost", "6f1c1d2e-0000-4000-8000-000000000000", Date.now());
    const u = await store.create({ username: "ghost", passwordHash: hash });
    expect((await store.findByUsername("ghost"))?.id).toBe(u.id);
  });

  it("an unfinished rename's claim blocks the name while fresh, and is taken over once stale", async () => {
    const holder = await store.create({ username: "holder", passwordHash: hash });
    await putClaim("pending", holder.id, Date.now());
    expect(await store.findByUsername("pending")).toBeNull();
    await rejectsWith(store.create({ username: "pending", passwordHash: hash }), "USERNAME_TAKEN");
    await putClaim("pending", holder.id, Date.now() - 10 * 60_000);
    const u = await store.create({ username: "pending", passwordHash: hash });
    expect((await store.findByUsername("pending"))?.id).toBe(u.id);
    expect((await store.findByUsername("holder"))?.id).toBe(holder.id);
  });

  it("delete removes the user and frees the username; deleting again is fine", async () => {
    const u = await store.create({ username: "bye", passwordHash: hash });
    await store.delete(u.id);
    await store.delete(u.id);
    expect(await store.findById(u.id)).toBeNull();
    expect(await store.findByUsername("bye")).toBeNull();
    expect(await rawItems()).toEqual([]);
    await store.create({ username: "bye", passwordHash: hash });
  });
});

describe("DynamoDB user store: groups", () => {
  it("unions the permissions of the named groups and ignores unknown or malformed names", async () => {
    await store.setGroupPermissions("editors", ["blog.change_post", "blog.add_post"]);
    await store.setGroupPermissions("viewers", ["blog.view_post"]);
    await store.setGroupPermissions("viewers", ["blog.view_post", "blog.view_comment"]);
    const perms = await store.groupPermissions([
      "editors",
      "viewers",
      "nobody",
      "",
      "x".repeat(1000),
      "editors",
    ]);
    expect([...perms].sort()).toEqual([
      "blog.add_post",
      "blog.change_post",
      "blog.view_comment",
      "blog.view_post",
    ]);
    expect((await store.groupPermissions([])).size).toBe(0);
  });

  it("reads more than one BatchGetItem's worth of groups", async () => {
    const names = Array.from({ length: 130 }, (_, i) => `g${i}`);
    for (const g of names) await store.setGroupPermissions(g, [`app.${g}`]);
    expect((await store.groupPermissions(names)).size).toBe(130);
  });
});
