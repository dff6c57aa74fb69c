import { createSessionEngine } from "@porter/core";
import { describe, expect, it } from "vitest";
import { createCookieSessionStore, pythonJsonCodec } from "../src/index.js";
import { DJANGO_SECRET, META, vectorsOf } from "./helpers.js";

const TWO_WEEKS = 1_209_600;
const codec = pythonJsonCodec();

function djangoStore(secret: string, nowMs: number, maxAge = TWO_WEEKS) {
  return createCookieSessionStore({ secret, mode: "django", maxAge, clock: () => nowMs });
}

describe("sessions.signed_cookies.cookie_value: Porter's django mode writes Django's cookie byte for byte", () => {
  for (const v of vectorsOf("sessions.signed_cookies.cookie_value")) {
    const { session, secret_key, timestamp } = v.inputs as {
      session: Record<string, unknown>;
      secret_key: string;
      timestamp: number;
    };
    it(`${v.id} (store.encode)`, async () => {
      const store = djangoStore(secret_key, timestamp * 1000);
      expect(await store.encode(codec.encode(session), (timestamp + TWO_WEEKS) * 1000)).toBe(v.expected);
    });
    it(`${v.id} (through the session engine)`, async () => {
      const clock = () => timestamp * 1000;
      const store = djangoStore(secret_key, timestamp * 1000);
      const engine = createSessionEngine({ store, codec, clock, maxAge: TWO_WEEKS });
      const s = await engine.load(undefined);
      for (const [k, value] of Object.entries(session)) s.set(k, value);
      const { setCookie } = await engine.commit(s);
      if (Object.keys(session).length === 0) {
        expect(setCookie).toBeNull();
      } else {
        expect(setCookie).toMatch(new RegExp(`^sessionid=${(v.expected as string).replace(/[.]/g, "\\.")};`));
      }
    });
  }
});

describe("sessions.signed_cookies.load: Django's cookie read with max_age = SESSION_COOKIE_AGE", () => {
  for (const v of vectorsOf("sessions.signed_cookies.load")) {
    const { cookie_value, secret_key, now, session_cookie_age } = v.inputs as {
      cookie_value: string;
      secret_key: string;
      now: number;
      session_cookie_age: number;
    };
    const expected = v.expected as Record<string, unknown>;
    it(`${v.id} (store.decode)`, async () => {
      const decoded = await djangoStore(secret_key, now * 1000, session_cookie_age).decode(cookie_value);
      if (Object.keys(expected).length === 0) expect(decoded).toBeNull();
      else expect(codec.decode(decoded!.data)).toEqual(expected);
    });
    it(`${v.id} (through the session engine)`, async () => {
      const store = djangoStore(secret_key, now * 1000, session_cookie_age);
      const engine = createSessionEngine({
        store,
        codec,
        clock: () => now * 1000,
        maxAge: session_cookie_age,
      });
      const s = await engine.load(cookie_value);
      expect(Object.fromEntries(s.entries())).toEqual(expected);
    });
  }
});

describe("crossversion.signed_cookie_session: cookies from every Django version decode", () => {
  for (const v of vectorsOf("crossversion.signed_cookie_session")) {
    const { value } = v.inputs as { value: string };
    it(`${v.id}`, async () => {
      const decoded = await djangoStore(DJANGO_SECRET, META.fixed_timestamp * 1000).decode(value);
      expect(decoded).not.toBeNull();
      expect(codec.decode(decoded!.data)).toEqual((v.expected as { ok: unknown }).ok);
    });
  }
});
