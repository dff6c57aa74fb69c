import { randomBytes } from "node:crypto";
import { base64UrlDecode, createSessionEngine, jsonCodec, PorterError } from "@porter/core";
import { describe, expect, it } from "vitest";
import {
  type CookieSessionEvent,
  type CookieSessionMode,
  createCookieMessageStorage,
  createCookieSessionStore,
  pythonJsonCodec,
  validAfter,
} from "../src/index.js";
import { context, OLD_SECRET, OTHER_SECRET, SECRET } from "./helpers.js";

const MODES: readonly CookieSessionMode[] = ["encrypted", "signed", "django"];
const HOUR = 3_600_000;
const codecFor = (mode: CookieSessionMode) => (mode === "django" ? pythonJsonCodec() : jsonCodec());

describe("configuration", () => {
  it.each([
    ["changeme (CFG-014)", "changeme"],
    ["31 bytes", "x1234567890abcdefghijklmnopqrst"],
    ["a placeholder of one repeated character", "a".repeat(64)],
    ["an empty Uint8Array", new Uint8Array()],
  ])("refuses a weak secret: %s, without echoing it", (_name, secret) => {
    for (const mode of MODES) {
      let error: unknown;
      try {
        createCookieSessionStore({ secret, mode });
      } catch (e) {
        error = e;
      }
      expect(PorterError.is(error, "INVALID_CONFIG")).toBe(true);
      if (typeof secret === "string" && secret.length > 0)
        expect(String((error as Error).message)).not.toContain(secret);
    }
    expect(() => createCookieMessageStorage({ secret })).toThrow(/at least 32 bytes|placeholder/);
  });

  it("refuses a weak fallback secret too", () => {
    expect(() => createCookieSessionStore({ secret: SECRET, fallbackSecrets: ["short"] })).toThrow(
      /fallbackSecrets\[0\]/,
    );
  });

  it.each([-1, 0, Number.NaN, Number.POSITIVE_INFINITY, 1.5, "1e3"])(
    "refuses maxAge %s (CFG-016/017)",
    (maxAge) => {
      expect(() => createCookieSessionStore({ secret: SECRET, maxAge: maxAge as number })).toThrow(/maxAge/);
    },
  );

  it("refuses an unknown mode and a malformed purpose", () => {
    expect(() => createCookieSessionStore({ secret: SECRET, mode: "plain" as CookieSessionMode })).toThrow(
      /mode/,
    );
    expect(() => createCookieSessionStore({ secret: SECRET, purpose: "a b" })).toThrow(/purpose/);
  });
});

