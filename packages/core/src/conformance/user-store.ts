import assert from "node:assert/strict";
import type { UserRecord, UserStore } from "../contracts.js";
import { PorterError } from "../errors.js";
import { resolveRunner, type TestRunner } from "./runner.js";

export interface DescribeUserStoreOptions {
  /** A fresh, empty, isolated store for each test. `close()` is called after the test, if present. */
  create: () => UserStore | Promise<UserStore>;
  /** @default vitest */
  runner?: TestRunner;
}

const HASH = "pbkdf2_sha256$10000$abcdefghijklmnopqrstuv$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/** Values of the wrong shape for an id or a username: none may throw anything but a Porter error, none may match. */
const HOSTILE_VALUES: readonly unknown[] = [
  null,
  undefined,
  0,
  1,
  -1,
  Number.NaN,
  1n,
  true,
  {},
  [],
  ["1"],
  ["alice"],
  { $ne: null },
  { $gt: "" },
  { $regex: ".*" },
  { toString: () => "1" },
  Object.create(null),
  Symbol("id"),
  () => "1",
  new Date(0),
  Buffer.from("alice"),
];

/** Strings a user store must answer safely: injection, path and prototype names, odd Unicode, huge values. */
const HOSTILE_STRINGS: readonly string[] = [
  "",
  " ",
  "\u0000",
  "alice\u0000",
  "al\u0000ice",
  "alice\r\nSet-Cookie: x=1",
  "\ud800",
  "alice\udfff",
  "__proto__",
  "constructor",
  "prototype",
  "hasOwnProperty",
  "toString",
  "../../etc/passwd",
  "..\\..\\boot.ini",
  "' OR '1'='1",
  "alice'; DROP TABLE users; --",
  '{"$ne": null}',
  '{"$gt": ""}',
  "%",
  "_",
  "*",
  ".*",
  "alice%",
  "ALICE",
  "alice ",
  " alice",
  "ａｌｉｃｅ ",
  "\u202ealice",
  "a".repeat(151),
  "a".repeat(4096),
  "a".repeat(1024 * 1024),
  "no_such_user_7f3a9c",
];

/**
 * Registers the `UserStore` contract suite: create/find/update/delete, username uniqueness
 * (including concurrent creates and renames), NFKC normalization with exact matching, group
 * permissions, timestamps, copy semantics, and hostile ids and usernames.
 */
