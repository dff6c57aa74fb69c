import { describe, expect, it } from "vitest";
import { describeSessionStore, faultStore } from "../src/conformance/index.js";
import { createManualClock, type TestRunner } from "../src/conformance/runner.js";
import { describeSessionScenarios } from "../src/conformance/session-scenarios.js";
import type { SessionRecord, SessionStore } from "../src/contracts.js";
import { PorterError, SessionExistsError, SessionMissingError } from "../src/errors.js";
import { createMemorySessionStore, type MemorySessionStore } from "../src/stores/memory-session-store.js";
import {
  cachedOverBroken,
  cachedOverMemory,
  closedMemoryStore,
  inspectBacking,
  inspectMemory,
} from "./memory-kit-helpers.js";

const clock = createManualClock();

describeSessionStore("memory (scenarios)", {
  create: () => createMemorySessionStore({ clock: clock.now }),
  clock,
  inspect: inspectMemory,
  unreachable: closedMemoryStore,
});

describeSessionStore("cachedSessionStore (scenarios)", {
  create: () => cachedOverMemory(clock.now),
  clock,
  inspect: inspectBacking,
  unreachable: cachedOverBroken,
  deadlineMs: 1000,
});

/** Registers the engine scenarios into a map instead of a runner, to run them by hand. */
function collectScenarios(makeStore: () => SessionStore): Map<string, () => Promise<void>> {
  const tests = new Map<string, () => Promise<void>>();
  const none = () => undefined;
  const runner: TestRunner = {
    describe: (_name, fn) => fn(),
    it: (name, fn) => tests.set(name, async () => fn({ skip: none })),
    beforeAll: none,
    afterAll: none,
    beforeEach: none,
    afterEach: none,
    skip: none,
  };
  describeSessionScenarios({ t: runner, open: async () => makeStore(), now: clock.now });
  return tests;
}

const scenariosNamed = (tests: Map<string, () => Promise<void>>, prefix: string) =>
  [...tests].filter(([name]) => name.startsWith(prefix));

/** A memory store with one method replaced by a broken one. */
function broken(patch: (inner: MemorySessionStore) => Partial<SessionStore>): () => SessionStore {
  return () => {
    const inner = createMemorySessionStore({ clock: clock.now });
    return {
      contractVersion: 1,
      capabilities: inner.capabilities,
      get: (key) => inner.get(key),
      create: (key, data, expiresAt) => inner.create(key, data, expiresAt),
      update: (key, record) => inner.update(key, record),
      touch: (key, expiresAt) => inner.touch!(key, expiresAt),
      delete: (key) => inner.delete(key),
      ...patch(inner),
    };
  };
}

/**
 * A store that never compares versions: with `claimsVersions` false it is Django's own table in
 * miniature (last write wins, never onto a missing key); with true it lies about its capabilities.
 */
function uncomparingStore(claimsVersions: boolean): SessionStore {
  const records = new Map<string, SessionRecord>();
  const live = (key: string) => {
    const record = records.get(key);
    return record !== undefined && record.expiresAt > clock.now() ? record : undefined;
  };
  return {
    contractVersion: 1,
    capabilities: { versioned: claimsVersions, nativeExpiry: false, touch: true, clearExpired: false },
    async get(key) {
      return live(key) ?? null;
    },
    async create(key, data, expiresAt) {
      if (live(key) !== undefined) throw new SessionExistsError(key);
      const record = { data, expiresAt, version: claimsVersions ? 1 : 0 };
      records.set(key, record);
      return record;
    },
    async update(key, { data, expiresAt }) {
      const current = live(key);
      if (current === undefined) throw new SessionMissingError(key);
      const record = { data, expiresAt, version: claimsVersions ? current.version + 1 : 0 };
      records.set(key, record);
      return record;
    },
    async touch(key, expiresAt) {
      const record = live(key);
      if (record !== undefined) records.set(key, { ...record, expiresAt });
    },
    async delete(key) {
      records.delete(key);
    },
  };
}

