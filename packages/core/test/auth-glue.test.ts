/**
 * The login ↔ session seam, through the real session engine and memory stores: the
 * `auth.session_auth_hash` and `auth.glue` vectors from real Django, then the lifecycle
 * requirements (LIFE-*), the backend chain (AU-*, AUTH-*) and permissions (MB-12…14).
 */
import { describe, expect, it } from "vitest";
import {
  type AuthBackend,
  type AuthEvent,
  authenticate,
  BACKEND_SESSION_KEY,
  CLEANSED_SUBSTITUTE,
  ConfigError,
  createAuth,
  createHashLimiter,
  createMemorySessionStore,
  createMemoryUserStore,
  createPasswordBackend,
  createPasswordHashers,
  createSessionEngine,
  DJANGO_MODEL_BACKEND_ID,
  getSessionAuthHash,
  getUser,
  HASH_SESSION_KEY,
  hashSessionKey,
  hasModulePerms,
  hasPerm,
  hasPerms,
  InvalidArgumentError,
  login,
  logout,
  PermissionDeniedError,
  SESSION_KEY,
  type Session,
  type SessionEngine,
  type UserRecord,
  type UserStore,
  updateSessionAuthHash,
} from "../src/index.js";
import { vectorsOf } from "./vectors.js";

interface Vector {
  id: string;
  kind: string;
  django_version: string;
  inputs: Record<string, unknown>;
  expected: Record<string, unknown>;
}
const ofKind = (kind: string) => vectorsOf(kind) as unknown as Vector[];

const SECRET = "django-insecure-vectors-3x@mple-secret-key-0123456789abcdef";
const OLD_SECRET = "old-rotated-secret-key-for-fallback-tests-9876543210";
const hashers = createPasswordHashers({ iterations: 10_000 });

/** A little world: a session engine on a memory store, a memory user store, a password backend. */
async function world(options: { backendId?: string } = {}) {
  const store = createMemorySessionStore();
  const engine = createSessionEngine({ store });
  const users = createMemoryUserStore();
  const backend = createPasswordBackend({
    users,
    hashers,
    ...(options.backendId ? { id: options.backendId } : {}),
  });
  const alice = await users.create({
    username: "alice",
    passwordHash: await hashers.makePassword("wonderland"),
  });
  const bob = await users.create({ username: "bob", passwordHash: await hashers.makePassword("builder") });
  return { store, engine, users, backend, alice, bob };
}

/** Saves `data` as a session and loads it back, as the next request would. */
async function saved(
  engine: SessionEngine,
  data: Record<string, unknown>,
): Promise<{ key: string; session: Session }> {
  const fresh = await engine.load(undefined);
  fresh.update(data);
  const { key } = await engine.commit(fresh);
  expect(key).not.toBeNull();
  return { key: key!, session: await engine.load(key!) };
}

/** Commits and loads the session again, as the next request would see it. */
async function nextRequest(
  engine: SessionEngine,
  session: Session,
): Promise<{ key: string | null; session: Session }> {
  const { key } = await engine.commit(session);
  return { key, session: await engine.load(key ?? undefined) };
}

const dataOf = (session: Session) => Object.fromEntries(session.entries());

describe("auth.session_auth_hash vectors", () => {
  for (const v of ofKind("auth.session_auth_hash")) {
    it(v.id, () => {
      const inputs = v.inputs as { password_field: string; secret_key: string; fallback_secret: string };
      const expected = v.expected as { sha256: string; legacy_sha1?: string; fallback_hashes?: string[] };
      const hash = getSessionAuthHash(inputs.password_field, inputs.secret_key);
      expect(hash).toBe(expected.sha256);
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      if (expected.fallback_hashes !== undefined) {
        expect([getSessionAuthHash(inputs.password_field, inputs.fallback_secret)]).toEqual(
          expected.fallback_hashes,
        );
      } else {
        // 3.2 also checked a legacy sha1 hash; Porter follows 4.x+ and only makes the sha256 one.
        expect(expected.legacy_sha1).toMatch(/^[0-9a-f]{40}$/);
        expect(hash).not.toBe(expected.legacy_sha1);
      }
    });
  }
});

