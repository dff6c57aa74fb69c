import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { SessionRecord, SessionStore } from "../contracts.js";
import { PorterError } from "../errors.js";
import { HOSTILE_KEYS } from "./hostile.js";
import { type ManualClock, resolveRunner, type TestRunner } from "./runner.js";
import { describeSessionScenarios } from "./session-scenarios.js";

/** What a raw read of the backend found under a key; `null` when nothing is there. */
export interface InspectedRecord {
  /** The stored data as the store wrote it, when it can be read back as a string. */
  data?: string;
  /** The expiry as stored, converted to epoch ms (e.g. a TTL attribute in seconds × 1000). */
  expiresAt?: number;
  /** The backend's own remaining time to live, ms (Redis PTTL), for natively expiring stores. */
  ttlMs?: number;
}

export interface DescribeSessionStoreOptions<S extends SessionStore = SessionStore> {
  /** A fresh, isolated store for each test. */
  create: () => S | Promise<S>;
  /** Called after each test; defaults to `store.close?.()`. */
  dispose?: (store: S) => void | Promise<void>;
  /** A raw read of the backend, so the kit can check what was really written. */
  inspect?: (store: S, key: string) => Promise<InspectedRecord | null>;
  /** The clock the stores were given; the kit moves it instead of waiting. */
  clock?: ManualClock;
  /** A store pointed at a backend that does not answer. */
  unreachable?: () => S | Promise<S>;
  /** How quickly calls to the unreachable store must reject. @default 5000 */
  deadlineMs?: number;
  /** How far ahead real-time expiry tests set a deadline, ms. @default 1200 */
  shortTtlMs?: number;
  runner?: TestRunner;
}

let keyCounter = 0;
/** A store key of the shape the engine hands stores (64 hex characters, like a hashed key). */
export function testKey(): string {
  keyCounter = (keyCounter + 1) % 1_000_000;
  return randomBytes(32).toString("hex");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rejectsWith(promise: Promise<unknown>, code: string, message: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.ok(PorterError.is(error), `${message}: expected a PorterError, got ${String(error)}`);
    assert.equal((error as PorterError).code, code, message);
    return;
  }
  assert.fail(`${message}: expected a rejection with ${code}`);
}

/** A string of every awkward kind of character, which every store must keep exactly. */
export const AWKWARD_TEXT =
  "ascii \u0000 nul, astral 😀𝄞🀄, lone \ud800 high, lone \udc00 low, \udbff\udfff max pair, " +
  "RTL مرحبا \u202e override \u200f, combining e\u0301, BOM \ufeff, quotes \" ' `, backslash \\ , $op a.b {}[]";

/**
 * Registers the conformance suite for a `SessionStore`. Three lines in a test file:
 *
 * ```ts
 * import { describeSessionStore } from "@porter/core/conformance";
 * describeSessionStore("my-store", { create: () => createMyStore({ prefix: randomUUID() }) });
 * ```
 */