describe.each(MODES)("%s mode", (mode) => {
  const make = (options: Partial<Parameters<typeof createCookieSessionStore>[0]> = {}) =>
    createCookieSessionStore({ secret: SECRET, mode, ...options });

  it("rotation: a fallback secret's cookie decodes and needs reissue; once removed it is no session", async () => {
    const now = Date.now();
    const old = await make({ secret: OLD_SECRET }).encode('{"a":1}', now + HOUR);
    const rotating = make({ fallbackSecrets: [OLD_SECRET] });
    expect((await rotating.decode(old))?.data).toBe('{"a":1}');
    expect(rotating.needsReissue(old)).toBe(true);
    // Computed afresh too, when the value was not just decoded by this instance.
    expect(make({ fallbackSecrets: [OLD_SECRET] }).needsReissue(old)).toBe(true);
    const current = await rotating.encode('{"a":1}', now + HOUR);
    expect(rotating.needsReissue(current)).toBe(false);
    expect(make().needsReissue(current)).toBe(false);
    expect(await make().decode(old)).toBeNull();
  });

  it("rotation through the engine: the old cookie is re-issued under the current secret", async () => {
    const codec = codecFor(mode);
    const before = createSessionEngine({ store: make({ secret: OLD_SECRET }), codec });
    const s0 = await before.load(undefined);
    s0.set("user", "alice");
    const oldCookie = /^sessionid=([^;]+)/.exec((await before.commit(s0)).setCookie!)![1]!;

    const events: CookieSessionEvent[] = [];
    const after = createSessionEngine({
      store: make({ fallbackSecrets: [OLD_SECRET], onEvent: (e) => events.push(e) }),
      codec,
    });
    const s1 = await after.load(oldCookie);
    expect(s1.get("user")).toBe("alice");
    const { setCookie } = await after.commit(s1);
    const newCookie = /^sessionid=([^;]+)/.exec(setCookie!)![1]!;
    expect(newCookie).not.toBe(oldCookie);
    expect(events).toContainEqual({ type: "fallback-secret" });
    expect((await make().decode(newCookie))?.data).toContain("alice");
  });

  it("the expiry comes from inside the payload, never from the browser", async () => {
    let now = Date.now();
    const store = make({ clock: () => now, maxAge: 3600 });
    const value = await store.encode('{"a":1}', now + (mode === "django" ? 3600_000 : 60_000));
    expect(await store.decode(value)).not.toBeNull();
    now += mode === "django" ? 3600_001 : 60_000;
    expect(await store.decode(value)).toBeNull();
  });

  it("a value issued more than 60 s in the future is refused (SIGN-05)", async () => {
    const now = Date.now();
    const lifetime = 1_209_600_000;
    const future = await make({ clock: () => now + 120_000 }).encode('{"a":1}', now + 120_000 + lifetime);
    expect(await make({ clock: () => now }).decode(future)).toBeNull();
    const skewed = await make({ clock: () => now + 30_000 }).encode('{"a":1}', now + 30_000 + lifetime);
    expect(await make({ clock: () => now }).decode(skewed)).not.toBeNull();
  });

  it("encode refuses a cookie over 4096 bytes, standalone and through the engine (COOK-03)", async () => {
    const big = JSON.stringify({ blob: randomBytes(4000).toString("base64url") });
    let error: unknown;
    try {
      await make().encode(big, Date.now() + HOUR);
    } catch (e) {
      error = e;
    }
    expect(PorterError.is(error, "COOKIE_TOO_LARGE")).toBe(true);
    expect((error as { size: number }).size).toBeGreaterThan(4096);
    expect((error as Error).message).toMatch(/\d+ bytes/);

    // A value the store accepts for a short name, refused by the engine for its longer one.
    const store = make({ cookieName: "s" });
    let size = 2000;
    let value = "";
    for (; ; size += 10) {
      value = await store.encode(
        JSON.stringify({ b: "z".repeat(size) }).replace(/z/g, () =>
          String.fromCharCode(65 + Math.floor(Math.random() * 26)),
        ),
        Date.now() + HOUR,
      );
      if (value.length > 4094 - 40) break;
    }
    const engine = createSessionEngine({
      store: { ...store, encode: async () => value },
      cookie: { name: "x".repeat(60) },
    });
    const s = await engine.load(undefined);
    s.set("k", 1);
    await expect(engine.commit(s)).rejects.toMatchObject({ code: "COOKIE_TOO_LARGE" });
  });

  it("survives 100 000 malformed values in one process (SIGN-03)", async () => {
    const store = make();
    const valid = await store.encode('{"a":1}', Date.now() + HOUR);
    let nulls = 0;
    for (let i = 0; i < 100_000; i++) {
      const cut = valid.slice(0, i % valid.length) + (i % 3 === 0 ? ":" : "");
      if ((await store.decode(cut)) === null) nulls++;
    }
    expect(nulls).toBe(100_000);
  }, 60_000);

  it("events carry no cookie value and no secret", async () => {
    const events: unknown[] = [];
    const store = make({ onEvent: (e) => events.push(e), fallbackSecrets: [OLD_SECRET] });
    const value = await make({ secret: OLD_SECRET }).encode('{"a":1}', Date.now() + HOUR);
    await store.decode(value);
    await store.decode(`${value}x`);
    await store.decode("garbage");
    const text = JSON.stringify(events);
    expect(events.length).toBe(3);
    for (const needle of [SECRET, OLD_SECRET, value.slice(0, 20)]) expect(text).not.toContain(needle);
  });

  it("a value made by a store with another purpose never decodes here", async () => {
    if (mode === "django") {
      // Django's salt is fixed; purposes do not apply. Another secret is the separation here.
      expect(
        await make().decode(await make({ secret: OTHER_SECRET }).encode("{}", Date.now() + HOUR)),
      ).toBeNull();
      return;
    }
    const other = await make({ purpose: "remember-me" }).encode('{"a":1}', Date.now() + HOUR);
    expect(await make().decode(other)).toBeNull();
    expect((await make({ purpose: "remember-me" }).decode(other))?.data).toBe('{"a":1}');
  });

  it("a message cookie made with the same secret is never a session (HKDF/salt contexts are distinct)", async () => {
    const ctx = context();
    await createCookieMessageStorage({ secret: SECRET }).store(ctx, [{ level: 20, message: "hi" }]);
    expect(await make().decode(ctx.cookies.sent("messages")!)).toBeNull();
  });

  it("cookies of the other modes are refused (no downgrade, SIGN-12)", async () => {
    for (const other of MODES) {
      if (other === mode) continue;
      const value = await createCookieSessionStore({ secret: SECRET, mode: other }).encode(
        '{"k":"v"}',
        Date.now() + HOUR,
      );
      expect(await make().decode(value)).toBeNull();
    }
  });

  it("LIFE-13 / SIGN-09: validAfter makes 'log out everywhere' reach copies of the cookie", async () => {
    let now = 1_750_000_000_000;
    const revoked = new Map<string, number>();
    const codec = codecFor(mode);
    const store = make({
      clock: () => now,
      codec,
      isValid: validAfter({ revokedAt: (id) => revoked.get(id) }),
    });
    const engine = createSessionEngine({ store, codec, clock: () => now });

    const s = await engine.load(undefined);
    s.set("_auth_user_id", "42");
    s.set("cart", [1]);
    const stolen = /^sessionid=([^;]+)/.exec((await engine.commit(s)).setCookie!)![1]!;
    const anonymous = await engine.load(undefined);
    anonymous.set("cart", [2]);
    const anonCookie = /^sessionid=([^;]+)/.exec((await engine.commit(anonymous)).setCookie!)![1]!;

    now += 5_000;
    expect((await engine.load(stolen)).get("_auth_user_id")).toBe("42");
    revoked.set("42", now);
    now += 1_000;
    expect((await engine.load(stolen)).isEmpty).toBe(true);
    expect(await store.decode(stolen)).toBeNull();
    // Sessions of nobody in particular are untouched.
    expect((await engine.load(anonCookie)).get("cart")).toEqual([2]);

    // Logging in again after the revocation works.
    const fresh = await engine.load(undefined);
    fresh.set("_auth_user_id", "42");
    const again = /^sessionid=([^;]+)/.exec((await engine.commit(fresh)).setCookie!)![1]!;
    expect((await engine.load(again)).get("_auth_user_id")).toBe("42");
  });

  it("isValid that throws fails closed: decode and the engine's load reject StoreUnavailableError (REL-01), never a session", async () => {
    const store = make({
      isValid: () => {
        throw new Error("revocation list unreachable");
      },
    });
    const value = await store.encode(codecFor(mode).encode({ _auth_user_id: "1" }), Date.now() + HOUR);
    await expect(store.decode(value)).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
    await expect(createSessionEngine({ store, codec: codecFor(mode) }).load(value)).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
    });
  });
});