describe("auth.glue vectors (real engine, memory session store, memory users)", () => {
  type Users = Record<string, { pk: number; password: string }>;

  async function vectorWorld(v: Vector) {
    const inputs = v.inputs as { users: Users; secret_key: string };
    const store = createMemorySessionStore();
    const engine = createSessionEngine({ store });
    const users = createMemoryUserStore();
    const byPk = Object.entries(inputs.users).sort(([, a], [, b]) => a.pk - b.pk);
    const records = new Map<string, UserRecord>();
    for (const [username, { pk, password }] of byPk) {
      const record = await users.create({ username, passwordHash: password });
      expect(record.id).toBe(String(pk));
      records.set(username, record);
    }
    // pk 3: the inactive user some scenarios refer to.
    await users.create({ username: "carol", passwordHash: "!", isActive: false });
    const backend = createPasswordBackend({ users, id: DJANGO_MODEL_BACKEND_ID });
    return { engine, users, backend, records, secret: inputs.secret_key };
  }

  function initialData(v: Vector, records: Map<string, UserRecord>, secret: string): Record<string, unknown> {
    const initial = v.inputs.initial ?? v.inputs.session;
    if (typeof initial === "object" && initial !== null) return { ...(initial as Record<string, unknown>) };
    const loggedIn = (user: UserRecord, hash: string | undefined) => ({
      [SESSION_KEY]: user.id,
      ...(hash === undefined
        ? {}
        : { [BACKEND_SESSION_KEY]: DJANGO_MODEL_BACKEND_ID, [HASH_SESSION_KEY]: hash }),
      x: 1,
    });
    const alice = records.get("alice")!;
    switch (initial) {
      case "logged in as alice (matching hash) + {'x': 1}":
        return loggedIn(alice, getSessionAuthHash(alice.passwordHash, secret));
      case "logged in as bob + {'x': 1}": {
        const bob = records.get("bob")!;
        return loggedIn(bob, getSessionAuthHash(bob.passwordHash, secret));
      }
      case "alice id with stale hash + {'x': 1}":
        return loggedIn(alice, getSessionAuthHash(`${alice.passwordHash}stale`, secret));
      case "alice id only + {'x': 1}":
        return { [SESSION_KEY]: alice.id, x: 1 };
      default:
        throw new Error(`unknown initial session description: ${String(initial)}`);
    }
  }

  for (const v of ofKind("auth.glue")) {
    const scenario = String(v.inputs.scenario);
    if (scenario.includes("legacy sha1")) {
      // Django 3.2 still accepted a session hash made with sha1; 4.x+ (which Porter follows,
      // AU-17) treats it as a mismatch: the user is anonymous and the session is flushed.
      it(`${v.id} — Porter follows Django 4.x+: the 3.2-only legacy sha1 session hash is a mismatch, anonymous and flushed`, async () => {
        const { engine, backend, secret } = await vectorWorld(v);
        const { session } = await saved(engine, v.inputs.session as Record<string, unknown>);
        expect(await getUser(session, [backend], { secret })).toBeNull();
        expect(session.key).toBeNull();
        expect(session.keys()).toEqual([]);
      });
      continue;
    }
    it(v.id, async () => {
      const { engine, users, backend, records, secret } = await vectorWorld(v);
      const { key, session } = await saved(engine, initialData(v, records, secret));
      const settings = (v.inputs.settings ?? {}) as { SECRET_KEY_FALLBACKS?: string[] };
      let resolved: UserRecord | null | undefined;

      if (scenario.startsWith("login:")) {
        const user = records.get(String(v.inputs.user))!;
        await login(session, user, backend, { secret });
      } else if (scenario.startsWith("get_user:")) {
        resolved = await getUser(session, [backend], {
          secret,
          fallbackSecrets: settings.SECRET_KEY_FALLBACKS ?? [],
        });
      } else if (scenario.startsWith("logout:")) {
        await logout(session);
      } else if (scenario.startsWith("update_session_auth_hash")) {
        const user = records.get(String(v.inputs.user ?? "alice"))!;
        updateSessionAuthHash(session, user, { secret });
      } else {
        throw new Error(`unknown scenario ${scenario}`);
      }

      const expected = v.expected as {
        session: Record<string, unknown>;
        session_key_changed: boolean;
        session_key_is_none: boolean;
        user?: string | null;
      };
      expect(dataOf(session)).toEqual(expected.session);
      expect(session.key === null).toBe(expected.session_key_is_none);
      if ("user" in expected) expect(resolved?.username ?? null).toBe(expected.user);

      const next = await nextRequest(engine, session);
      expect(next.key !== key).toBe(expected.session_key_changed);
      if (next.key !== null) expect(dataOf(next.session)).toEqual(expected.session);
      if (next.key !== key) {
        // The old record is gone: replaying the old cookie is an empty, anonymous session.
        const replay = await engine.load(key);
        expect(replay.key).toBeNull();
        expect(replay.keys()).toEqual([]);
      }
      expect(await users.findById("1")).not.toBeNull();
    });
  }
});

