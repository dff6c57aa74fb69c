/**
 * One test per vector of real Django session output (3.2, 4.2, 5.2, 6.1): `djangoCodec` writes
 * the bytes Django writes and reads what every Django version wrote; the signed_cookies backend's
 * value through `dumps`/`loads`.
 */
import { describe, expect, it } from "vitest";
import {
  DJANGO_SESSION_SALT,
  DJANGO_SIGNED_COOKIES_SALT,
  djangoCodec,
  djangoSessionKeySalt,
} from "../src/codec/index.js";
import type { SessionData } from "../src/contracts.js";
import { PorterError } from "../src/errors.js";
import { dumps, dumpsPayload, loads } from "../src/signing/index.js";
import { vectorMeta, vectorsOf } from "./vectors.js";

const at = (seconds: number) => () => seconds;
const SESSION_COOKIE_AGE = 1_209_600;

/** Django's `SessionBase.decode`: any failure is an empty session (the engine does this with DecodeError). */
function decodeOrEmpty(decode: () => SessionData): SessionData {
  try {
    return decode();
  } catch (error) {
    expect(PorterError.is(error, "DECODE_FAILED")).toBe(true);
    return {};
  }
}

/** The signed_cookies backend's `load`: `loads(max_age=SESSION_COOKIE_AGE)`, any failure → `{}`. */
function loadSignedCookie(value: string, secret: string, now: number, maxAge = SESSION_COOKIE_AGE): unknown {
  try {
    return loads(value, { key: secret, salt: DJANGO_SIGNED_COOKIES_SALT, maxAge, now: at(now) });
  } catch (error) {
    expect(PorterError.is(error, "BAD_SIGNATURE") || PorterError.is(error, "SIGNATURE_EXPIRED")).toBe(true);
    return {};
  }
}

describe("sessions.key_salt", () => {
  it.each(vectorsOf("sessions.key_salt"))("$id", (v) => {
    expect(djangoSessionKeySalt()).toBe(v.expected);
    expect(DJANGO_SESSION_SALT).toBe(v.expected);
  });
});

describe("sessions.encode", () => {
  it.each(vectorsOf("sessions.encode"))("$id", (v) => {
    const i = v.inputs as {
      session: SessionData;
      secret_key: string;
      timestamp: number;
      payload_json: string;
    };
    const codec = djangoCodec({ secret: i.secret_key, now: at(i.timestamp) });
    expect(codec.encode(i.session)).toBe(v.expected);
    expect(
      dumpsPayload(i.payload_json, {
        key: i.secret_key,
        salt: DJANGO_SESSION_SALT,
        compress: true,
        now: at(i.timestamp),
      }),
    ).toBe(v.expected);
    expect(codec.decode(v.expected as string)).toEqual(i.session);
  });
});

describe("sessions.decode", () => {
  it.each(vectorsOf("sessions.decode"))("$id", (v) => {
    const i = v.inputs as { data: string; secret_key: string };
    const codec = djangoCodec({ secret: i.secret_key });
    expect(decodeOrEmpty(() => codec.decode(i.data))).toEqual(v.expected);
  });
});

describe("sessions.signed_cookies.cookie_value", () => {
  it.each(vectorsOf("sessions.signed_cookies.cookie_value"))("$id", (v) => {
    const i = v.inputs as { session: SessionData; secret_key: string; timestamp: number };
    expect(
      dumps(i.session, {
        key: i.secret_key,
        salt: DJANGO_SIGNED_COOKIES_SALT,
        compress: true,
        now: at(i.timestamp),
      }),
    ).toBe(v.expected);
    const codec = djangoCodec({
      secret: i.secret_key,
      salt: DJANGO_SIGNED_COOKIES_SALT,
      now: at(i.timestamp),
    });
    expect(codec.encode(i.session)).toBe(v.expected);
    expect(loadSignedCookie(v.expected as string, i.secret_key, i.timestamp)).toEqual(i.session);
  });
});

describe("sessions.signed_cookies.load", () => {
  it.each(vectorsOf("sessions.signed_cookies.load"))("$id", (v) => {
    const i = v.inputs as {
      cookie_value: string;
      secret_key: string;
      now: number;
      session_cookie_age: number;
    };
    expect(loadSignedCookie(i.cookie_value, i.secret_key, i.now, i.session_cookie_age)).toEqual(v.expected);
  });
});

describe("crossversion.session", () => {
  const codec = djangoCodec({ secret: vectorMeta.secret_key });
  it.each(vectorsOf("crossversion.session"))("$id", (v) => {
    const i = v.inputs as { value: string };
    expect(decodeOrEmpty(() => codec.decode(i.value))).toEqual((v.expected as { ok: unknown }).ok);
  });
});

describe("crossversion.signed_cookie_session", () => {
  it.each(vectorsOf("crossversion.signed_cookie_session"))("$id", (v) => {
    const i = v.inputs as { value: string };
    expect(loadSignedCookie(i.value, vectorMeta.secret_key, vectorMeta.fixed_timestamp)).toEqual(
      (v.expected as { ok: unknown }).ok,
    );
  });
});
