import { describe, expect, it, vi } from "vitest";
import { createManualClock } from "../src/conformance/runner.js";
import type { ClientSessionStore, SessionCodec, SessionStore } from "../src/contracts.js";
import { PorterError, SessionInterruptedError } from "../src/errors.js";
import {
  cookieSerializer,
  parseCookieHeader,
  serializeCookie,
  validateCookieOptions,
} from "../src/session/cookies.js";
import { createSessionEngine, type SessionEngineOptions } from "../src/session/engine.js";
import { hashSessionKey, isSessionKey, newSessionKey } from "../src/session/keys.js";
import { createMemorySessionStore } from "../src/stores/memory-session-store.js";
import { badInputs } from "./bad-inputs.js";

const plainJson: SessionCodec = {
  name: "test-json",
  encode: (data) => JSON.stringify(data),
  decode: (text) => JSON.parse(text) as Record<string, unknown>,
};

/** Counts every call a store receives: the engine's round trips, measured at the contract. */
function counting(store: SessionStore) {
  const calls: string[] = [];
  const count =
    <A extends unknown[], R>(name: string, fn: (...args: A) => R) =>
    (...args: A): R => {
      calls.push(name);
      return fn(...args);
    };
  const wrapped: SessionStore = {
    contractVersion: 1,
    capabilities: store.capabilities,
    get: count("get", store.get),
    create: count("create", store.create),
    update: count("update", store.update),
    touch: count("touch", store.touch!),
    delete: count("delete", store.delete),
    clearExpired: count("clearExpired", store.clearExpired!),
  };
  return { store: wrapped, calls, reset: () => calls.splice(0) };
}

function setup(options: Partial<SessionEngineOptions> = {}) {
  const clock = createManualClock(Date.UTC(2026, 0, 1));
  const memory = createMemorySessionStore({ clock: clock.now });
  const counted = counting(memory);
  const engine = createSessionEngine({
    store: counted.store,
    codec: plainJson,
    clock: clock.now,
    ...options,
  });
  return { clock, memory, engine, ...counted };
}

function cookieValue(setCookie: string | null): string | undefined {
  if (setCookie === null) return undefined;
  return setCookie.slice(setCookie.indexOf("=") + 1, setCookie.indexOf(";"));
}