describe("login", () => {
  it("rotates the key of an anonymous session, keeps its data, and leaves nothing under the old key (LIFE-01)", async () => {
    const { engine, store, backend, alice } = await world();
    const { key: k0, session } = await saved(engine, { cart: 1 });
    await login(session, alice, backend, { secret: SECRET });
    expect(session.key).toBe(k0);
    const { key: k1, session: after } = await nextRequest(engine, session);
    expect(k1).not.toBeNull();
    expect(k1).not.toBe(k0);
    expect(dataOf(after)).toEqual({
      cart: 1,
      [SESSION_KEY]: alice.id,
      [BACKEND_SESSION_KEY]: backend.id,
      [HASH_SESSION_KEY]: getSessionAuthHash(alice.passwordHash, SECRET),
    });
    expect(await store.get(hashSessionKey(k0))).toBeNull();
    expect((await engine.load(k0)).keys()).toEqual([]);
    expect(await getUser(after, [backend], { secret: SECRET })).toEqual(alice);
  });

  it("flushes a session that belongs to another user, so nothing leaks between users (LIFE-02)", async () => {
    const { engine, backend, alice, bob } = await world();
    const fresh = await engine.load(undefined);
    await login(fresh, alice, backend, { secret: SECRET });
    fresh.set("secretA", "alice's");
    const { key: ka, session } = await nextRequest(engine, fresh);
    await login(session, bob, backend, { secret: SECRET });
    expect(session.get("secretA")).toBeUndefined();
    expect(session.get(SESSION_KEY)).toBe(bob.id);
    const { key: kb, session: after } = await nextRequest(engine, session);
    expect(kb).not.toBe(ka);
    expect(after.get("secretA")).toBeUndefined();
    expect((await getUser(after, [backend], { secret: SECRET }))?.username).toBe("bob");
  });

  it("flushes when the stored hash is stale or missing for the same user, and rotates nothing when it matches (AU-6)", async () => {
    const { engine, backend, alice } = await world();
    const hash = getSessionAuthHash(alice.passwordHash, SECRET);
    const same = await saved(engine, {
      [SESSION_KEY]: alice.id,
      [BACKEND_SESSION_KEY]: backend.id,
      [HASH_SESSION_KEY]: hash,
      x: 1,
    });
    await login(same.session, alice, backend, { secret: SECRET });
    expect(same.session.get("x")).toBe(1);
    expect((await nextRequest(engine, same.session)).key).toBe(same.key);

    for (const stored of ["f".repeat(64), undefined, ["x"], 42]) {
      const data: Record<string, unknown> = {
        [SESSION_KEY]: alice.id,
        [BACKEND_SESSION_KEY]: backend.id,
        x: 1,
      };
      if (stored !== undefined) data[HASH_SESSION_KEY] = stored;
      const { key, session } = await saved(engine, data);
      await login(session, alice, backend, { secret: SECRET });
      expect(session.get("x")).toBeUndefined();
      expect(session.get(HASH_SESSION_KEY)).toBe(hash);
      expect((await nextRequest(engine, session)).key).not.toBe(key);
    }
  });

  it("writes the id as a string, whatever the user's id type (AU-7), and does not check isActive (AU-9)", async () => {
    const { engine } = await world();
    const session = await engine.load(undefined);
    const numeric = { id: 7, passwordHash: "x", isActive: false };
    await login(session, numeric, "custom.Backend", { secret: SECRET });
    expect(session.get(SESSION_KEY)).toBe("7");
    expect(session.get(BACKEND_SESSION_KEY)).toBe("custom.Backend");
    expect(session.get(HASH_SESSION_KEY)).toBe(getSessionAuthHash("x", SECRET));
    const hashless = await engine.load(undefined);
    await login(hashless, { id: "u-1" }, "custom.Backend", { secret: SECRET });
    expect(hashless.get(HASH_SESSION_KEY)).toBe("");
    for (const bad of [{ id: 1.5 }, { id: "" }, { id: null }, { id: { $ne: null } }]) {
      await expect(
        login(await engine.load(undefined), bad as never, "b", { secret: SECRET }),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    await expect(login(await engine.load(undefined), numeric, "", { secret: SECRET })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(login(await engine.load(undefined), numeric, "b", { secret: "" })).rejects.toBeInstanceOf(
      ConfigError,
    );
  });

  it("updates lastLogin and calls onLogin when asked (AU-10)", async () => {
    const { engine, users, backend, alice } = await world();
    const seen: string[] = [];
    const session = await engine.load(undefined);
    await login(session, alice, backend, {
      secret: SECRET,
      users,
      now: () => 1_700_000_000_000,
      onLogin: ({ user, backendId }) => {
        seen.push(`${user.username}@${backendId}`);
      },
    });
    expect((await users.findById(alice.id))?.lastLogin).toBe(1_700_000_000_000);
    expect(seen).toEqual([`alice@${backend.id}`]);
  });
});

describe("getUser", () => {
  it("answers anonymous without a flush when the ids are missing (AU-13)", async () => {
    const { engine, backend } = await world();
    for (const data of [
      {},
      { [SESSION_KEY]: "1" },
      { [BACKEND_SESSION_KEY]: backend.id },
      { [SESSION_KEY]: null, [BACKEND_SESSION_KEY]: backend.id },
    ]) {
      const { key, session } = await saved(engine, { ...data, keep: true });
      expect(await getUser(session, [backend], { secret: SECRET })).toBeNull();
      expect(session.get("keep")).toBe(true);
      expect((await nextRequest(engine, session)).key).toBe(key);
    }
  });

  it("answers anonymous without a flush for a backend that is not configured, by exact own id (AU-14, LIFE-10, DATA-018)", async () => {
    const { engine, backend, alice } = await world();
    const events: AuthEvent[] = [];
    const hash = getSessionAuthHash(alice.passwordHash, SECRET);
    for (const backendId of [
      "not.configured.Backend",
      "__proto__",
      "constructor",
      "toString",
      ` ${backend.id}`,
      ["x"],
      1,
    ]) {
      const { key, session } = await saved(engine, {
        [SESSION_KEY]: alice.id,
        [BACKEND_SESSION_KEY]: backendId,
        [HASH_SESSION_KEY]: hash,
      });
      expect(
        await getUser(session, [backend], { secret: SECRET, onEvent: (e) => events.push(e) }),
      ).toBeNull();
      expect(session.get(SESSION_KEY)).toBe(alice.id);
      expect((await nextRequest(engine, session)).key).toBe(key);
    }
    expect(events.every((e) => e.type === "unknown-backend")).toBe(true);
    expect(events).toHaveLength(7);
  });

  it("accepts a session written under one of the backend's aliases", async () => {
    const { engine, users, alice } = await world();
    const backend = createPasswordBackend({
      users,
      hashers,
      id: "porter.auth.PasswordBackend",
      aliases: [DJANGO_MODEL_BACKEND_ID],
    });
    const { session } = await saved(engine, {
      [SESSION_KEY]: alice.id,
      [BACKEND_SESSION_KEY]: DJANGO_MODEL_BACKEND_ID,
      [HASH_SESSION_KEY]: getSessionAuthHash(alice.passwordHash, SECRET),
    });
    expect((await getUser(session, [backend], { secret: SECRET }))?.id).toBe(alice.id);
  });

  it("answers anonymous for a user id of the wrong type without asking the store, and flushes (DATA-021)", async () => {
    const { engine, users, alice } = await world();
    const calls: unknown[] = [];
    const spied: UserStore = {
      ...users,
      findById: (id) => {
        calls.push(id);
        return users.findById(id);
      },
    };
    const backend = createPasswordBackend({ users: spied, hashers });
    for (const id of [{ $ne: null }, ["1"], true, 1.5, "", "x".repeat(2000)]) {
      const { session } = await saved(engine, {
        [SESSION_KEY]: id,
        [BACKEND_SESSION_KEY]: backend.id,
        [HASH_SESSION_KEY]: getSessionAuthHash(alice.passwordHash, SECRET),
      });
      expect(await getUser(session, [backend], { secret: SECRET })).toBeNull();
      expect(session.key).toBeNull();
    }
    expect(calls).toEqual([]);
    // A number is what Django's int primary key reads back as: accepted as its string.
    const { session } = await saved(engine, {
      [SESSION_KEY]: 1,
      [BACKEND_SESSION_KEY]: backend.id,
      [HASH_SESSION_KEY]: getSessionAuthHash(alice.passwordHash, SECRET),
    });
    expect((await getUser(session, [backend], { secret: SECRET }))?.id).toBe("1");
  });

  it("flushes on a missing, wrong-typed or mismatching hash (AU-16, LIFE-09, DATA-020, DATA-023)", async () => {
    const { engine, backend, alice } = await world();
    const hash = getSessionAuthHash(alice.passwordHash, SECRET);
    const flipped = hash.slice(0, -1) + (hash.endsWith("0") ? "1" : "0");
    const events: AuthEvent[] = [];
    for (const stored of [
      undefined,
      "",
      null,
      ["x"],
      { h: hash },
      42,
      flipped,
      hash.toUpperCase(),
      `${hash} `,
    ]) {
      const data: Record<string, unknown> = {
        [SESSION_KEY]: alice.id,
        [BACKEND_SESSION_KEY]: backend.id,
        other: 1,
      };
      if (stored !== undefined) data[HASH_SESSION_KEY] = stored;
      const { key, session } = await saved(engine, data);
      expect(
        await getUser(session, [backend], { secret: SECRET, onEvent: (e) => events.push(e) }),
      ).toBeNull();
      expect(session.key).toBeNull();
      expect(session.keys()).toEqual([]);
      expect((await nextRequest(engine, session)).key).toBeNull();
      expect((await engine.load(key)).keys()).toEqual([]);
    }
    expect(events).toHaveLength(9);
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(["session-hash-mismatch"]));
  });

  it("ends every other session of a user whose password changed, and keeps the changing one (AU-19, AU-20, LIFE-08)", async () => {
    const { engine, users, backend, alice } = await world();
    const s1 = await engine.load(undefined);
    await login(s1, alice, backend, { secret: SECRET });
    const one = await nextRequest(engine, s1);
    const s2 = await engine.load(undefined);
    await login(s2, alice, backend, { secret: SECRET });
    const two = await nextRequest(engine, s2);

    // Request on S1: change the password, then keep S1 alive.
    const me = (await getUser(one.session, [backend], { secret: SECRET }))!;
    const changed = await users.update(me.id, { passwordHash: await hashers.makePassword("new password") });
    updateSessionAuthHash(one.session, changed, { secret: SECRET });
    const oneAfter = await nextRequest(engine, one.session);
    expect(oneAfter.key).not.toBe(one.key);
    expect((await getUser(oneAfter.session, [backend], { secret: SECRET }))?.id).toBe(alice.id);
    expect((await engine.load(one.key!)).keys()).toEqual([]);

    // Next request on S2: anonymous, and its record is gone.
    expect(await getUser(two.session, [backend], { secret: SECRET })).toBeNull();
    const twoAfter = await nextRequest(engine, two.session);
    expect(twoAfter.key).toBeNull();
    expect((await engine.load(two.key!)).keys()).toEqual([]);
  });

  it("updateSessionAuthHash cycles the key but leaves another user's session hash alone", async () => {
    const { engine, backend, alice, bob } = await world();
    const session = await engine.load(undefined);
    await login(session, alice, backend, { secret: SECRET });
    const { key, session: loaded } = await nextRequest(engine, session);
    const before = loaded.get(HASH_SESSION_KEY);
    updateSessionAuthHash(loaded, { ...bob, passwordHash: "changed" }, { secret: SECRET });
    expect(loaded.get(HASH_SESSION_KEY)).toBe(before);
    expect((await nextRequest(engine, loaded)).key).not.toBe(key);
  });

  it("accepts a hash made under a fallback secret, rewrites it and cycles the key; drops it once the fallback is gone (AU-17, LIFE-11)", async () => {
    const { engine, backend, alice } = await world();
    const s = await engine.load(undefined);
    await login(s, alice, backend, { secret: OLD_SECRET });
    const { key, session } = await nextRequest(engine, s);
    const events: AuthEvent[] = [];
    expect(
      (
        await getUser(session, [backend], {
          secret: SECRET,
          fallbackSecrets: [OLD_SECRET],
          onEvent: (e) => events.push(e),
        })
      )?.id,
    ).toBe(alice.id);
    expect(session.get(HASH_SESSION_KEY)).toBe(getSessionAuthHash(alice.passwordHash, SECRET));
    expect(events).toEqual([{ type: "session-hash-rotated", userId: alice.id }]);
    const rotated = await nextRequest(engine, session);
    expect(rotated.key).not.toBe(key);
    expect((await getUser(rotated.session, [backend], { secret: SECRET }))?.id).toBe(alice.id);

    // A session still carrying the old secret's hash, with the fallback removed: anonymous.
    const s2 = await engine.load(undefined);
    await login(s2, alice, backend, { secret: OLD_SECRET });
    const stale = await nextRequest(engine, s2);
    expect(await getUser(stale.session, [backend], { secret: SECRET })).toBeNull();
    expect(stale.session.key).toBeNull();
  });

  it("a disabled or deleted user is anonymous at the next request (AU-15, LIFE-12)", async () => {
    const { engine, users, backend, alice, bob } = await world();
    const sa = await engine.load(undefined);
    await login(sa, alice, backend, { secret: SECRET });
    const a = await nextRequest(engine, sa);
    const sb = await engine.load(undefined);
    await login(sb, bob, backend, { secret: SECRET });
    const b = await nextRequest(engine, sb);
    await users.update(alice.id, { isActive: false });
    await users.delete(bob.id);
    expect(await getUser(a.session, [backend], { secret: SECRET })).toBeNull();
    expect(await getUser(b.session, [backend], { secret: SECRET })).toBeNull();
    // Like Django, the session itself is kept (no flush); it just authenticates nobody.
    expect(a.session.get(SESSION_KEY)).toBe(alice.id);
  });

  it("refuses a bad configuration with ConfigError", async () => {
    const { engine, backend } = await world();
    const session = await engine.load(undefined);
    await expect(getUser(session, [], { secret: SECRET })).rejects.toBeInstanceOf(ConfigError);
    await expect(getUser(session, [backend], { secret: "" })).rejects.toBeInstanceOf(ConfigError);
    await expect(
      getUser(session, [backend], { secret: SECRET, fallbackSecrets: [""] }),
    ).rejects.toBeInstanceOf(ConfigError);
  });
});

describe("logout", () => {
  it("flushes: data gone, key gone, old record deleted, replayed cookie anonymous (AU-12, LIFE-04)", async () => {
    const { engine, backend, alice } = await world();
    const s = await engine.load(undefined);
    await login(s, alice, backend, { secret: SECRET });
    const { key, session } = await nextRequest(engine, s);
    const seen: unknown[] = [];
    await logout(session, { user: alice, onLogout: ({ user }) => void seen.push(user) });
    expect(seen).toEqual([alice]);
    expect(session.key).toBeNull();
    const result = await engine.commit(session);
    expect(result.key).toBeNull();
    expect(result.setCookie).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/);
    const replay = await engine.load(key!);
    expect(await getUser(replay, [backend], { secret: SECRET })).toBeNull();
  });
});

describe("authenticate (the backend chain)", () => {
  const denying: AuthBackend<UserRecord> = {
    id: "deny.Backend",
    authenticate: async () => {
      throw new PermissionDeniedError();
    },
    getUser: async () => null,
  };
  const exploding: AuthBackend<UserRecord> = {
    id: "boom.Backend",
    authenticate: async () => {
      throw new TypeError("bug inside a backend");
    },
    getUser: async () => null,
  };
  const counting = (inner: AuthBackend<UserRecord>) => {
    const wrapped = { ...inner, calls: 0 };
    wrapped.authenticate = (c) => {
      wrapped.calls++;
      return inner.authenticate(c);
    };
    return wrapped;
  };

  it("tries backends in order; null passes on; the first user wins with its backend (AU-3)", async () => {
    const { backend, alice } = await world();
    const nobody: AuthBackend<UserRecord> = {
      id: "nobody",
      authenticate: async () => null,
      getUser: async () => null,
    };
    const result = await authenticate([nobody, backend], { username: "alice", password: "wonderland" });
    expect(result?.user.id).toBe(alice.id);
    expect(result?.backend).toBe(backend);
  });

  it("PermissionDeniedError stops the chain and answers null (AU-4, AUTH-04)", async () => {
    const { backend, alice } = await world();
    const after = counting(backend);
    const failures: Record<string, unknown>[] = [];
    const denied = await authenticate(
      [denying, after],
      { username: "alice", password: "wonderland" },
      {
        onLoginFailed: ({ credentials }) => void failures.push(credentials),
      },
    );
    expect(denied).toBeNull();
    expect(after.calls).toBe(0);
    expect(failures).toEqual([{ username: "alice", password: CLEANSED_SUBSTITUTE }]);
    // Appended, the earlier backend wins.
    expect(
      (await authenticate([backend, denying], { username: "alice", password: "wonderland" }))?.user.id,
    ).toBe(alice.id);
  });

  it("lets any other error from a backend propagate (AU-2)", async () => {
    const { backend } = await world();
    await expect(authenticate([exploding, backend], { username: "alice", password: "x" })).rejects.toThrow(
      TypeError,
    );
  });

  it("cleanses sensitive credentials for onLoginFailed and escapes control characters (AU-5, AUTH-05)", async () => {
    const { backend } = await world();
    const failures: Record<string, unknown>[] = [];
    const credentials = {
      username: "eve\r\nforged: line",
      password: "hunter2",
      api_key: "k",
      Token: "t",
      client_secret: "s",
      Signature: "sig",
      APIversion: "v2",
      remember: true,
    };
    expect(
      await authenticate([backend], credentials, {
        onLoginFailed: ({ credentials: c }) => void failures.push(c),
      }),
    ).toBeNull();
    expect(failures).toHaveLength(1);
    expect({ ...failures[0] }).toEqual({
      username: "eve\\u000d\\u000aforged: line",
      password: "********************",
      api_key: "********************",
      Token: "********************",
      client_secret: "********************",
      Signature: "********************",
      APIversion: "********************",
      remember: true,
    });
    expect(JSON.stringify(failures)).not.toContain("hunter2");
    expect(credentials.password).toBe("hunter2");
  });

  it("beforeAuthenticate sees the normalized username and a denial costs one hash, asks no backend (AUTH-06)", async () => {
    const { backend } = await world();
    const after = counting(backend);
    const limiter = createHashLimiter(1, 10);
    let jobs = 0;
    const countingHashers = createPasswordHashers({
      iterations: 10_000,
      limiter: {
        ...limiter,
        run: (job) => {
          jobs++;
          return limiter.run(job);
        },
      },
    });
    const attempts: unknown[] = [];
    const result = await authenticate(
      [after],
      { username: "ａｌｉｃｅ", password: "wonderland" },
      {
        hashers: countingHashers,
        request: { ip: "203.0.113.9" },
        beforeAuthenticate: (attempt) => {
          attempts.push(attempt);
          return "deny";
        },
      },
    );
    expect(result).toBeNull();
    expect(after.calls).toBe(0);
    expect(jobs).toBe(1);
    expect(attempts).toEqual([
      {
        username: "alice",
        credentials: expect.objectContaining({ password: CLEANSED_SUBSTITUTE }),
        request: { ip: "203.0.113.9" },
      },
    ]);
    const allowed = await authenticate(
      [after],
      { username: "alice", password: "wonderland" },
      {
        beforeAuthenticate: () => undefined,
      },
    );
    expect(allowed?.user.username).toBe("alice");
  });

  it("answers null for credentials that are not an object, and refuses an empty backend list", async () => {
    const { backend } = await world();
    for (const credentials of [null, "alice", ["alice", "wonderland"], 42]) {
      expect(await authenticate([backend], credentials as never)).toBeNull();
    }
    await expect(authenticate([], { username: "alice", password: "wonderland" })).rejects.toBeInstanceOf(
      ConfigError,
    );
  });
});

describe("permissions across backends", () => {
  it("active superusers have all; otherwise any backend's yes wins; PermissionDenied means no (MB-12)", async () => {
    const { users, backend } = await world();
    await users.setGroupPermissions("editors", ["blog.change_post"]);
    const ed = await users.create({
      username: "ed",
      passwordHash: "!",
      groups: ["editors"],
      permissions: ["blog.view_post"],
    });
    const root = await users.create({ username: "root", passwordHash: "!", isSuperuser: true });
    const fallen = await users.create({
      username: "fallen",
      passwordHash: "!",
      isSuperuser: true,
      isActive: false,
    });
    const extra: AuthBackend<UserRecord> = {
      id: "extra",
      authenticate: async () => null,
      getUser: async () => null,
      getPermissions: async () => new Set(["shop.refund"]),
    };
    const veto: AuthBackend<UserRecord> = {
      id: "veto",
      authenticate: async () => null,
      getUser: async () => null,
      getPermissions: async () => {
        throw new PermissionDeniedError();
      },
    };
    expect(await hasPerm(ed, "blog.change_post", [backend])).toBe(true);
    expect(await hasPerm(ed, "shop.refund", [backend])).toBe(false);
    expect(await hasPerm(ed, "shop.refund", [backend, extra])).toBe(true);
    expect(await hasPerm(ed, "shop.refund", [veto, extra])).toBe(false);
    expect(await hasPerm(ed, "blog.view_post", [backend, veto])).toBe(true);
    expect(await hasPerm(root, "any.thing", [veto])).toBe(true);
    expect(await hasPerm(fallen, "any.thing", [backend])).toBe(false);
    expect(await hasPerm(null, "blog.view_post", [backend])).toBe(false);
    expect(await hasPerms(ed, ["blog.view_post", "blog.change_post"], [backend])).toBe(true);
    expect(await hasPerms(ed, new Set(["blog.view_post", "blog.delete_post"]), [backend])).toBe(false);
    expect(await hasModulePerms(ed, "blog", [backend])).toBe(true);
    expect(await hasModulePerms(ed, "shop", [backend])).toBe(false);
    expect(await hasModulePerms(root, "shop", [backend])).toBe(true);
  });

  it("refuses a string or non-iterable perm list (MB-13) and an empty backend list (MB-14)", async () => {
    const { backend, alice } = await world();
    await expect(hasPerms(alice, "blog.view_post" as never, [backend])).rejects.toThrow(
      "perm_list must be an iterable of permissions.",
    );
    await expect(hasPerms(alice, 42 as never, [backend])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(hasPerm(alice, "a.b", [])).rejects.toBeInstanceOf(ConfigError);
  });
});

describe("createAuth", () => {
  it("binds the glue: authenticate, login, getUser, hasPerm, logout", async () => {
    const { engine, users, backend } = await world();
    const failures: unknown[] = [];
    const auth = createAuth({
      backends: [backend],
      secret: SECRET,
      fallbackSecrets: [OLD_SECRET],
      users,
      onLoginFailed: (e) => void failures.push(e),
    });
    expect(await auth.authenticate({ username: "alice", password: "nope" })).toBeNull();
    expect(failures).toHaveLength(1);
    const result = await auth.authenticate({ username: "alice", password: "wonderland" });
    expect(result).not.toBeNull();
    const session = await engine.load(undefined);
    await auth.login(session, result!.user);
    const next = await nextRequest(engine, session);
    const me = await auth.getUser(next.session);
    expect(me?.username).toBe("alice");
    expect(me?.lastLogin).not.toBeNull();
    expect(auth.getSessionAuthHash(me!)).toBe(next.session.get(HASH_SESSION_KEY));
    expect(await auth.hasPerm(me, "x.y")).toBe(false);
    await auth.logout(next.session, me);
    expect(next.session.key).toBeNull();
  });

  it("requires the backend at login when several are configured (AU-8), and distinct backend ids", async () => {
    const { engine, users, backend, alice } = await world();
    const other = createPasswordBackend({ users, hashers, id: "other" });
    const auth = createAuth({ backends: [backend, other], secret: SECRET });
    await expect(auth.login(await engine.load(undefined), alice)).rejects.toThrow(
      /multiple authentication backends/,
    );
    const session = await engine.load(undefined);
    await auth.login(session, alice, other);
    expect(session.get(BACKEND_SESSION_KEY)).toBe("other");
    expect(() => createAuth({ backends: [backend, backend], secret: SECRET })).toThrow(ConfigError);
    expect(() =>
      createAuth({
        backends: [backend, createPasswordBackend({ users, aliases: [backend.id] })],
        secret: SECRET,
      }),
    ).toThrow(ConfigError);
    expect(() => createAuth({ backends: [], secret: SECRET })).toThrow(ConfigError);
    expect(() => createAuth({ backends: [backend], secret: "" })).toThrow(ConfigError);
  });
});
