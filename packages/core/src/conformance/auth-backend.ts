import assert from "node:assert/strict";
import type { AuthBackend } from "../contracts.js";
import { PorterError } from "../errors.js";
import { resolveRunner, type TestRunner } from "./runner.js";

export interface DescribeAuthBackendOptions<User> {
  /** A fresh backend for each test, under which `validCredentials` authenticate one user. */
  create: () => AuthBackend<User> | Promise<AuthBackend<User>>;
  /** Credentials that authenticate a user. */
  validCredentials: Record<string, unknown>;
  /** Credentials that must not authenticate (wrong password, unknown user…). At least one. */
  invalidCredentials: readonly Record<string, unknown>[];
  /** The id `getUser` takes for a user. @default String(user.id) */
  idOf?: (user: User) => string;
  /** @default vitest */
  runner?: TestRunner;
}

/** Credentials of the wrong shape, as a JSON body or a query parser might deliver them. */
const HOSTILE_CREDENTIALS: readonly unknown[] = [
  {},
  { username: null, password: null },
  { username: { $ne: null }, password: { $ne: null } },
  { username: { $gt: "" }, password: { $gt: "" } },
  { username: ["admin"], password: ["x"] },
  { username: 1, password: 1 },
  { username: "", password: "" },
  { username: "a".repeat(1024 * 1024), password: "x" },
  { username: "admin", password: "x".repeat(1024 * 1024) },
  { username: "admin\u0000", password: "\ud800" },
  { remoteUser: { $ne: null } },
  { remoteUser: "" },
  { remoteUser: ["admin"] },
  { token: { $ne: null } },
  { __proto__: { isAdmin: true } },
  Object.create(null),
];

const HOSTILE_IDS: readonly unknown[] = [
  null,
  undefined,
  1,
  0,
  -1,
  Number.NaN,
  {},
  [],
  ["1"],
  { $ne: null },
  { toString: () => "1" },
  "",
  " ",
  "\u0000",
  "1\u0000",
  "__proto__",
  "constructor",
  "../1",
  "1 OR 1=1",
  "999999999",
  "a".repeat(1024 * 1024),
];

function show(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === "string")
    return value.length > 40 ? `"${value.slice(0, 20)}…" (${value.length} chars)` : JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Registers the `AuthBackend` contract suite: a stable id, valid and invalid credentials,
 * `getUser` round trips, hostile credentials and ids (null or `PermissionDeniedError`, never
 * another error), concurrency, and no mutation of the caller's credentials.
 */
export function describeAuthBackend<User>(name: string, options: DescribeAuthBackendOptions<User>): void {
  const t = resolveRunner(options.runner);
  const idOf = options.idOf ?? ((user: User) => String((user as { id: unknown }).id));
  let backend: AuthBackend<User>;

  const nullOrDenied = async (attempt: () => Promise<User | null>, what: string) => {
    try {
      assert.equal(await attempt(), null, `${what} authenticated someone`);
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      assert.ok(PorterError.is(err, "PERMISSION_DENIED"), `${what} threw ${show(err)}`);
    }
  };

  t.describe(`AuthBackend conformance: ${name}`, () => {
    t.beforeEach(async () => {
      backend = await options.create();
    });

    t.it("has a non-empty id that is the same for every instance", async () => {
      assert.equal(typeof backend.id, "string");
      assert.ok(backend.id.length > 0);
      assert.equal((await options.create()).id, backend.id);
    });

    t.it("authenticates valid credentials, and getUser finds that user by its id", async () => {
      const user = await backend.authenticate({ ...options.validCredentials });
      assert.ok(user !== null && user !== undefined, "valid credentials were refused");
      const id = idOf(user);
      assert.equal(typeof id, "string");
      const again = await backend.getUser(id);
      assert.ok(again !== null, "getUser did not find the authenticated user");
      assert.equal(idOf(again), id);
    });

    t.it("authenticates the same credentials again, to the same user", async () => {
      const first = await backend.authenticate({ ...options.validCredentials });
      const second = await backend.authenticate({ ...options.validCredentials });
      assert.ok(first !== null && second !== null);
      assert.equal(idOf(second), idOf(first));
    });

    t.it("refuses every invalid credential set", async () => {
      assert.ok(options.invalidCredentials.length > 0, "give at least one invalid credential set");
      for (const credentials of options.invalidCredentials) {
        await nullOrDenied(
          () => backend.authenticate({ ...credentials }),
          `authenticate(${show(credentials)})`,
        );
      }
    });

    t.it("answers hostile credentials with null or PermissionDeniedError, never another error", async () => {
      for (const credentials of HOSTILE_CREDENTIALS) {
        await nullOrDenied(
          () => backend.authenticate(credentials as Record<string, unknown>),
          `authenticate(${show(credentials)})`,
        );
      }
      assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
    });

    t.it("answers getUser for unknown or wrong-shaped ids with null, never an error", async () => {
      for (const id of HOSTILE_IDS) {
        let user: User | null = null;
        try {
          user = await backend.getUser(id as string);
        } catch (err) {
          assert.fail(`getUser(${show(id)}) threw ${show(err)}`);
        }
        assert.equal(user, null, `getUser(${show(id)}) found a user`);
      }
    });

    t.it("leaves the caller's credentials object untouched", async () => {
      const credentials = structuredClone(options.validCredentials);
      const copy = structuredClone(credentials);
      await backend.authenticate(credentials);
      assert.deepEqual(credentials, copy);
      for (const invalid of options.invalidCredentials) {
        const mine = structuredClone(invalid);
        await backend.authenticate(mine).catch(() => null);
        assert.deepEqual(mine, invalid);
      }
    });

    t.it("authenticates concurrent requests independently", async () => {
      const results = await Promise.all([
        ...Array.from({ length: 5 }, () => backend.authenticate({ ...options.validCredentials })),
        ...options.invalidCredentials.map((c) => backend.authenticate({ ...c }).catch(() => null)),
      ]);
      const valid = results.slice(0, 5);
      for (const user of valid) assert.ok(user !== null);
      assert.equal(new Set(valid.map((u) => idOf(u as User))).size, 1);
      for (const user of results.slice(5)) assert.equal(user, null);
    });

    t.it(
      "getPermissions, where implemented, answers a set for the user and never throws for them",
      async () => {
        if (backend.getPermissions === undefined) {
          assert.equal(typeof backend.getPermissions, "undefined");
          return;
        }
        const user = await backend.authenticate({ ...options.validCredentials });
        assert.ok(user !== null);
        const permissions = await backend.getPermissions(user);
        assert.equal(typeof permissions.has, "function");
        for (const permission of permissions) assert.equal(typeof permission, "string");
      },
    );
  });
}