describe("what the client can see", () => {
  it("signed and django modes are readable by the user; encrypted mode is not", async () => {
    const data = '{"secret_note":"visible"}';
    for (const mode of MODES) {
      const value = await createCookieSessionStore({ secret: SECRET, mode }).encode(data, Date.now() + HOUR);
      const first = value.replace(/^(s1\.|v1\.)/, "").split(/[:]/)[0]!;
      const bytes = base64UrlDecode(first);
      const visible = bytes !== null && Buffer.from(bytes).toString("latin1").includes("visible");
      expect(visible).toBe(mode !== "encrypted");
    }
  });
});

describe("encrypted mode nonces", () => {
  it("100 000 encryptions of one plaintext give 100 000 distinct nonces and ciphertexts", async () => {
    const store = createCookieSessionStore({ secret: SECRET });
    const nonces = new Set<string>();
    const values = new Set<string>();
    const expiresAt = Date.now() + HOUR;
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) {
      const value = await store.encode('{"user":"alice"}', expiresAt);
      values.add(value);
      nonces.add(Buffer.from(base64UrlDecode(value.slice(3))!.subarray(0, 12)).toString("hex"));
    }
    const ms = performance.now() - started;
    expect(nonces.size).toBe(100_000);
    expect(values.size).toBe(100_000);
    console.info(`100 000 encryptions in ${ms.toFixed(0)} ms`);
    // About 1.5 s on an idle 2-core machine; the bound only catches something pathological.
    expect(ms).toBeLessThan(60_000);
  }, 120_000);
});

describe("throughput of a ~1 KB session (encode + decode)", () => {
  it.each(MODES)(
    "%s",
    async (mode) => {
      const session: Record<string, unknown> = {
        _auth_user_id: "12345",
        _auth_user_backend: "porter.PasswordBackend",
      };
      for (let i = 0; session && JSON.stringify(session).length < 1000; i++)
        session[`item${i}`] = { id: i, name: `product ${i}`, qty: i % 5 };
      const text = codecFor(mode).encode(session);
      const store = createCookieSessionStore({ secret: SECRET, mode, fallbackSecrets: [OLD_SECRET] });
      const expiresAt = Date.now() + HOUR;
      const rounds = 5_000;
      for (let i = 0; i < 500; i++) await store.decode(await store.encode(text, expiresAt));
      const started = performance.now();
      for (let i = 0; i < rounds; i++) {
        const decoded = await store.decode(await store.encode(text, expiresAt));
        if (decoded === null) throw new Error("round trip failed");
      }
      const opsPerSecond = rounds / ((performance.now() - started) / 1000);
      console.info(`${mode}: ${text.length}-byte session, ${opsPerSecond.toFixed(0)} encode+decode/s`);
      expect(opsPerSecond).toBeGreaterThan(500);
    },
    60_000,
  );
});
