import { createPasswordBackend, createPasswordHashers } from "@porter/core";
import { describeAuthBackend, describeUserStore } from "@porter/core/conformance";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresUserStore, type PostgresUserStore } from "../src/index.js";
import { dropSchema, openTestPool, uniqueName } from "./helpers.js";

const schema = uniqueName("porter_users");
let pool: pg.Pool;
let prefixes = 0;

beforeAll(async () => {
  pool = await openTestPool();
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

async function freshStore(): Promise<PostgresUserStore> {
  const store = createPostgresUserStore({ pool, schema, tablePrefix: `u${++prefixes}_` });
  await store.ensureSchema();
  return store;
}

const HASH = "pbkdf2_sha256$870000$salt$aGFzaA==";

describeUserStore("postgres", { create: freshStore });

const hashers = createPasswordHashers({ iterations: 10_000 });
describeAuthBackend("password backend on the postgres user store", {
  create: async () => {
    const users = await freshStore();
    await users.create({ username: "alice", passwordHash: await hashers.makePassword("s3cret pass") });
    return createPasswordBackend({ users, hashers });
  },
  validCredentials: { username: "alice", password: "s3cret pass" },
  invalidCredentials: [
    { username: "alice", password: "wrong" },
    { username: "nobody", password: "s3cret pass" },
    { username: "Alice", password: "s3cret pass" },
  ],
});

describe("postgres user store", () => {
  it("creates, finds by id and by NFKC-normalized username, matched exactly", async () => {
    const store = await freshStore();
    const user = await store.create({
      username: "ｊｏｅ",
      passwordHash: HASH,
      permissions: ["app.view", "app.view", "app.edit"],
      groups: ["staff"],
      email: "joe@example.com",
      dateJoined: 1_700_000_000_123,
    });
    expect(user).toEqual({
      id: user.id,
      username: "joe",
      passwordHash: HASH,
      isActive: true,
      isSuperuser: false,
      permissions: ["app.view", "app.edit"],
      groups: ["staff"],
      lastLogin: null,
      dateJoined: 1_700_000_000_123,
      email: "joe@example.com",
    });
    expect(user.id).toMatch(/^[1-9][0-9]*$/);
    expect(await store.findById(user.id)).toEqual(user);
    expect(await store.findByUsername("joe")).toEqual(user);
    expect(await store.findByUsername("ｊｏｅ")).toEqual(user);
    expect(await store.findByUsername("Joe")).toBeNull();
    const upper = await store.create({ username: "Joe", passwordHash: HASH });
    expect(upper.id).not.toBe(user.id);
  });

  it("of concurrent creates of one username exactly one wins", async () => {
    const store = await freshStore();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.create({ username: i % 2 ? "ann" : "ａｎｎ", passwordHash: HASH }),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason.code).toBe("USERNAME_TAKEN");
  });

  it("updates fields, renames, refuses a taken name and an unknown id", async () => {
    const store = await freshStore();
    const a = await store.create({ username: "a", passwordHash: HASH, email: "a@example.com" });
    const b = await store.create({ username: "b", passwordHash: HASH });
    const updated = await store.update(a.id, {
      username: "ａ2",
      passwordHash: "!unusable",
      isActive: false,
      isSuperuser: true,
      permissions: ["x.y"],
      groups: [],
      lastLogin: 1_700_000_000_999,
    });
    expect(updated).toMatchObject({
      id: a.id,
      username: "a2",
      passwordHash: "!unusable",
      isActive: false,
      isSuperuser: true,
      permissions: ["x.y"],
      groups: [],
      lastLogin: 1_700_000_000_999,
      email: "a@example.com",
      dateJoined: a.dateJoined,
    });
    const cleared = await store.update(a.id, { lastLogin: null, email: undefined });
    expect(cleared.lastLogin).toBeNull();
    expect(cleared.email).toBeUndefined();
    expect(await store.update(a.id, {})).toEqual(cleared);
    await expect(store.update(a.id, { username: "b" })).rejects.toMatchObject({ code: "USERNAME_TAKEN" });
    expect((await store.findById(b.id))?.username).toBe("b");
    for (const id of ["999999", "0", "abc", "-1", "1e3", "99999999999999999999"]) {
      await expect(store.update(id, { isActive: true })).rejects.toMatchObject({ code: "USER_NOT_FOUND" });
    }
  });

  it("wrong shapes are absent on lookup and typed errors on write", async () => {
    const store = await freshStore();
    await store.create({ username: "real", passwordHash: HASH });
    for (const id of ["", "1 OR 1=1", "01", "1.0", " 1", "99999999999999999999", null, 1, {}]) {
      expect(await store.findById(id as string)).toBeNull();
      await store.delete(id as string);
    }
    for (const name of ["", "a\u0000b", "x\ud800", "l".repeat(151), "a\nb", 7, null, { $ne: null }]) {
      expect(await store.findByUsername(name as string)).toBeNull();
      await expect(store.create({ username: name as string, passwordHash: HASH })).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
      });
    }
    await expect(
      store.create({ username: "ok", passwordHash: 5 as unknown as string }),
    ).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  it("keeps NUL and lone surrogates in other text fields exactly", async () => {
    const store = await freshStore();
    const odd = "nul \u0000 lone \udc00 \u0001porter:x \\0";
    const user = await store.create({
      username: "odd",
      passwordHash: odd,
      email: odd,
      permissions: [odd],
      groups: [odd],
    });
    expect(await store.findById(user.id)).toMatchObject({
      passwordHash: odd,
      email: odd,
      permissions: [odd],
      groups: [odd],
    });
    await store.setGroupPermissions(odd, [odd, "p.q"]);
    expect(await store.groupPermissions([odd])).toEqual(new Set([odd, "p.q"]));
  });

  it("group permissions: replaced, unioned, unknown groups empty", async () => {
    const store = await freshStore();
    await store.setGroupPermissions("staff", ["a.view", "a.edit"]);
    await store.setGroupPermissions("ops", ["a.edit", "b.run"]);
    expect(await store.groupPermissions(["staff", "ops", "ghost"])).toEqual(
      new Set(["a.view", "a.edit", "b.run"]),
    );
    await store.setGroupPermissions("staff", ["a.view"]);
    expect(await store.groupPermissions(["staff"])).toEqual(new Set(["a.view"]));
    expect(await store.groupPermissions([])).toEqual(new Set());
    expect(await store.groupPermissions(["ghost"])).toEqual(new Set());
    await expect(store.setGroupPermissions("", [])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("delete is idempotent", async () => {
    const store = await freshStore();
    const user = await store.create({ username: "gone", passwordHash: HASH });
    await store.delete(user.id);
    await store.delete(user.id);
    expect(await store.findById(user.id)).toBeNull();
    expect(await store.findByUsername("gone")).toBeNull();
  });
});