describe("session keys", () => {
  it("are 32 characters of [a-z0-9] from the CSPRNG, unique over 100 000", () => {
    const keys = new Set<string>();
    const counts = new Map<string, number>();
    let malformed = 0;
    for (let i = 0; i < 100_000; i++) {
      const key = newSessionKey();
      if (!/^[a-z0-9]{32}$/.test(key)) malformed++;
      keys.add(key);
      if (i < 20_000) for (const ch of key) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    expect(malformed).toBe(0);
    expect(keys.size).toBe(100_000);
    // χ² over the 36 characters (35 degrees of freedom); p > 0.001 ⇔ χ² < 66.6.
    const total = 20_000 * 32;
    const expected = total / 36;
    let chi = 0;
    for (const ch of "abcdefghijklmnopqrstuvwxyz0123456789")
      chi += ((counts.get(ch) ?? 0) - expected) ** 2 / expected;
    expect(chi).toBeLessThan(66.6);
  });

  it("do not depend on Math.random", () => {
    const spy = vi.spyOn(Math, "random").mockReturnValue(0.5);
    try {
      const keys = new Set(Array.from({ length: 1000 }, newSessionKey));
      expect(keys.size).toBe(1000);
    } finally {
      spy.mockRestore();
    }
  });

  it("reach the store only as a one-way hash by default", async () => {
    const { engine, memory } = setup();
    const session = await engine.load(undefined);
    session.set("a", 1);
    const { setCookie, key } = await engine.commit(session);
    expect(key).not.toBeNull();
    expect(cookieValue(setCookie)).toBe(key);
    expect(await memory.get(hashSessionKey(key!))).not.toBeNull();
    // The stored id used as a cookie is no session (KEY-037).
    const replay = await engine.load(hashSessionKey(key!));
    expect(replay.key).toBeNull();
    expect(replay.get("a")).toBeUndefined();
  });

  it("reach the store as is with hashKeys: false (Django-table mode)", async () => {
    const { engine, memory } = setup({ hashKeys: false });
    const session = await engine.load(undefined);
    session.set("a", 1);
    const { key } = await engine.commit(session);
    expect(await memory.get(key!)).not.toBeNull();
  });
});

describe("round trips", () => {
  it("no cookie: zero store calls, and an untouched anonymous session writes nothing", async () => {
    const { engine, calls } = setup();
    const session = await engine.load(undefined);
    const result = await engine.commit(session);
    expect(calls).toEqual([]);
    expect(result.setCookie).toBeNull();
    expect(result.vary).toBe(false);
  });

  it("reading an anonymous session writes nothing but varies on Cookie", async () => {
    const { engine, calls } = setup();
    const session = await engine.load(undefined);
    expect(session.get("anything")).toBeUndefined();
    const result = await engine.commit(session);
    expect(calls).toEqual([]);
    expect(result).toEqual({ setCookie: null, key: null, vary: true });
  });

  it("one create for a new session, one get to load, one update to save, nothing for a read-only request", async () => {
    const { engine, calls, reset } = setup();
    const s1 = await engine.load(undefined);
    s1.set("cart", [1, 2]);
    const r1 = await engine.commit(s1);
    expect(calls).toEqual(["create"]);
    reset();

    const s2 = await engine.load(cookieValue(r1.setCookie));
    expect(s2.get("cart")).toEqual([1, 2]);
    const r2 = await engine.commit(s2);
    expect(calls).toEqual(["get"]);
    expect(r2.setCookie).toBeNull();
    reset();

    const s3 = await engine.load(r1.key!);
    s3.set("cart", [1, 2, 3]);
    await engine.commit(s3);
    expect(calls).toEqual(["get", "update"]);
  });

  it("the Set-Cookie carries Django's defaults plus Secure", async () => {
    const { engine, clock } = setup();
    const session = await engine.load(undefined);
    session.set("a", 1);
    const { setCookie, key } = await engine.commit(session);
    const expires = new Date(clock.now() + 1_209_600_000).toUTCString();
    expect(setCookie).toBe(
      `sessionid=${key}; Expires=${expires}; Max-Age=1209600; Path=/; Secure; HttpOnly; SameSite=Lax`,
    );
  });

  it("expireAtBrowserClose gives a session cookie (no Max-Age, no Expires)", async () => {
    const { engine } = setup();
    const session = await engine.load(undefined);
    session.set("a", 1);
    session.setExpiry(0);
    const { setCookie } = await engine.commit(session);
    expect(setCookie).not.toMatch(/Max-Age|Expires/);
  });

  it("nothing is saved for a 5xx response", async () => {
    const { engine, calls } = setup();
    const session = await engine.load(undefined);
    session.set("a", 1);
    const result = await engine.commit(session, { status: 500 });
    expect(result.setCookie).toBeNull();
    expect(calls).toEqual([]);
  });

  it("saveEveryRequest writes an unmodified session", async () => {
    const { engine, calls, reset } = setup({ saveEveryRequest: true });
    const s1 = await engine.load(undefined);
    s1.set("a", 1);
    const { key } = await engine.commit(s1);
    reset();
    const s2 = await engine.load(key!);
    const r2 = await engine.commit(s2);
    expect(calls).toEqual(["get", "update"]);
    expect(r2.setCookie).not.toBeNull();
  });
});

describe("keys from outside", () => {
  it("hostile and malformed cookie values never reach the store and never throw", async () => {
    const { engine, calls } = setup();
    const values = badInputs("session-key")
      .map((entry) => entry.value)
      .filter((v): v is string => typeof v === "string" && !v.includes("{{"));
    expect(values.length).toBeGreaterThan(15);
    for (const value of values) {
      const session = await engine.load(value);
      expect(session.key).toBeNull();
      expect(session.isEmpty).toBe(true);
      const result = await engine.commit(session);
      if (value !== "")
        expect(result.setCookie).toMatch(/^sessionid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0/);
    }
    for (const value of [{ $ne: null }, ["x"], 42, null]) {
      const session = await engine.load(value as never);
      expect(session.key).toBeNull();
    }
    expect(calls).toEqual([]);
  });

  it("a live key with changed case, a trailing NUL or a suffix is no session (KEY-036/038/034)", async () => {
    const { engine, calls, reset } = setup();
    const s = await engine.load(undefined);
    s.set("a", 1);
    const { key } = await engine.commit(s);
    reset();
    for (const variant of [key!.toUpperCase(), `${key}\u0000`, `${key}.tmp`, ` ${key}`]) {
      const loaded = await engine.load(variant);
      expect(loaded.key).toBeNull();
    }
    expect(calls).toEqual([]);
  });

  it("an unknown well-formed key is never adopted and creates no record", async () => {
    const { engine, memory, calls } = setup();
    const planted = newSessionKey();
    for (let i = 0; i < 10_000; i++) await engine.commit(await engine.load(newSessionKey()));
    expect(memory.size).toBe(0);
    const session = await engine.load(planted);
    expect(session.key).toBeNull();
    session.set("x", 1);
    const { key } = await engine.commit(session);
    expect(key).not.toBe(planted);
    expect(await memory.get(hashSessionKey(planted))).toBeNull();
    expect(calls.filter((c) => c !== "get")).toEqual(["create"]);
  });

  it("a corrupt record is no session", async () => {
    const { engine, memory } = setup();
    const key = newSessionKey();
    await memory.create(hashSessionKey(key), "{not json", Date.now() + 1e9);
    const events: string[] = [];
    const withEvents = createSessionEngine({
      store: memory,
      codec: plainJson,
      onEvent: (e) => events.push(e.type),
    });
    const session = await withEvents.load(key);
    expect(session.key).toBeNull();
    expect(events).toContain("corrupt-record");
    void engine;
  });
});

describe("lifecycle", () => {
  async function loggedIn(options: Partial<SessionEngineOptions> = {}) {
    const ctx = setup(options);
    const s = await ctx.engine.load(undefined);
    s.set("user", "alice");
    s.set("cart", [1]);
    const { key } = await ctx.engine.commit(s);
    ctx.reset();
    return { ...ctx, key: key! };
  }

  it("an emptied session deletes its record and its cookie", async () => {
    const { engine, memory, key, calls } = await loggedIn();
    const s = await engine.load(key);
    s.delete("user");
    s.delete("cart");
    const result = await engine.commit(s);
    expect(calls).toEqual(["get", "delete"]);
    expect(result.setCookie).toMatch(
      /^sessionid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=\/; Secure; HttpOnly; SameSite=Lax$/,
    );
    expect(await memory.get(hashSessionKey(key))).toBeNull();
  });

  it("flush deletes the record, nulls the key and sends a deletion cookie", async () => {
    const { engine, memory, key } = await loggedIn();
    const s = await engine.load(key);
    s.flush();
    expect(s.key).toBeNull();
    expect(s.modified && s.accessed).toBe(true);
    const result = await engine.commit(s);
    expect(result.key).toBeNull();
    expect(result.setCookie).toMatch(/Max-Age=0/);
    expect(memory.size).toBe(0);
  });

  it("flush of an anonymous session without a cookie creates nothing and sets no cookie", async () => {
    const { engine, calls } = setup();
    for (let i = 0; i < 1000; i++) {
      const s = await engine.load(undefined);
      s.flush();
      expect((await engine.commit(s)).setCookie).toBeNull();
    }
    expect(calls).toEqual([]);
  });

  it("cycleKey keeps the data under a new key and deletes the old record (create before delete)", async () => {
    const { engine, memory, key, calls } = await loggedIn();
    const s = await engine.load(key);
    s.cycleKey();
    const result = await engine.commit(s);
    expect(calls).toEqual(["get", "create", "delete"]);
    expect(result.key).not.toBe(key);
    expect(await memory.get(hashSessionKey(key))).toBeNull();
    const again = await engine.load(result.key!);
    expect(again.get("cart")).toEqual([1]);
  });

  it("flush then new data (a login as someone else) writes only under a new key", async () => {
    const { engine, memory, key } = await loggedIn();
    const s = await engine.load(key);
    s.flush();
    s.set("user", "bob");
    const result = await engine.commit(s);
    expect(result.key).not.toBe(key);
    expect(await memory.get(hashSessionKey(key))).toBeNull();
    const bob = await engine.load(result.key!);
    expect(bob.get("user")).toBe("bob");
    expect(bob.get("cart")).toBeUndefined();
  });

  it("rolling expiry touches only once the expiry has fallen behind by touchAfter", async () => {
    const { engine, clock, key, calls, reset, memory } = await loggedIn({ touchAfter: 600 });
    clock.advance(599_000);
    let result = await engine.commit(await engine.load(key));
    expect(calls).toEqual(["get"]);
    expect(result.setCookie).toBeNull();
    reset();
    clock.advance(2_000);
    result = await engine.commit(await engine.load(key));
    expect(calls).toEqual(["get", "touch"]);
    expect(result.setCookie).toMatch(/Max-Age=1209600/);
    expect((await memory.get(hashSessionKey(key)))?.expiresAt).toBe(clock.now() + 1_209_600_000);
  });

  it("touchAfter: false keeps Django's fixed expiry", async () => {
    const { engine, clock, key, calls } = await loggedIn({ touchAfter: false });
    clock.advance(86_400_000);
    await engine.commit(await engine.load(key));
    expect(calls).toEqual(["get"]);
  });

  it("an expired session is no session", async () => {
    const { engine, clock, key } = await loggedIn({ maxAge: 60 });
    clock.advance(61_000);
    const s = await engine.load(key);
    expect(s.key).toBeNull();
    expect(s.get("user")).toBeUndefined();
  });

  it("a custom expiry in seconds is what the store and the cookie get", async () => {
    const { engine, clock, memory } = setup();
    const s = await engine.load(undefined);
    s.set("a", 1);
    s.setExpiry(300);
    const { key, setCookie } = await engine.commit(s);
    expect(setCookie).toMatch(/Max-Age=300;/);
    expect((await memory.get(hashSessionKey(key!)))?.expiresAt).toBe(clock.now() + 300_000);
  });
});

describe("no lost writes", () => {
  it("two requests changing different keys both keep their change", async () => {
    const { engine } = setup();
    const s0 = await engine.load(undefined);
    s0.set("base", 0);
    const { key } = await engine.commit(s0);
    const a = await engine.load(key!);
    const b = await engine.load(key!);
    a.set("a", 1);
    b.set("b", 2);
    b.delete("base");
    await engine.commit(a);
    await engine.commit(b);
    const after = await engine.load(key!);
    expect(after.entries()).toEqual([
      ["a", 1],
      ["b", 2],
    ]);
  });

  it("20 concurrent requests each adding a key lose none", async () => {
    const { engine } = setup({ maxConflictRetries: 25 });
    const s0 = await engine.load(undefined);
    s0.set("start", true);
    const { key } = await engine.commit(s0);
    const sessions = await Promise.all(Array.from({ length: 20 }, () => engine.load(key!)));
    for (const [i, s] of sessions.entries()) s.set(`k${i}`, i);
    await Promise.all(sessions.map((s) => engine.commit(s)));
    const after = await engine.load(key!);
    for (let i = 0; i < 20; i++) expect(after.get(`k${i}`)).toBe(i);
  });

  it("a session ended concurrently is a SessionInterruptedError, never resurrected", async () => {
    const { engine, memory } = setup();
    const s0 = await engine.load(undefined);
    s0.set("user", "alice");
    const { key } = await engine.commit(s0);
    const longRequest = await engine.load(key!);
    const logout = await engine.load(key!);
    logout.flush();
    await engine.commit(logout);
    longRequest.set("late", true);
    const error = await engine.commit(longRequest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionInterruptedError);
    expect(PorterError.is(error, "SESSION_INTERRUPTED")).toBe(true);
    expect(memory.size).toBe(0);
  });

  it("gives up with a typed conflict after the configured retries", async () => {
    const memory = createMemorySessionStore();
    // A store where every update loses the race.
    const hostile: SessionStore = {
      ...memory,
      capabilities: memory.capabilities,
      get: memory.get,
      create: memory.create,
      delete: memory.delete,
      update: async (k, r) => {
        const current = await memory.get(k);
        await memory.update(k, current!);
        return memory.update(k, r);
      },
    };
    const engine = createSessionEngine({ store: hostile, codec: plainJson, maxConflictRetries: 3 });
    const s0 = await engine.load(undefined);
    s0.set("a", 1);
    const { key } = await engine.commit(s0);
    const s = await engine.load(key!);
    s.set("b", 2);
    const error = await engine.commit(s).catch((e: unknown) => e);
    expect(PorterError.is(error, "SESSION_CONFLICT")).toBe(true);
  });
});

describe("deadlines and outages", () => {
  it("a store that never answers rejects with StoreUnavailableError at the deadline", async () => {
    const hanging: SessionStore = {
      contractVersion: 1,
      capabilities: { versioned: true, nativeExpiry: false, touch: false, clearExpired: false },
      get: () => new Promise(() => {}),
      create: () => new Promise(() => {}),
      update: () => new Promise(() => {}),
      delete: () => new Promise(() => {}),
    };
    const engine = createSessionEngine({ store: hanging, codec: plainJson, deadlineMs: 200 });
    const started = Date.now();
    const error = await engine.load(newSessionKey()).catch((e: unknown) => e);
    expect(PorterError.is(error, "STORE_UNAVAILABLE")).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("a driver error becomes StoreUnavailableError with the cause, never 'no session'", async () => {
    const cause = new Error("ECONNRESET");
    const failing: SessionStore = {
      contractVersion: 1,
      capabilities: { versioned: true, nativeExpiry: false, touch: false, clearExpired: false },
      get: () => Promise.reject(cause),
      create: () => Promise.reject(cause),
      update: () => Promise.reject(cause),
      delete: () => Promise.reject(cause),
    };
    const engine = createSessionEngine({ store: failing, codec: plainJson });
    const error = await engine.load(newSessionKey()).catch((e: unknown) => e);
    expect(PorterError.is(error, "STORE_UNAVAILABLE")).toBe(true);
    expect((error as Error).cause).toBe(cause);
    expect(String(error)).not.toMatch(/[a-z0-9]{32}/);
  });
});

describe("client-side stores", () => {
  const client = (): ClientSessionStore => ({
    contractVersion: 1,
    clientSide: true,
    encode: async (data, expiresAt) => Buffer.from(JSON.stringify({ data, expiresAt })).toString("base64url"),
    decode: async (value) => {
      try {
        const parsed = JSON.parse(Buffer.from(value, "base64url").toString()) as {
          data: string;
          expiresAt: number;
        };
        return typeof parsed.data === "string" ? parsed : null;
      } catch {
        return null;
      }
    },
  });

  it("the cookie holds the session; garbage is no session; an emptied session deletes the cookie", async () => {
    const engine = createSessionEngine({ store: client(), codec: plainJson });
    const s = await engine.load(undefined);
    s.set("a", 1);
    const { setCookie } = await engine.commit(s);
    const value = cookieValue(setCookie)!;
    const loaded = await engine.load(value);
    expect(loaded.get("a")).toBe(1);
    const garbage = await engine.load("%%%garbage");
    expect(garbage.isEmpty).toBe(true);
    loaded.clear();
    expect((await engine.commit(loaded)).setCookie).toMatch(/Max-Age=0/);
  });

  it("refuses a cookie over the browser's 4096-byte limit with a typed error naming the size", async () => {
    const engine = createSessionEngine({ store: client(), codec: plainJson });
    const s = await engine.load(undefined);
    s.set("big", "x".repeat(5000));
    const error = await engine.commit(s).catch((e: unknown) => e);
    expect(PorterError.is(error, "COOKIE_TOO_LARGE")).toBe(true);
    expect(String(error)).toMatch(/\d{4,} bytes/);
  });
});

describe("cookies", () => {
  it("serializes every attribute", () => {
    const header = serializeCookie(
      "__Host-s",
      "v",
      { maxAge: 10, path: "/", secure: true, httpOnly: true, sameSite: "Strict", partitioned: true },
      0,
    );
    expect(header).toBe(
      "__Host-s=v; Expires=Thu, 01 Jan 1970 00:00:10 GMT; Max-Age=10; Path=/; Secure; HttpOnly; SameSite=Strict; Partitioned",
    );
    expect(serializeCookie("a", "b", { domain: "example.com" })).toBe("a=b; Domain=example.com; Path=/");
  });

  it("the hot-path serializer writes exactly what serializeCookie writes", () => {
    const options = {
      domain: "example.com",
      path: "/app",
      secure: true,
      httpOnly: true,
      sameSite: "Strict" as const,
    };
    const fast = cookieSerializer("sid", options);
    for (const now of [0, 999, 1000, 1_700_000_000_123, 1_700_000_000_999, 1_700_000_001_000]) {
      for (const maxAge of [undefined, 0, 1, 300, 1_209_600]) {
        const slow = serializeCookie(
          "sid",
          "abc",
          maxAge === undefined ? options : { ...options, maxAge },
          now,
        );
        expect(fast("abc", maxAge, now)).toBe(slow);
      }
    }
    expect(() => fast("a;b", 10, 0)).toThrow();
  });

  it("refuses names and attributes that could inject other attributes (COOK-02)", () => {
    for (const name of ["a;b", "a=b", "a b", "a\r\nSet-Cookie: x", ""]) {
      expect(() => validateCookieOptions(name, {})).toThrow(/cookie name/);
    }
    expect(() => validateCookieOptions("s", { path: "/;Domain=evil.com" })).toThrow();
    expect(() => validateCookieOptions("s", { domain: "evil.com; Secure" })).toThrow();
    expect(() => validateCookieOptions("__Host-s", { secure: true, domain: "example.com" })).toThrow();
    expect(() => validateCookieOptions("__Secure-s", { secure: false })).toThrow();
    expect(() => validateCookieOptions("s", { sameSite: "None", secure: false })).toThrow();
    expect(() =>
      createSessionEngine({ store: createMemorySessionStore(), cookie: { name: "bad name" } }),
    ).toThrow();
  });

  it("parses garbage headers without throwing", () => {
    expect(parseCookieHeader("a=1; b=2; a=3")).toEqual(
      new Map([
        ["a", "1"],
        ["b", "2"],
      ]),
    );
    expect(parseCookieHeader('q="quoted"; ;;; =novalue; noequals; x=')).toEqual(
      new Map([
        ["q", "quoted"],
        ["x", ""],
      ]),
    );
    for (const garbage of ["", ";", "===", "\u0000=\u0000", "a".repeat(100_000), "😀=😀", undefined, null]) {
      expect(() => parseCookieHeader(garbage as string)).not.toThrow();
    }
  });

  it("loads the session named in a Cookie header", async () => {
    const { engine } = setup();
    const s = await engine.load(undefined);
    s.set("a", 1);
    const { key } = await engine.commit(s);
    const loaded = await engine.loadFromHeader(`csrftoken=x; sessionid=${key}; other=y`);
    expect(loaded.get("a")).toBe(1);
    expect(isSessionKey(loaded.key)).toBe(true);
  });
});

describe("the default codec", () => {
  it("round-trips Date, BigInt, Map, Set and bytes through a store, and refuses nothing it can carry", async () => {
    const engine = createSessionEngine({ store: createMemorySessionStore() });
    const s = await engine.load(undefined);
    const value = {
      at: new Date("2026-01-02T03:04:05.678Z"),
      big: 2n ** 70n,
      map: new Map<string, unknown>([["k", new Set([1, "two"])]]),
      bytes: new Uint8Array([0, 255, 7]),
    };
    s.set("v", value);
    const { key } = await engine.commit(s);
    const loaded = await engine.load(key!);
    expect(loaded.get("v")).toEqual(value);
  });
});

describe("client-side store outages", () => {
  it("a decode that could not ask (StoreUnavailableError) rejects load; other decode errors are no session", async () => {
    const { StoreUnavailableError } = await import("../src/errors.js");
    const failing = (error: unknown): ClientSessionStore => ({
      contractVersion: 1,
      clientSide: true,
      encode: async () => "x",
      decode: async () => {
        throw error;
      },
    });
    const down = createSessionEngine({
      store: failing(new StoreUnavailableError("revocation list down")),
      codec: plainJson,
    });
    await expect(down.load("value")).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
    const broken = createSessionEngine({ store: failing(new Error("bug")), codec: plainJson });
    expect((await broken.load("value")).isEmpty).toBe(true);
  });
});
