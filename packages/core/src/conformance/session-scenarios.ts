import assert from "node:assert/strict";
import { createPasswordBackend, type PasswordBackend } from "../auth/backends.js";
import {
  BACKEND_SESSION_KEY,
  getUser,
  HASH_SESSION_KEY,
  login,
  logout,
  SESSION_KEY,
  updateSessionAuthHash,
} from "../auth/glue.js";
import { createMemoryUserStore, type MemoryUserStore } from "../auth/memory-user-store.js";
import { jsonCodec } from "../codec/json-codec.js";
import type { Session, SessionData, SessionStore, UserRecord } from "../contracts.js";
import { PorterError, StoreUnavailableError } from "../errors.js";
import { createSessionEngine, type SessionEngine, type SessionEngineOptions } from "../session/engine.js";
import { hashSessionKey, isSessionKey } from "../session/keys.js";
import type { TestRunner } from "./runner.js";
import type { InspectedRecord } from "./session-store.js";

/** A store operation a `faultStore` can make fail. */
export type FaultOperation = "get" | "create" | "update" | "touch" | "delete";

export interface FaultStoreOptions {
  /** The operation that fails with `StoreUnavailableError`, as a driver's outage would. */
  failOn: FaultOperation;
  /** How many calls of that operation fail before it works again. @default Infinity */
  times?: number;
  /** Only calls for a store key this accepts fail (and count towards `times`). @default every key */
  when?: (key: string) => boolean;
}

/** One call a `faultStore` saw: the store key and whether the fault answered it. */
export interface FaultCall {
  readonly op: FaultOperation;
  readonly key: string;
  readonly failed: boolean;
}

/** A store wrapped by `faultStore`: the same contract, plus the log of what it was asked. */
export interface FaultStore extends SessionStore {
  readonly calls: readonly FaultCall[];
}

/**
 * Wraps a store so one operation rejects with `StoreUnavailableError` (before reaching the
 * store, so nothing is written) for the first `times` calls; every other call passes through.
 * For fault tests: a login whose new key cannot be created, a rotation whose old key cannot
 * be deleted, a password change with the store down.
 */
export function faultStore(store: SessionStore, options: FaultStoreOptions): FaultStore {
  const { failOn, when } = options;
  let remaining = options.times ?? Number.POSITIVE_INFINITY;
  const calls: FaultCall[] = [];

  function guard(op: FaultOperation, key: string): void {
    const failed = op === failOn && remaining > 0 && (when === undefined || when(key));
    calls.push({ op, key, failed });
    if (!failed) return;
    remaining--;
    throw new StoreUnavailableError(`injected fault: ${op} failed`, {
      cause: new Error("ECONNRESET (injected)"),
    });
  }

  const wrapped: FaultStore = {
    contractVersion: 1,
    capabilities: store.capabilities,
    calls,
    async get(key) {
      guard("get", key);
      return store.get(key);
    },
    async create(key, data, expiresAt) {
      guard("create", key);
      return store.create(key, data, expiresAt);
    },
    async update(key, record) {
      guard("update", key);
      return store.update(key, record);
    },
    async delete(key) {
      guard("delete", key);
      return store.delete(key);
    },
  };
  if (store.touch !== undefined) {
    const touch = store.touch.bind(store);
    wrapped.touch = async (key, expiresAt) => {
      guard("touch", key);
      return touch(key, expiresAt);
    };
  }
  if (store.clearExpired !== undefined) wrapped.clearExpired = store.clearExpired.bind(store);
  return wrapped;
}

/** A store whose first `times` creates are re-aimed at `existing`, as a key collision would be. */
function collidingStore(
  store: SessionStore,
  existing: string,
  times: number,
): { forced: SessionStore; creates: string[] } {
  let remaining = times;
  const creates: string[] = [];
  const forced: SessionStore = {
    contractVersion: 1,
    capabilities: store.capabilities,
    get: (key) => store.get(key),
    create(key, data, expiresAt) {
      creates.push(key);
      if (remaining <= 0) return store.create(key, data, expiresAt);
      remaining--;
      return store.create(existing, data, expiresAt);
    },
    update: (key, record) => store.update(key, record),
    delete: (key) => store.delete(key),
  };
  if (store.touch !== undefined) forced.touch = store.touch.bind(store);
  return { forced, creates };
}