export function describeUserStore(name: string, options: DescribeUserStoreOptions): void {
  const t = resolveRunner(options.runner);
  let store: UserStore;
  const test = (title: string, fn: (store: UserStore) => Promise<void>) => t.it(title, () => fn(store));

  const isCode = (code: string) => (err: unknown) => {
    assert.ok(PorterError.is(err), `expected a Porter error ${code}, got ${show(err)}`);
    assert.equal(err.code, code);
    return true;
  };
  const assertTypedOrNull = async (attempt: () => Promise<unknown>, what: string) => {
    try {
      await attempt();
    } catch (err) {
      assert.ok(PorterError.is(err), `${what} threw a non-Porter error: ${show(err)}`);
    }
  };

  t.describe(`UserStore conformance: ${name}`, () => {
    t.beforeEach(async () => {
      store = await options.create();
    });
    t.afterEach(async () => {
      await store.close?.();
    });

    t.describe("basics", () => {
      test("declares contract version 1", async (s) => {
        assert.equal(s.contractVersion, 1);
      });

      test("create returns the record with defaults, and both lookups return it", async (s) => {
        const before = Date.now();
        const alice = await s.create({ username: "alice", passwordHash: HASH });
        assert.equal(typeof alice.id, "string");
        assert.ok(alice.id.length > 0);
        assert.equal(alice.username, "alice");
        assert.equal(alice.passwordHash, HASH);
        assert.equal(alice.isActive, true);
        assert.equal(alice.isSuperuser, false);
        assert.deepEqual([...alice.permissions], []);
        assert.deepEqual([...alice.groups], []);
        assert.equal(alice.lastLogin, null);
        assert.ok(
          alice.dateJoined >= before - 1000 && alice.dateJoined <= Date.now() + 1000,
          "dateJoined defaults to now",
        );
        assert.deepEqual(await s.findById(alice.id), alice);
        assert.deepEqual(await s.findByUsername("alice"), alice);
      });

      test("create keeps every given field", async (s) => {
        const bob = await s.create({
          username: "bob",
          passwordHash: HASH,
          isActive: false,
          isSuperuser: true,
          permissions: ["blog.add_post", "blog.change_post"],
          groups: ["editors"],
          email: "bob@example.com",
          dateJoined: 1_700_000_000_123,
        });
        const found = await s.findById(bob.id);
        assert.ok(found);
        assert.equal(found.isActive, false);
        assert.equal(found.isSuperuser, true);
        assert.deepEqual([...found.permissions].sort(), ["blog.add_post", "blog.change_post"]);
        assert.deepEqual([...found.groups], ["editors"]);
        assert.equal(found.email, "bob@example.com");
        assert.equal(found.dateJoined, 1_700_000_000_123);
      });

      test("ids are distinct strings", async (s) => {
        const ids = new Set<string>();
        for (let i = 0; i < 20; i++)
          ids.add((await s.create({ username: `user${i}`, passwordHash: HASH })).id);
        assert.equal(ids.size, 20);
      });

      test("unknown id and unknown username resolve null", async (s) => {
        await s.create({ username: "alice", passwordHash: HASH });
        assert.equal(await s.findById("999999"), null);
        assert.equal(await s.findById("does-not-exist"), null);
        assert.equal(await s.findByUsername("bob"), null);
      });

      test("update changes the given fields only and returns the new record", async (s) => {
        const alice = await s.create({ username: "alice", passwordHash: HASH, permissions: ["a.b"] });
        const updated = await s.update(alice.id, {
          passwordHash: "!unusable",
          isActive: false,
          lastLogin: 1_700_000_000_999,
        });
        assert.equal(updated.passwordHash, "!unusable");
        assert.equal(updated.isActive, false);
        assert.equal(updated.lastLogin, 1_700_000_000_999);
        assert.deepEqual([...updated.permissions], ["a.b"]);
        assert.equal(updated.username, "alice");
        assert.equal(updated.dateJoined, alice.dateJoined);
        assert.deepEqual(await s.findById(alice.id), updated);
        const cleared = await s.update(alice.id, { lastLogin: null, permissions: [], groups: ["g"] });
        assert.equal(cleared.lastLogin, null);
        assert.deepEqual([...cleared.permissions], []);
        assert.deepEqual([...cleared.groups], ["g"]);
      });

      test("update of an unknown id rejects with UserNotFoundError and creates nothing", async (s) => {
        await assert.rejects(s.update("999999", { isActive: false }), isCode("USER_NOT_FOUND"));
        assert.equal(await s.findById("999999"), null);
      });

      test("delete removes the user, frees the username, and is idempotent", async (s) => {
        const alice = await s.create({ username: "alice", passwordHash: HASH });
        const bob = await s.create({ username: "bob", passwordHash: HASH });
        await s.delete(alice.id);
        await s.delete(alice.id);
        await s.delete("999999");
        assert.equal(await s.findById(alice.id), null);
        assert.equal(await s.findByUsername("alice"), null);
        assert.deepEqual(await s.findById(bob.id), bob);
        const again = await s.create({ username: "alice", passwordHash: HASH });
        assert.notEqual(again.id, bob.id);
        assert.equal((await s.findByUsername("alice"))?.id, again.id);
      });

      test("lastLogin and dateJoined round-trip to the millisecond", async (s) => {
        const joined = 1_234_567_890_123;
        const user = await s.create({ username: "timey", passwordHash: HASH, dateJoined: joined });
        await s.update(user.id, { lastLogin: joined + 1 });
        const found = await s.findById(user.id);
        assert.equal(found?.dateJoined, joined);
        assert.equal(found?.lastLogin, joined + 1);
      });

      test("records are copies: mutating one never changes the store", async (s) => {
        const permissions = ["a.b"];
        const groups = ["g"];
        const created = await s.create({ username: "alice", passwordHash: HASH, permissions, groups });
        permissions.push("evil.perm");
        groups.push("admins");
        (created.permissions as string[]).push("evil.perm");
        (created as { isSuperuser: boolean }).isSuperuser = true;
        const found = await s.findById(created.id);
        assert.ok(found);
        assert.deepEqual([...found.permissions], ["a.b"]);
        assert.deepEqual([...found.groups], ["g"]);
        assert.equal(found.isSuperuser, false);
        (found.groups as string[]).push("admins");
        assert.deepEqual([...((await s.findByUsername("alice"))?.groups ?? [])], ["g"]);
      });
    });

    t.describe("usernames", () => {
      test("a taken username rejects with UsernameTakenError and leaves the first user intact", async (s) => {
        const alice = await s.create({ username: "alice", passwordHash: HASH });
        await assert.rejects(
          s.create({ username: "alice", passwordHash: "other" }),
          isCode("USERNAME_TAKEN"),
        );
        assert.deepEqual(await s.findByUsername("alice"), alice);
      });

      test("of two concurrent creates of one username exactly one succeeds", async (s) => {
        for (let round = 0; round < 5; round++) {
          const username = `race${round}`;
          const results = await Promise.allSettled([
            s.create({ username, passwordHash: "first" }),
            s.create({ username, passwordHash: "second" }),
          ]);
          const won = results.filter((r) => r.status === "fulfilled");
          const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
          assert.equal(won.length, 1, "exactly one create wins");
          assert.equal(lost.length, 1);
          isCode("USERNAME_TAKEN")(lost[0]!.reason);
          const winner = (won[0] as PromiseFulfilledResult<UserRecord>).value;
          assert.deepEqual(await s.findByUsername(username), winner);
        }
      });

      test("of ten concurrent creates of one username exactly one succeeds", async (s) => {
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => s.create({ username: "crowd", passwordHash: `h${i}` })),
        );
        assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
        for (const r of results) if (r.status === "rejected") isCode("USERNAME_TAKEN")(r.reason);
      });

      test("renaming onto a taken username rejects and changes nothing", async (s) => {
        const alice = await s.create({ username: "alice", passwordHash: HASH });
        const bob = await s.create({ username: "bob", passwordHash: HASH });
        await assert.rejects(s.update(bob.id, { username: "alice" }), isCode("USERNAME_TAKEN"));
        await assert.rejects(s.update(bob.id, { username: "ａｌｉｃｅ" }), isCode("USERNAME_TAKEN"));
        assert.deepEqual(await s.findByUsername("alice"), alice);
        assert.deepEqual(await s.findByUsername("bob"), bob);
      });

      test("a rename frees the old username and keeps the user's id", async (s) => {
        const alice = await s.create({ username: "alice", passwordHash: HASH });
        const renamed = await s.update(alice.id, { username: "alicia" });
        assert.equal(renamed.id, alice.id);
        assert.equal(renamed.username, "alicia");
        assert.equal(await s.findByUsername("alice"), null);
        assert.equal((await s.findByUsername("alicia"))?.id, alice.id);
        assert.equal((await s.update(alice.id, { username: "alicia" })).username, "alicia");
        await s.create({ username: "alice", passwordHash: HASH });
      });

      test("usernames are NFKC-normalized on create, rename and lookup", async (s) => {
        const foo = await s.create({ username: "ｆｏｏ", passwordHash: HASH });
        assert.equal(foo.username, "foo");
        assert.equal((await s.findByUsername("foo"))?.id, foo.id);
        assert.equal((await s.findByUsername("ｆｏｏ"))?.id, foo.id);
        await assert.rejects(s.create({ username: "foo", passwordHash: HASH }), isCode("USERNAME_TAKEN"));
        const cafe = await s.create({ username: "cafe\u0301", passwordHash: HASH });
        assert.equal(cafe.username, "caf\u00e9");
        assert.equal((await s.findByUsername("caf\u00e9"))?.id, cafe.id);
        const renamed = await s.update(cafe.id, { username: "ﬁle" });
        assert.equal(renamed.username, "file");
        assert.equal((await s.findByUsername("file"))?.id, cafe.id);
      });

      test("matching is exact: no case folding, no trimming", async (s) => {
        const lower = await s.create({ username: "foo", passwordHash: HASH });
        assert.equal(await s.findByUsername("Foo"), null);
        assert.equal(await s.findByUsername("FOO"), null);
        assert.equal(await s.findByUsername("foo "), null);
        assert.equal(await s.findByUsername(" foo"), null);
        const upper = await s.create({ username: "Foo", passwordHash: HASH });
        assert.notEqual(upper.id, lower.id);
        assert.equal((await s.findByUsername("Foo"))?.id, upper.id);
        assert.equal((await s.findByUsername("foo"))?.id, lower.id);
        // Django's CVE-2019-19844: a case-folding collation would merge these.
        const dotless = await s.create({ username: "\u0131", passwordHash: HASH });
        assert.equal((await s.findByUsername("i"))?.id, undefined);
        assert.equal((await s.findByUsername("I"))?.id, undefined);
        assert.equal((await s.findByUsername("\u0131"))?.id, dotless.id);
      });

      test("unicode usernames round-trip", async (s) => {
        for (const username of ["ünïcødé", "日本語ユーザー", "user😀", "ab.c@d+e-f_g", "Ωmega"]) {
          const user = await s.create({ username, passwordHash: HASH });
          assert.equal(user.username, username.normalize("NFKC"));
          assert.equal((await s.findByUsername(username))?.id, user.id);
        }
      });
    });

    t.describe("group permissions", () => {
      test("groupPermissions is the union over the named groups; unknown groups add nothing", async (s) => {
        await s.setGroupPermissions("editors", ["blog.add_post", "blog.change_post"]);
        await s.setGroupPermissions("viewers", ["blog.view_post", "blog.change_post"]);
        const union = await s.groupPermissions(["editors", "viewers", "nobody"]);
        assert.deepEqual([...union].sort(), ["blog.add_post", "blog.change_post", "blog.view_post"]);
        assert.deepEqual([...(await s.groupPermissions(["viewers"]))].sort(), [
          "blog.change_post",
          "blog.view_post",
        ]);
        assert.equal((await s.groupPermissions([])).size, 0);
        assert.equal((await s.groupPermissions(["nobody"])).size, 0);
      });

      test("setGroupPermissions replaces, never merges", async (s) => {
        await s.setGroupPermissions("editors", ["a.one", "a.two"]);
        await s.setGroupPermissions("editors", ["a.three"]);
        assert.deepEqual([...(await s.groupPermissions(["editors"]))], ["a.three"]);
        await s.setGroupPermissions("editors", []);
        assert.equal((await s.groupPermissions(["editors"])).size, 0);
      });

      test("groups are independent of users, and the returned set is a copy", async (s) => {
        await s.setGroupPermissions("editors", ["a.one"]);
        const set = (await s.groupPermissions(["editors"])) as Set<string>;
        try {
          set.add("evil.perm");
        } catch {
          // A frozen or read-only set is fine too.
        }
        assert.deepEqual([...(await s.groupPermissions(["editors"]))], ["a.one"]);
      });

      test("hostile group names neither throw untyped errors nor match other groups", async (s) => {
        await s.setGroupPermissions("editors", ["a.one"]);
        for (const value of [
          ...HOSTILE_VALUES,
          "__proto__",
          "constructor",
          "editors ",
          "Editors",
          "%",
          "*",
        ]) {
          let result: ReadonlySet<string> | undefined;
          try {
            result = await s.groupPermissions([value as string]);
          } catch (err) {
            assert.ok(PorterError.is(err), `groupPermissions threw a non-Porter error: ${show(err)}`);
          }
          if (result !== undefined)
            assert.equal(result.size, 0, `group ${show(value)} matched another group`);
        }
        await assertTypedOrNull(() => s.groupPermissions("editors" as never), "groupPermissions(string)");
      });
    });

    t.describe("hostile input", () => {
      const seed = async (s: UserStore) => ({
        alice: await s.create({ username: "alice", passwordHash: HASH }),
        admin: await s.create({ username: "admin", passwordHash: HASH, isSuperuser: true }),
      });

      test("findById of a wrong-shaped id resolves null and never throws", async (s) => {
        await seed(s);
        for (const value of [...HOSTILE_VALUES, ...HOSTILE_STRINGS, "1 ", " 1", "01", "1.0", "0x1", "1e0"]) {
          let found: UserRecord | null = null;
          try {
            found = await s.findById(value as string);
          } catch (err) {
            assert.fail(`findById(${show(value)}) threw: ${show(err)}`);
          }
          assert.equal(found, null, `findById(${show(value)}) matched a user`);
        }
      });

      test("findByUsername of a wrong-shaped or hostile username resolves null and never throws", async (s) => {
        await seed(s);
        for (const value of [...HOSTILE_VALUES, ...HOSTILE_STRINGS, "ADMIN", "admin ", "Admin"]) {
          let found: UserRecord | null = null;
          try {
            found = await s.findByUsername(value as string);
          } catch (err) {
            assert.fail(`findByUsername(${show(value)}) threw: ${show(err)}`);
          }
          assert.equal(found, null, `findByUsername(${show(value)}) matched a user`);
        }
      });

      test("create with a wrong-shaped username rejects with a Porter error", async (s) => {
        await seed(s);
        for (const value of HOSTILE_VALUES) {
          await assert.rejects(s.create({ username: value as string, passwordHash: HASH }), (err) => {
            assert.ok(PorterError.is(err), `create(${show(value)}) threw a non-Porter error: ${show(err)}`);
            return true;
          });
        }
      });

      test("create with a hostile username string either rejects with a Porter error or stores exactly that user", async (s) => {
        const { alice, admin } = await seed(s);
        for (const value of HOSTILE_STRINGS) {
          let created: UserRecord | undefined;
          try {
            created = await s.create({ username: value, passwordHash: HASH });
          } catch (err) {
            assert.ok(PorterError.is(err), `create(${show(value)}) threw a non-Porter error: ${show(err)}`);
          }
          if (created !== undefined) {
            assert.equal(created.username, value.normalize("NFKC"));
            assert.equal((await s.findByUsername(value))?.id, created.id);
            assert.notEqual(created.id, alice.id);
            assert.notEqual(created.id, admin.id);
          }
        }
        assert.deepEqual(await s.findByUsername("alice"), alice);
        assert.deepEqual(await s.findByUsername("admin"), admin);
      });

      test("update and delete with a wrong-shaped id never touch another user", async (s) => {
        const { alice, admin } = await seed(s);
        for (const value of [...HOSTILE_VALUES, ...HOSTILE_STRINGS]) {
          await assert.rejects(s.update(value as string, { isActive: false }), (err) => {
            assert.ok(PorterError.is(err), `update(${show(value)}) threw a non-Porter error: ${show(err)}`);
            return true;
          });
          await assertTypedOrNull(() => s.delete(value as string), `delete(${show(value)})`);
        }
        assert.deepEqual(await s.findById(alice.id), alice);
        assert.deepEqual(await s.findById(admin.id), admin);
      });

      test("a rename onto a hostile username either rejects with a Porter error or applies exactly", async (s) => {
        const { alice } = await seed(s);
        // `undefined` is absent from a patch ("no change"), so it is not hostile here.
        const values = HOSTILE_VALUES.filter((v) => v !== undefined);
        for (const value of [...values, "", "\u0000", "a".repeat(1024 * 1024), "admin"]) {
          let renamed: UserRecord | undefined;
          try {
            renamed = await s.update(alice.id, { username: value as string });
          } catch (err) {
            assert.ok(PorterError.is(err), `rename to ${show(value)} threw a non-Porter error: ${show(err)}`);
          }
          if (renamed !== undefined) {
            assert.equal(typeof value, "string");
            assert.equal(renamed.username, (value as string).normalize("NFKC"));
            await s.update(alice.id, { username: "alice" });
          }
        }
        assert.equal((await s.findByUsername("alice"))?.id, alice.id);
        assert.equal((await s.findByUsername("admin"))?.isSuperuser, true);
      });

      test("prototype-named usernames are ordinary strings and pollute nothing", async (s) => {
        for (const username of ["__proto__", "constructor", "toString"]) {
          let user: UserRecord | undefined;
          try {
            user = await s.create({ username, passwordHash: HASH });
          } catch (err) {
            assert.ok(PorterError.is(err), `create(${username}) threw a non-Porter error: ${show(err)}`);
          }
          assert.equal((await s.findByUsername(username))?.id, user?.id);
        }
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        assert.equal(await s.findByUsername("hasOwnProperty"), null);
      });
    });
  });
}

function show(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === "string")
    return value.length > 40 ? `"${value.slice(0, 20)}…" (${value.length} chars)` : JSON.stringify(value);
  if (typeof value === "symbol" || typeof value === "function" || typeof value === "bigint")
    return String(value);
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