export function describeSessionStore<S extends SessionStore>(
  name: string,
  options: DescribeSessionStoreOptions<S>,
): void {
  const t = resolveRunner(options.runner);
  const clock = options.clock;
  const now = () => (clock ? clock.now() : Date.now());
  const shortTtl = options.shortTtlMs ?? 1200;
  const deadlineMs = options.deadlineMs ?? 5000;
  const HOUR = 3_600_000;

  let opened: S[] = [];
  async function open(): Promise<S> {
    const store = await options.create();
    opened.push(store);
    return store;
  }

  /** Makes `expiresAt` pass: moves the injected clock, or waits for real time. */
  async function expire(ttl: number): Promise<void> {
    if (clock) clock.advance(ttl + 1);
    else await sleep(ttl + 150);
  }
  const soon = () => now() + (clock ? 1000 : shortTtl);
  const soonTtl = clock ? 1000 : shortTtl;

  t.describe(`SessionStore conformance: ${name}`, () => {
    t.afterEach(async () => {
      const stores = opened;
      opened = [];
      for (const store of stores) await (options.dispose ? options.dispose(store) : store.close?.());
    });

    t.describe("contract", () => {
      t.it("declares contract version 1 and its capabilities", async () => {
        const store = await open();
        assert.equal(store.contractVersion, 1);
        for (const flag of ["versioned", "nativeExpiry", "touch", "clearExpired"] as const) {
          assert.equal(typeof store.capabilities[flag], "boolean", `capabilities.${flag}`);
        }
        assert.equal(
          typeof store.touch === "function",
          store.capabilities.touch,
          "touch() matches capabilities.touch",
        );
        assert.equal(
          typeof store.clearExpired === "function",
          store.capabilities.clearExpired,
          "clearExpired() matches capabilities.clearExpired",
        );
      });
    });

    t.describe("round trip", () => {
      t.it("create then get returns the data, expiry and version", async () => {
        const store = await open();
        const key = testKey();
        const expiresAt = now() + HOUR;
        const created = await store.create(key, '{"a":1}', expiresAt);
        const expectedVersion = store.capabilities.versioned ? 1 : 0;
        assert.deepEqual(created, { data: '{"a":1}', expiresAt, version: expectedVersion });
        assert.deepEqual(await store.get(key), created);
      });

      t.it("an unknown key is null", async () => {
        const store = await open();
        assert.equal(await store.get(testKey()), null);
      });

      t.it("create never overwrites: SessionExistsError, and the original is untouched", async () => {
        const store = await open();
        const key = testKey();
        const original = await store.create(key, "original", now() + HOUR);
        await rejectsWith(store.create(key, "intruder", now() + 2 * HOUR), "SESSION_EXISTS", "second create");
        assert.deepEqual(await store.get(key), original);
      });

      t.it("update replaces data and expiry and bumps the version", async () => {
        const store = await open();
        const key = testKey();
        const created = await store.create(key, "v1", now() + HOUR);
        const expiresAt = now() + 2 * HOUR;
        const updated = await store.update(key, { data: "v2", expiresAt, version: created.version });
        assert.equal(updated.data, "v2");
        assert.equal(updated.expiresAt, expiresAt);
        assert.equal(updated.version, store.capabilities.versioned ? created.version + 1 : 0);
        assert.deepEqual(await store.get(key), updated);
      });

      t.it("update after delete is SessionMissingError and never recreates the record", async () => {
        const store = await open();
        const key = testKey();
        const created = await store.create(key, "alive", now() + HOUR);
        await store.delete(key);
        await rejectsWith(
          store.update(key, { ...created, data: "ghost" }),
          "SESSION_MISSING",
          "update of a deleted key",
        );
        assert.equal(await store.get(key), null);
        if (options.inspect)
          assert.equal(await options.inspect(store, key), null, "nothing left in the backend");
      });

      t.it("update of a key never created is SessionMissingError", async () => {
        const store = await open();
        const key = testKey();
        await rejectsWith(
          store.update(key, { data: "x", expiresAt: now() + HOUR, version: 1 }),
          "SESSION_MISSING",
          "update of an unknown key",
        );
        assert.equal(await store.get(key), null);
      });

      t.it("delete is idempotent", async () => {
        const store = await open();
        const key = testKey();
        await store.create(key, "x", now() + HOUR);
        await store.delete(key);
        await store.delete(key);
        await store.delete(testKey());
        assert.equal(await store.get(key), null);
      });

      t.it("a key can be created again after delete", async () => {
        const store = await open();
        const key = testKey();
        await store.create(key, "first", now() + HOUR);
        await store.delete(key);
        const again = await store.create(key, "second", now() + HOUR);
        assert.equal((await store.get(key))?.data, "second");
        assert.equal(again.data, "second");
      });
    });

    if (options.inspect) {
      const inspect = options.inspect;
      t.describe("what reaches the backend", () => {
        t.it("the backend holds the data and the expiry in its own units", async () => {
          const store = await open();
          const key = testKey();
          const expiresAt = now() + HOUR;
          await store.create(key, AWKWARD_TEXT, expiresAt);
          const raw = await inspect(store, key);
          assert.ok(raw !== null, "inspect finds the record");
          if (raw.data !== undefined) assert.equal(raw.data, AWKWARD_TEXT);
          if (raw.expiresAt !== undefined)
            assert.ok(Math.abs(raw.expiresAt - expiresAt) < 1000, "stored expiry");
          if (raw.ttlMs !== undefined) {
            assert.ok(
              raw.ttlMs > HOUR - 60_000 && raw.ttlMs <= HOUR + 1000,
              `native TTL ${raw.ttlMs} ms ≈ 1 h`,
            );
          }
        });
      });
    } else {
      t.skip("raw backend checks", "no inspect() was supplied");
    }

    t.describe("expiry", () => {
      t.it("an expired record is null on read", async () => {
        const store = await open();
        const key = testKey();
        await store.create(key, "short-lived", soon());
        assert.equal((await store.get(key))?.data, "short-lived");
        await expire(soonTtl);
        assert.equal(await store.get(key), null);
      });

      t.it("update of an expired record is SessionMissingError", async () => {
        const store = await open();
        const key = testKey();
        const created = await store.create(key, "short-lived", soon());
        await expire(soonTtl);
        await rejectsWith(
          store.update(key, { data: "late", expiresAt: now() + HOUR, version: created.version }),
          "SESSION_MISSING",
          "update of an expired key",
        );
        assert.equal(await store.get(key), null);
      });

      t.it("create may take over an expired key", async () => {
        const store = await open();
        const key = testKey();
        await store.create(key, "old", soon());
        await expire(soonTtl);
        await store.create(key, "new", now() + HOUR);
        assert.equal((await store.get(key))?.data, "new");
      });
    });

    t.describe("versions", () => {
      t.it("a stale version is SessionConflictError and writes nothing", async () => {
        const store = await open();
        if (!store.capabilities.versioned) {
          // Declared last-write-wins: the stale write goes through, but never onto a missing key.
          const key = testKey();
          const created = await store.create(key, "v1", now() + HOUR);
          await store.update(key, { ...created, data: "v2" });
          await store.update(key, { ...created, data: "v3" });
          assert.equal((await store.get(key))?.data, "v3");
          return;
        }
        const key = testKey();
        const created = await store.create(key, "v1", now() + HOUR);
        const winner = await store.update(key, { ...created, data: "v2" });
        await rejectsWith(
          store.update(key, { ...created, data: "stale" }),
          "SESSION_CONFLICT",
          "stale update",
        );
        assert.deepEqual(await store.get(key), winner);
      });
    });

    t.describe("touch", () => {
      t.it("moves the expiry only: data and version stay", async (ctx) => {
        const store = await open();
        if (!store.capabilities.touch || !store.touch)
          return ctx.skip("the store declares capabilities.touch = false");
        const key = testKey();
        const created = await store.create(key, AWKWARD_TEXT, now() + HOUR);
        const later = now() + 5 * HOUR;
        await store.touch(key, later);
        const after = await store.get(key);
        assert.deepEqual(after, { data: AWKWARD_TEXT, expiresAt: later, version: created.version });
        if (options.inspect) {
          const raw = await options.inspect(store, key);
          if (raw?.data !== undefined) assert.equal(raw.data, AWKWARD_TEXT, "touch wrote no data");
          if (raw?.ttlMs !== undefined) assert.ok(raw.ttlMs > 4 * HOUR, "native TTL moved with touch");
        }
      });

      t.it("never recreates a deleted key", async (ctx) => {
        const store = await open();
        if (!store.capabilities.touch || !store.touch)
          return ctx.skip("the store declares capabilities.touch = false");
        const key = testKey();
        await store.create(key, "x", now() + HOUR);
        await store.delete(key);
        await store.touch(key, now() + 2 * HOUR);
        assert.equal(await store.get(key), null);
        if (options.inspect)
          assert.equal(await options.inspect(store, key), null, "no ghost record in the backend");
      });

      t.it("never revives an expired key", async (ctx) => {
        const store = await open();
        if (!store.capabilities.touch || !store.touch)
          return ctx.skip("the store declares capabilities.touch = false");
        const key = testKey();
        await store.create(key, "x", soon());
        await expire(soonTtl);
        await store.touch(key, now() + HOUR);
        assert.equal(await store.get(key), null);
      });
    });

    t.describe("clearExpired", () => {
      t.it("removes only expired records and returns how many (or the store expires natively)", async () => {
        const store = await open();
        if (!store.capabilities.clearExpired || !store.clearExpired) {
          // Nothing sweeps such a store, so its backend must drop expired records by itself.
          assert.equal(
            store.capabilities.nativeExpiry,
            true,
            "a store without clearExpired must declare (and have) native expiry",
          );
          return;
        }
        const expired = [testKey(), testKey(), testKey()];
        const live = [testKey(), testKey()];
        for (const key of expired) await store.create(key, "old", soon());
        for (const key of live) await store.create(key, "live", now() + HOUR);
        await expire(soonTtl);
        const removed = await store.clearExpired();
        assert.ok(
          removed >= expired.length,
          `clearExpired reported ${removed}, expected at least ${expired.length}`,
        );
        for (const key of live) assert.equal((await store.get(key))?.data, "live");
        if (options.inspect) for (const key of expired) assert.equal(await options.inspect(store, key), null);
        assert.equal(await store.clearExpired(), 0, "a second run finds nothing of its own to remove");
      });
    });

    t.describe("concurrency", () => {
      t.it("50 concurrent creates are all readable", async () => {
        const store = await open();
        const keys = Array.from({ length: 50 }, () => testKey());
        await Promise.all(keys.map((key, i) => store.create(key, `value-${i}`, now() + HOUR)));
        const read = await Promise.all(keys.map((key) => store.get(key)));
        for (const [i, record] of read.entries()) assert.equal(record?.data, `value-${i}`);
      });

      t.it("50 concurrent creates of one key: exactly one wins", async () => {
        const store = await open();
        const key = testKey();
        const results = await Promise.allSettled(
          Array.from({ length: 50 }, (_, i) => store.create(key, `writer-${i}`, now() + HOUR)),
        );
        const won = results.filter(
          (r) => r.status === "fulfilled",
        ) as PromiseFulfilledResult<SessionRecord>[];
        assert.equal(won.length, 1, "exactly one create succeeds");
        for (const r of results)
          if (r.status === "rejected") assert.ok(PorterError.is(r.reason, "SESSION_EXISTS"));
        assert.equal((await store.get(key))?.data, won[0]!.value.data);
      });

      t.it(
        "20 concurrent updates of one version: exactly one winner per version (or, unversioned, the last write wins)",
        async () => {
          const store = await open();
          const key = testKey();
          if (!store.capabilities.versioned) {
            // An unversioned store (e.g. a table shared with Django) compares nothing: every
            // update of a live record succeeds and one of them is what is stored.
            const base = await store.create(key, "start", now() + HOUR);
            const written = Array.from({ length: 20 }, (_, i) => `writer-${i}`);
            const results = await Promise.allSettled(
              written.map((data) => store.update(key, { ...base, data })),
            );
            for (const r of results)
              assert.equal(r.status, "fulfilled", String((r as PromiseRejectedResult).reason));
            const stored = await store.get(key);
            assert.ok(stored !== null && written.includes(stored.data), `stored ${stored?.data}`);
            return;
          }
          let current = await store.create(key, "start", now() + HOUR);
          for (let round = 0; round < 3; round++) {
            const base = current;
            const results = await Promise.allSettled(
              Array.from({ length: 20 }, (_, i) =>
                store.update(key, { ...base, data: `round-${round}-writer-${i}` }),
              ),
            );
            const won = results.filter(
              (r) => r.status === "fulfilled",
            ) as PromiseFulfilledResult<SessionRecord>[];
            assert.equal(won.length, 1, `round ${round}: exactly one update wins`);
            for (const r of results) {
              if (r.status === "rejected")
                assert.ok(PorterError.is(r.reason, "SESSION_CONFLICT"), String(r.reason));
            }
            current = won[0]!.value;
            assert.equal(current.version, base.version + 1);
            assert.deepEqual(await store.get(key), current);
          }
        },
      );
    });

    t.describe("data fidelity", () => {
      t.it("unicode (astral, NUL, lone surrogates, RTL) round-trips exactly", async () => {
        const store = await open();
        const key = testKey();
        await store.create(key, AWKWARD_TEXT, now() + HOUR);
        assert.equal((await store.get(key))?.data, AWKWARD_TEXT);
        const updated = `${AWKWARD_TEXT}\ud83d`;
        const record = (await store.get(key))!;
        await store.update(key, { ...record, data: updated });
        assert.equal((await store.get(key))?.data, updated);
      });

      t.it("a 1 MB payload round-trips exactly", async () => {
        const store = await open();
        const key = testKey();
        const unit = `{"k":"${"x".repeat(40)}","u":"ü😀\u0000"},`;
        const big = `[${unit.repeat(Math.ceil(1_048_576 / unit.length))}0]`;
        await store.create(key, big, now() + HOUR);
        const read = await store.get(key);
        assert.equal(read?.data.length, big.length);
        assert.ok(read?.data === big, "the 1 MB payload is unchanged");
      });
    });

    t.describe("hostile keys", () => {
      t.it("never throw anything but a typed error, and never reach another record", async () => {
        const store = await open();
        const victim = testKey();
        await store.create(victim, "victim", now() + HOUR);
        for (const hostile of HOSTILE_KEYS) {
          const attempts: [string, () => Promise<unknown>][] = [
            ["get", () => store.get(hostile as string)],
            ["create", () => store.create(hostile as string, "intruder", now() + HOUR)],
            [
              "update",
              () =>
                store.update(hostile as string, { data: "intruder", expiresAt: now() + HOUR, version: 1 }),
            ],
            ["delete", () => store.delete(hostile as string)],
          ];
          if (store.touch) attempts.push(["touch", () => store.touch!(hostile as string, now() + 9 * HOUR)]);
          for (const [op, attempt] of attempts) {
            try {
              const result = await attempt();
              if (op === "get")
                assert.ok(result === null || typeof result === "object", "get resolves null or a record");
            } catch (error) {
              assert.ok(
                PorterError.is(error),
                `${op}(${JSON.stringify(String(hostile)).slice(0, 40)}) threw ${String(error)}`,
              );
            }
          }
          // Clean up anything a permissive store accepted, so the next probe starts clean.
          await store.delete(hostile as string).catch(() => {});
        }
        const victimNow = await store.get(victim);
        assert.equal(victimNow?.data, "victim");
        assert.ok(
          victimNow !== null && victimNow.expiresAt < now() + 2 * HOUR,
          "the victim's expiry is untouched",
        );
      });
    });

    if (options.unreachable) {
      const unreachable = options.unreachable;
      t.describe("an unreachable backend", () => {
        t.it(
          `rejects with StoreUnavailableError within ${deadlineMs} ms, never null`,
          async () => {
            const store = await unreachable();
            opened.push(store);
            const key = testKey();
            const ops: [string, () => Promise<unknown>][] = [
              ["get", () => store.get(key)],
              ["create", () => store.create(key, "x", Date.now() + HOUR)],
              ["update", () => store.update(key, { data: "x", expiresAt: Date.now() + HOUR, version: 1 })],
              ["delete", () => store.delete(key)],
            ];
            for (const [op, run] of ops) {
              const started = Date.now();
              let outcome: unknown = "resolved";
              try {
                await run();
              } catch (error) {
                outcome = error;
              }
              const elapsed = Date.now() - started;
              assert.ok(PorterError.is(outcome, "STORE_UNAVAILABLE"), `${op} → ${String(outcome)}`);
              assert.ok(elapsed <= deadlineMs + 1000, `${op} took ${elapsed} ms`);
            }
          },
          4 * (deadlineMs + 1000) + 5000,
        );
      });
    } else {
      t.skip("unreachable backend", "no unreachable() factory was supplied");
    }

    describeSessionScenarios({ t, open, now, inspect: options.inspect });
  });
}