/** What `describeSessionStore` hands its engine-level scenarios. */
export interface SessionScenarioContext<S extends SessionStore> {
  t: TestRunner;
  /** A fresh store, disposed of after the test. */
  open: () => Promise<S>;
  /** The clock the stores run on (the kit's manual clock, or real time); the engine gets it too. */
  now: () => number;
  inspect?: ((store: S, key: string) => Promise<InspectedRecord | null>) | undefined;
}

/** A fixed 50-character secret for the session auth hash. */
const SECRET = "porter-kit:session-auth-hash:0123456789abcdefghijk";
const AUTH_KEYS = [SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY] as const;
const SIZES = [2, 10, 50] as const;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const codeOf = (reason: unknown) => (PorterError.is(reason) ? reason.code : String(reason));

interface AuthFixture {
  users: MemoryUserStore;
  backend: PasswordBackend;
  user: UserRecord;
}

/**
 * Engine-level scenarios over the store under test: concurrent requests on one session
 * (fault-plan C-1…C-7), faults inside login and password changes (F-LOGIN-1…4), and the
 * key rotation at login (LIFE-01). A store that declares `versioned: false` is held to
 * last-write-wins, never to resurrection.
 */
export function describeSessionScenarios<S extends SessionStore>(ctx: SessionScenarioContext<S>): void {
  const { t, open, now, inspect } = ctx;
  const codec = jsonCodec();

  const engineOver = (store: SessionStore, extra: Partial<SessionEngineOptions> = {}): SessionEngine =>
    createSessionEngine({ store, clock: now, hashKeys: true, ...extra });

  /** The decoded data under a cookie key, or null; a record that does not decode fails the test. */
  async function stored(store: SessionStore, key: string): Promise<SessionData | null> {
    const record = await store.get(hashSessionKey(key));
    if (record === null) return null;
    try {
      return codec.decode(record.data);
    } catch (error) {
      assert.fail(`the stored record does not decode (a torn write?): ${String(error)}`);
    }
  }

  async function assertAbsent(store: S, key: string, what: string): Promise<void> {
    assert.equal(await store.get(hashSessionKey(key)), null, `${what}: the store has no record`);
    if (inspect)
      assert.equal(await inspect(store, hashSessionKey(key)), null, `${what}: nothing in the backend`);
  }

  /** A new session holding `data`, committed; its cookie key. */
  async function seed(engine: SessionEngine, data: SessionData): Promise<string> {
    const session = await engine.load(undefined);
    session.update(data);
    const { key } = await engine.commit(session);
    assert.ok(key !== null && isSessionKey(key), "a new session gets a key");
    return key;
  }

  async function authFixture(): Promise<AuthFixture> {
    const users = createMemoryUserStore({ clock: now });
    const backend = createPasswordBackend({ users });
    // getUser only HMACs the stored hash, so no real password hashing is needed here.
    const user = await users.create({
      username: "scenario-user",
      passwordHash: "pbkdf2_sha256$1000000$kitsalt$a2l0LXBhc3N3b3JkLWhhc2gtb25l",
    });
    return { users, backend, user };
  }

  /** A fresh visitor logs in: the committed, authenticated session's key. */
  async function loggedIn(engine: SessionEngine, fx: AuthFixture, data: SessionData = {}): Promise<string> {
    const session = await engine.load(undefined);
    session.update(data);
    await login(session, fx.user, fx.backend, { secret: SECRET });
    const { key } = await engine.commit(session);
    assert.ok(key !== null, "a login is committed under a key");
    return key;
  }

  const whoIs = (session: Session, fx: AuthFixture) => getUser(session, [fx.backend], { secret: SECRET });
  const dataOf = (session: Session): SessionData => Object.fromEntries(session.entries());

  function assertRejected(
    result: PromiseSettledResult<unknown>,
    codes: readonly string[],
    what: string,
  ): void {
    assert.equal(result.status, "rejected", `${what}: expected a rejection with ${codes.join(" or ")}`);
    const reason = (result as PromiseRejectedResult).reason;
    assert.ok(PorterError.is(reason), `${what}: expected a typed PorterError, got ${String(reason)}`);
    assert.ok(codes.includes(reason.code), `${what}: expected ${codes.join(" or ")}, got ${reason.code}`);
  }

  async function assertAnonymousNext(
    engine: SessionEngine,
    store: S,
    key: string,
    fx: AuthFixture,
    what: string,
  ): Promise<void> {
    const next = await engine.load(key);
    assert.equal(await whoIs(next, fx), null, `${what}: anonymous on the next request`);
    await engine.commit(next);
    await assertAbsent(store, key, `${what}: its record is flushed`);
  }

  t.describe("with the session engine", () => {
    for (const n of SIZES) {
      t.it(
        `C-1: ${n} concurrent writers to one session: none lost (versioned) or one whole writer (LWW), never torn`,
        async () => {
          const store = await open();
          const engine = engineOver(store);
          const key = await seed(engine, { base: "kept" });
          const before = (await store.get(hashSessionKey(key)))!;
          const sessions = await Promise.all(range(n).map(() => engine.load(key)));
          for (const [i, session] of sessions.entries()) session.set(`w${i}`, i);
          const results = await Promise.allSettled(sessions.map((s) => engine.commit(s)));

          const record = await store.get(hashSessionKey(key));
          assert.ok(record !== null, "the session outlives its writers");
          const data = await stored(store, key);
          assert.ok(data !== null);
          const winners = range(n).filter((i) => results[i]!.status === "fulfilled");
          if (store.capabilities.versioned) {
            for (const [i, result] of results.entries())
              if (result.status === "rejected") assertRejected(result, ["SESSION_CONFLICT"], `writer ${i}`);
            assert.ok(winners.length >= 1, "at least one writer succeeds");
            if (n === 2)
              assert.equal(winners.length, 2, "two writers: the loser's reload-and-replay succeeds");
            const expected: SessionData = { base: "kept" };
            for (const i of winners) expected[`w${i}`] = i;
            assert.deepEqual(data, expected, "every successful writer's value survives, and only theirs");
            assert.equal(record.version, before.version + winners.length, "one version per successful write");
          } else {
            assert.equal(
              winners.length,
              n,
              `last write wins: every commit succeeds (${results.map((r) => (r.status === "rejected" ? codeOf(r.reason) : "ok")).join(",")})`,
            );
            const written = Object.keys(data).filter((k) => k.startsWith("w"));
            assert.equal(written.length, 1, `exactly one writer's object, got ${JSON.stringify(data)}`);
            const j = Number(written[0]!.slice(1));
            assert.deepEqual(
              data,
              { base: "kept", [`w${j}`]: j },
              "the final record is one writer's complete object",
            );
          }
        },
      );
    }

    for (const n of SIZES) {
      t.it(
        `C-2: ${n - 1} long request(s) save after a concurrent logout: SessionInterruptedError, the key stays absent`,
        async () => {
          const store = await open();
          const engine = engineOver(store);
          const key = await seed(engine, { step: 0 });
          const long = await Promise.all(range(n - 1).map(() => engine.load(key)));
          const other = await engine.load(key);
          await logout(other);
          const out = await engine.commit(other);
          assert.equal(out.key, null, "logout leaves no key");
          assert.match(out.setCookie ?? "", /Max-Age=0/, "logout deletes the cookie");
          for (const [i, session] of long.entries()) session.set("step", i + 1);
          const results = await Promise.allSettled(long.map((s) => engine.commit(s)));
          for (const [i, result] of results.entries())
            assertRejected(result, ["SESSION_INTERRUPTED"], `long request ${i}`);
          await assertAbsent(store, key, "the logged-out session");
          const again = await engine.load(key);
          assert.equal(again.key, null, "the old cookie names no session");
          assert.deepEqual(again.keys(), []);
        },
      );
    }

    for (const n of SIZES) {
      t.it(
        `C-3: ${n - 1} touch-only commit(s) after a concurrent logout never bring the session back`,
        async () => {
          const store = await open();
          let skew = 0;
          const engine = engineOver(store, { touchAfter: 1, clock: () => now() + skew });
          const key = await seed(engine, { cart: 1 });
          const control = await seed(engine, { cart: 2 });
          const readers = await Promise.all(range(n - 1).map(() => engine.load(key)));
          for (const reader of readers) assert.equal(reader.get("cart"), 1);
          const controlReader = await engine.load(control);
          const other = await engine.load(key);
          await logout(other);
          await engine.commit(other);
          // Five seconds on, the expiry has fallen behind by more than touchAfter: an unmodified session is touched.
          skew = 5000;
          const controlBefore = (await store.get(hashSessionKey(control)))!.expiresAt;
          const touched = await engine.commit(controlReader);
          assert.ok(touched.setCookie !== null, "the control session's commit touches it");
          const controlAfter = (await store.get(hashSessionKey(control)))?.expiresAt ?? 0;
          assert.ok(controlAfter > controlBefore, "the touch moved a live session's expiry");
          assert.deepEqual(await stored(store, control), { cart: 2 }, "touch wrote no data");

          const results = await Promise.allSettled(readers.map((s) => engine.commit(s)));
          // A store without touch gets a compare-and-set update instead, which finds the key gone.
          for (const [i, result] of results.entries())
            if (result.status === "rejected") assertRejected(result, ["SESSION_INTERRUPTED"], `reader ${i}`);
          await assertAbsent(store, key, "the logged-out session after touches");
        },
      );
    }

    for (const n of SIZES) {
      t.it(
        `C-4: login rotates K0→K1 while ${n - 1} request(s) still holding K0 save: they fail, K1 holds only the login's data`,
        async () => {
          const store = await open();
          const engine = engineOver(store);
          const fx = await authFixture();

          // B saves after A's rotation: every B is interrupted.
          const k0 = await seed(engine, { cart: 1 });
          const a = await engine.load(k0);
          const bs = await Promise.all(range(n - 1).map(() => engine.load(k0)));
          await login(a, fx.user, fx.backend, { secret: SECRET });
          const aData = dataOf(a);
          const { key: k1 } = await engine.commit(a);
          assert.ok(k1 !== null && k1 !== k0, "login issues a new key");
          for (const [i, b] of bs.entries()) b.set(`b${i}`, i);
          const results = await Promise.allSettled(bs.map((b) => engine.commit(b)));
          for (const [i, result] of results.entries())
            assertRejected(result, ["SESSION_INTERRUPTED"], `request ${i} on the rotated key`);
          await assertAbsent(store, k0, "K0 after the login");
          assert.deepEqual(await stored(store, k1), aData, "K1 holds A's data and nothing of B's");
          assert.equal((await whoIs(await engine.load(k1), fx))?.id, fx.user.id, "K1 is authenticated");

          // A and the Bs commit at once: a B may land on K0 before it goes, never on K1.
          const r0 = await seed(engine, { cart: 2 });
          const ra = await engine.load(r0);
          const rbs = await Promise.all(range(n - 1).map(() => engine.load(r0)));
          await login(ra, fx.user, fx.backend, { secret: SECRET });
          const raData = dataOf(ra);
          for (const [i, b] of rbs.entries()) b.set(`b${i}`, i);
          const [aResult, ...bResults] = await Promise.allSettled([
            engine.commit(ra),
            ...rbs.map((b) => engine.commit(b)),
          ]);
          assert.equal(
            aResult!.status,
            "fulfilled",
            `the login commits (${aResult!.status === "rejected" ? codeOf(aResult!.reason) : ""})`,
          );
          const r1 = (aResult as PromiseFulfilledResult<{ key: string | null }>).value.key;
          assert.ok(r1 !== null && r1 !== r0);
          const allowed = store.capabilities.versioned
            ? ["SESSION_INTERRUPTED", "SESSION_CONFLICT"]
            : ["SESSION_INTERRUPTED"];
          for (const [i, result] of bResults.entries())
            if (result.status === "rejected") assertRejected(result, allowed, `racing request ${i}`);
          await assertAbsent(store, r0, "K0 after a racing login");
          assert.deepEqual(await stored(store, r1), raData, "K1 holds exactly A's data");
        },
      );
    }

    for (const n of SIZES) {
      t.it(
        `C-5: ${n} new session(s) whose first create hits an existing key: the original is untouched, each gets a fresh key`,
        async () => {
          const store = await open();
          const engine = engineOver(store);
          const victim = await seed(engine, { owner: "original" });
          const victimKey = hashSessionKey(victim);
          const original = (await store.get(victimKey))!;
          const originalRaw = inspect ? await inspect(store, victimKey) : null;

          const { forced, creates } = collidingStore(store, victimKey, n);
          const forcedEngine = engineOver(forced);
          const sessions = await Promise.all(range(n).map(() => forcedEngine.load(undefined)));
          for (const [i, session] of sessions.entries()) session.set("owner", `new-${i}`);
          const results = await Promise.allSettled(sessions.map((s) => forcedEngine.commit(s)));

          const keys = new Set<string>();
          for (const [i, result] of results.entries()) {
            assert.equal(
              result.status,
              "fulfilled",
              `session ${i} is created (${result.status === "rejected" ? codeOf(result.reason) : ""})`,
            );
            const key = (result as PromiseFulfilledResult<{ key: string | null }>).value.key;
            assert.ok(key !== null && key !== victim, `session ${i} has a fresh key`);
            keys.add(key);
            assert.deepEqual(
              await stored(store, key),
              { owner: `new-${i}` },
              `session ${i} holds its own data`,
            );
          }
          assert.equal(keys.size, n, "every new session has its own key");
          assert.equal(creates.length, 2 * n, "each forced collision was retried once under a new key");
          assert.deepEqual(await store.get(victimKey), original, "the existing record is untouched");
          if (inspect && originalRaw?.data !== undefined)
            assert.equal(
              (await inspect(store, victimKey))?.data,
              originalRaw.data,
              "the backend still holds the original",
            );
        },
      );
    }

    for (const n of SIZES) {
      t.it(
        `C-6: a password change in S1 while S2 has ${n - 1} request(s) in flight: S2's next request is anonymous and flushed`,
        async () => {
          const store = await open();
          const engine = engineOver(store);
          const fx = await authFixture();
          const s1 = await loggedIn(engine, fx, { tab: "s1" });
          const s2 = await loggedIn(engine, fx, { tab: "s2" });

          const inFlight = await Promise.all(range(n - 1).map(() => engine.load(s2)));
          for (const session of inFlight)
            assert.equal((await whoIs(session, fx))?.id, fx.user.id, "S2 starts authenticated");
          const change = await engine.load(s1);
          assert.equal((await whoIs(change, fx))?.id, fx.user.id, "S1 is authenticated");

          const changed = await fx.users.update(fx.user.id, {
            passwordHash: "pbkdf2_sha256$1000000$kitsalt$a2l0LXBhc3N3b3JkLWhhc2gtdHdv",
          });
          updateSessionAuthHash(change, changed, { secret: SECRET });
          // One in-flight request writes; the others only read, as most requests do.
          inFlight[0]!.set("seen", true);
          const [changeResult, ...flightResults] = await Promise.allSettled([
            engine.commit(change),
            ...inFlight.map((s) => engine.commit(s)),
          ]);
          assert.equal(changeResult!.status, "fulfilled", "the password change commits");
          const s1Next = (changeResult as PromiseFulfilledResult<{ key: string | null }>).value.key;
          assert.ok(s1Next !== null && s1Next !== s1, "the changing session moves to a new key");
          for (const [i, result] of flightResults.entries())
            assert.equal(
              result.status,
              "fulfilled",
              `in-flight request ${i} finishes (${result.status === "rejected" ? codeOf(result.reason) : ""})`,
            );
          assert.equal((await stored(store, s2))?.seen, true, "the in-flight write landed before S2 ended");

          // S2's next requests, all at once: each is anonymous and deletes the record.
          const next = await Promise.all(range(Math.max(1, n - 1)).map(() => engine.load(s2)));
          for (const session of next)
            assert.equal(await whoIs(session, fx), null, "S2 is anonymous after the change");
          const ends = await Promise.allSettled(next.map((s) => engine.commit(s)));
          for (const [i, end] of ends.entries()) {
            assert.equal(
              end.status,
              "fulfilled",
              `S2's next request ${i} commits (${end.status === "rejected" ? codeOf(end.reason) : ""})`,
            );
            assert.match(
              (end as PromiseFulfilledResult<{ setCookie: string | null }>).value.setCookie ?? "",
              /Max-Age=0/,
            );
          }
          await assertAbsent(store, s2, "S2");
          await assertAbsent(store, s1, "S1's old key");
          assert.equal(
            (await whoIs(await engine.load(s1Next), fx))?.id,
            fx.user.id,
            "S1 stays logged in under its new key",
          );
        },
      );
    }

    for (const n of SIZES) {
      t.it(`C-7: ${n} concurrent logouts of one session, then one more: no error, no record`, async () => {
        const store = await open();
        const engine = engineOver(store);
        const fx = await authFixture();
        const key = await loggedIn(engine, fx, { cart: 1 });
        const sessions = await Promise.all(range(n).map(() => engine.load(key)));
        for (const session of sessions) await logout(session, { user: fx.user });
        const results = await Promise.allSettled(sessions.map((s) => engine.commit(s)));
        for (const [i, result] of results.entries()) {
          assert.equal(
            result.status,
            "fulfilled",
            `logout ${i} (${result.status === "rejected" ? codeOf(result.reason) : ""})`,
          );
          const out = (result as PromiseFulfilledResult<{ key: string | null; setCookie: string | null }>)
            .value;
          assert.equal(out.key, null);
          assert.match(out.setCookie ?? "", /Max-Age=0/, `logout ${i} deletes the cookie`);
        }
        await assertAbsent(store, key, "the logged-out session");
        const late = await engine.load(key);
        await logout(late);
        const out = await engine.commit(late);
        assert.equal(out.key, null);
        assert.match(out.setCookie ?? "", /Max-Age=0/, "a late logout still deletes the cookie");
        await store.delete(hashSessionKey(key));
        await store.delete(hashSessionKey(key));
        await assertAbsent(store, key, "after double destroy");
      });
    }

    t.it(
      "LIFE-01: login moves an anonymous session to a new key, keeps its data, and leaves nothing under the old one",
      async () => {
        const store = await open();
        const engine = engineOver(store);
        const fx = await authFixture();
        const k0 = await seed(engine, { cart: 1 });
        const session = await engine.load(k0);
        await login(session, fx.user, fx.backend, { secret: SECRET });
        const { key: k1 } = await engine.commit(session);
        assert.ok(k1 !== null && isSessionKey(k1) && k1 !== k0, "a new key K1 ≠ K0");
        const after = await engine.load(k1);
        assert.equal(after.get("cart"), 1, "the cart is kept under K1");
        assert.equal((await whoIs(after, fx))?.id, fx.user.id, "K1 is authenticated");
        const old = await engine.load(k0);
        assert.equal(old.key, null, "K0 names no session");
        assert.deepEqual(old.keys(), [], "K0 loads empty");
        await assertAbsent(store, k0, "K0");
      },
    );

    t.it(
      "F-LOGIN-1: creating the new key fails: the commit rejects typed, K0 is untouched and anonymous, no K1",
      async () => {
        const store = await open();
        const engine = engineOver(store);
        const fx = await authFixture();
        const k0 = await seed(engine, { cart: 1 });
        const faulty = faultStore(store, { failOn: "create", times: 1 });
        const faultyEngine = engineOver(faulty);
        const session = await faultyEngine.load(k0);
        await login(session, fx.user, fx.backend, { secret: SECRET });
        const [result] = await Promise.allSettled([faultyEngine.commit(session)]);
        assertRejected(result!, ["STORE_UNAVAILABLE"], "the login's commit");
        assert.deepEqual(await stored(store, k0), { cart: 1 }, "K0 holds its anonymous data, no auth");
        assert.ok(!faulty.calls.some((c) => c.op === "delete"), "K0 was not deleted before K1 existed");
        const attempted = faulty.calls.filter((c) => c.op === "create");
        assert.ok(attempted.length >= 1 && attempted.every((c) => c.failed), "the only create failed");
        for (const call of attempted) {
          assert.equal(await store.get(call.key), null, "no K1 record");
          if (inspect) assert.equal(await inspect(store, call.key), null, "no K1 in the backend");
        }
        const next = await engine.load(k0);
        assert.equal(await whoIs(next, fx), null, "K0 is anonymous");
        assert.equal(next.get("cart"), 1);
      },
    );

    t.it(
      "F-LOGIN-2: deleting the old key fails after K1 is written: the commit rejects or keeps K1 only; K0 never holds auth",
      async () => {
        const store = await open();
        const engine = engineOver(store);
        const fx = await authFixture();
        const k0 = await seed(engine, { cart: 1 });
        const faulty = faultStore(store, { failOn: "delete", times: 1 });
        const faultyEngine = engineOver(faulty);
        const session = await faultyEngine.load(k0);
        await login(session, fx.user, fx.backend, { secret: SECRET });
        const [result] = await Promise.allSettled([faultyEngine.commit(session)]);
        if (result!.status === "rejected")
          assertRejected(result!, ["STORE_UNAVAILABLE"], "the login's commit");
        else
          assert.ok(result!.value.key !== null && result!.value.key !== k0, "a successful login answers K1");

        const left = await stored(store, k0);
        assert.ok(
          left === null || !AUTH_KEYS.some((k) => k in left),
          `K0 never holds auth data: ${JSON.stringify(left)}`,
        );
        if (left !== null) assert.deepEqual(left, { cart: 1 }, "K0 still holds only its anonymous data");
        assert.equal(await whoIs(await engine.load(k0), fx), null, "K0 is anonymous");
        const created = faulty.calls.filter((c) => c.op === "create" && !c.failed);
        assert.equal(created.length, 1, "K1 was created before the old key's delete was tried");
        const deleteCall = faulty.calls.findIndex((c) => c.op === "delete");
        const createCall = faulty.calls.findIndex((c) => c.op === "create");
        assert.ok(createCall >= 0 && deleteCall > createCall, "create new, then delete old");
      },
    );

    t.it(
      "F-LOGIN-3: the write carrying the auth hash fails: the previous state stays whole; a half-written login is anonymous and flushed",
      async () => {
        const store = await open();
        const engine = engineOver(store);
        const fx = await authFixture();
        const key = await loggedIn(engine, fx, { cart: 1 });
        const complete = await stored(store, key);

        // Logging the same user in again rewrites the id, backend and hash in place: an update.
        const faulty = faultStore(store, { failOn: "update", times: 1 });
        const faultyEngine = engineOver(faulty);
        const again = await faultyEngine.load(key);
        assert.equal((await whoIs(again, fx))?.id, fx.user.id);
        await login(again, fx.user, fx.backend, { secret: SECRET });
        again.set("cart", 2);
        const [result] = await Promise.allSettled([faultyEngine.commit(again)]);
        assertRejected(result!, ["STORE_UNAVAILABLE"], "the commit whose update failed");
        assert.ok(
          faulty.calls.some((c) => c.op === "update" && c.failed),
          "the fault hit the update",
        );
        assert.deepEqual(
          await stored(store, key),
          complete,
          "the record is as before: id, backend and hash together",
        );

        // What a lost hash write would leave: a user id without a valid hash is never authenticated.
        const halves: [string, SessionData][] = [
          ["no hash", {}],
          ["an empty hash", { [HASH_SESSION_KEY]: "" }],
          ["a hash of the wrong type", { [HASH_SESSION_KEY]: 12345 }],
          ["a wrong hash", { [HASH_SESSION_KEY]: "0".repeat(64) }],
        ];
        for (const [what, hash] of halves) {
          const half = await seed(engine, {
            cart: 3,
            [SESSION_KEY]: fx.user.id,
            [BACKEND_SESSION_KEY]: fx.backend.id,
            ...hash,
          });
          await assertAnonymousNext(engine, store, half, fx, `a session with ${what}`);
        }
      },
    );

    t.it(
      "F-LOGIN-4: a password change whose session write fails is reported, and every session ends",
      async () => {
        for (const failOn of ["create", "delete"] as const) {
          const store = await open();
          const engine = engineOver(store);
          const fx = await authFixture();
          const s1 = await loggedIn(engine, fx, { tab: "s1" });
          const s2 = await loggedIn(engine, fx, { tab: "s2" });
          const s3 = await loggedIn(engine, fx, { tab: "s3" });

          const faulty = faultStore(store, { failOn, times: 1 });
          const faultyEngine = engineOver(faulty);
          const change = await faultyEngine.load(s1);
          assert.equal((await whoIs(change, fx))?.id, fx.user.id);
          const changed = await fx.users.update(fx.user.id, {
            passwordHash: "pbkdf2_sha256$1000000$kitsalt$a2l0LXBhc3N3b3JkLWhhc2gtdGhyZWU",
          });
          updateSessionAuthHash(change, changed, { secret: SECRET });
          const [result] = await Promise.allSettled([faultyEngine.commit(change)]);
          assertRejected(result!, ["STORE_UNAVAILABLE"], `the password change's commit (${failOn} failing)`);

          await assertAnonymousNext(engine, store, s2, fx, `another session (${failOn} failing)`);
          await assertAnonymousNext(engine, store, s3, fx, `a third session (${failOn} failing)`);
          assert.equal(
            await whoIs(await engine.load(s1), fx),
            null,
            `the changing session's old key (${failOn} failing)`,
          );
        }
      },
    );
  });
}