describe("the engine scenarios catch a broken store", () => {
  const cases: [string, string[], () => SessionStore][] = [
    [
      "update that recreates a deleted key (an upsert)",
      ["C-2:", "C-4:"],
      broken((inner) => ({
        async update(key, record) {
          if ((await inner.get(key)) === null) return inner.create(key, record.data, record.expiresAt);
          return inner.update(key, record);
        },
      })),
    ],
    [
      "touch that rewrites a stale copy",
      ["C-3:"],
      broken((inner) => {
        const copies = new Map<string, string>();
        return {
          async get(key) {
            const record = await inner.get(key);
            if (record !== null) copies.set(key, record.data);
            return record;
          },
          async touch(key, expiresAt) {
            const copy = copies.get(key);
            if ((await inner.get(key)) === null && copy !== undefined)
              await inner.create(key, copy, expiresAt);
            else await inner.touch!(key, expiresAt);
          },
        };
      }),
    ],
    ["a store that claims versions but never compares them", ["C-1:"], () => uncomparingStore(true)],
    [
      "create that overwrites an existing key",
      ["C-5:"],
      broken((inner) => ({
        async create(key, data, expiresAt) {
          await inner.delete(key);
          return inner.create(key, data, expiresAt);
        },
      })),
    ],
    [
      "delete that is not idempotent",
      ["C-7:"],
      broken((inner) => ({
        async delete(key) {
          if ((await inner.get(key)) === null) throw new SessionMissingError(key);
          await inner.delete(key);
        },
      })),
    ],
  ];

  for (const [what, prefixes, make] of cases) {
    it(`${what}: ${prefixes.join(", ")} fail`, async () => {
      const tests = collectScenarios(make);
      for (const prefix of prefixes) {
        const named = scenariosNamed(tests, prefix);
        expect(named.length).toBeGreaterThan(0);
        for (const [name, run] of named) {
          const error = await run().then(
            () => null,
            (e: unknown) => e,
          );
          // An assertion of the scenario, or the broken store's own error surfacing through it.
          expect(error, name).toBeInstanceOf(Error);
        }
      }
    });
  }

  it("an honest last-write-wins store (versioned: false) passes every scenario", async () => {
    const tests = collectScenarios(() => uncomparingStore(false));
    expect(tests.size).toBeGreaterThanOrEqual(26);
    for (const [, run] of tests) await run();
  });
});

describe("faultStore", () => {
  it("fails only the chosen operation, `times` times, before it reaches the store, and logs every call", async () => {
    const inner = createMemorySessionStore({ clock: clock.now });
    const store = faultStore(inner, { failOn: "create", times: 2 });
    const key = "c".repeat(64);
    for (let i = 0; i < 2; i++) {
      const error = await store.create(key, "x", clock.now() + 60_000).catch((e: unknown) => e);
      expect(PorterError.is(error, "STORE_UNAVAILABLE")).toBe(true);
      expect(await inner.get(key)).toBeNull();
    }
    await store.create(key, "x", clock.now() + 60_000);
    expect((await store.get(key))?.data).toBe("x");
    expect(store.calls.map((c) => [c.op, c.failed])).toEqual([
      ["create", true],
      ["create", true],
      ["create", false],
      ["get", false],
    ]);
  });

  it("fails only keys `when` accepts, and keeps the store's capabilities and optional methods", async () => {
    const inner = createMemorySessionStore({ clock: clock.now });
    const victim = "d".repeat(64);
    const other = "e".repeat(64);
    const store = faultStore(inner, { failOn: "delete", when: (key) => key === victim });
    await inner.create(victim, "v", clock.now() + 60_000);
    await inner.create(other, "o", clock.now() + 60_000);
    await store.delete(other);
    const error = await store.delete(victim).catch((e: unknown) => e);
    expect(PorterError.is(error, "STORE_UNAVAILABLE")).toBe(true);
    expect(await store.get(other)).toBeNull();
    expect((await store.get(victim))?.data).toBe("v");
    expect(store.capabilities).toBe(inner.capabilities);
    expect(typeof store.touch).toBe("function");
    expect(typeof store.clearExpired).toBe("function");
    expect(await store.clearExpired!()).toBe(0);
  });
});
