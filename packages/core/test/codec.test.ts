/**
 * The session codecs: `jsonCodec` (the default) and `djangoCodec`. Round-trip fidelity, the
 * unambiguous tag encoding, prototype-pollution immunity, bounds, and the `session-data` entries
 * of the hostile-input corpus that concern a codec.
 */
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { DJANGO_SESSION_SALT, djangoCodec, JSON_CODEC_TAG, jsonCodec } from "../src/codec/index.js";
import type { SessionCodec, SessionData } from "../src/contracts.js";
import { base64UrlEncode } from "../src/crypto/primitives.js";
import { ConfigError, DecodeError, InvalidArgumentError, SessionTooLargeError } from "../src/errors.js";
import { dumps, dumpsPayload, pythonFloat, TimestampSigner } from "../src/signing/index.js";
import { badInputs } from "./bad-inputs.js";
import { expectNoForeignPrototypes, randomValues, same } from "./codec-helpers.js";
import { prng } from "./prng.js";

const SECRET = "a-django-secret-key-for-codec-tests-0123456789";
const OLD_SECRET = "an-old-django-secret-key-for-codec-tests-98765";
const T = 1_700_000_000;
const at = (seconds: number) => () => seconds;
const TAG = JSON_CODEC_TAG;

function expectDecodeError(fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(DecodeError);
}

describe("jsonCodec round trips", () => {
  const codec = jsonCodec();
  const roundTrip = (data: SessionData) => codec.decode(codec.encode(data));

  it("plain JSON data is stored as plain JSON", () => {
    const data = { user: "alice", n: 3, f: 0.5, ok: true, none: null, list: [1, "two", { three: 3 }] };
    expect(codec.encode(data)).toBe(JSON.stringify(data));
    expect(roundTrip(data)).toStrictEqual(data);
  });

  it("Date (valid and invalid), BigInt, Map, Set, Uint8Array and undefined, nested in each other", () => {
    const data: SessionData = {
      when: new Date("2023-11-14T22:13:20.123Z"),
      invalid: new Date(Number.NaN),
      big: 2n ** 100n,
      negative: -12345678901234567890n,
      bytes: Uint8Array.of(0, 1, 254, 255),
      empty: new Uint8Array(0),
      nothing: undefined,
      map: new Map<unknown, unknown>([
        ["k", new Set([1, new Date(0), new Map([[1n, [undefined, Uint8Array.of(7)]]])])],
        [{ objectKey: true }, "object keys survive as values"],
        [42, null],
      ]),
      set: new Set<unknown>(["a", 1, 1n, new Set([new Set()])]),
      list: [undefined, new Date(1), [new Map()]],
    };
    const back = roundTrip(data);
    expect(back).toStrictEqual(data);
    expect(back.bytes).toBeInstanceOf(Uint8Array);
    expect(Object.hasOwn(back, "nothing")).toBe(true);
  });

  it("a Buffer comes back as a plain Uint8Array with the same bytes", () => {
    const back = roundTrip({ b: Buffer.from("hello") });
    expect(back.b).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(back.b)).toBe(false);
    expect(Buffer.from(back.b as Uint8Array).toString()).toBe("hello");
  });

  it("DATA-04 strings with NUL, lone surrogates and Unicode, and odd keys, round-trip exactly", () => {
    const data = {
      nul: "a\u0000b",
      lone: "\ud800",
      loneLow: "x\udc00y",
      reversed: "\udc00\ud800",
      astral: "😀",
      $op: { $ne: null },
      "a.b": 1,
      "": "empty key",
      "\u0000": "nul key",
      "10": "integer-like key",
    };
    const text = codec.encode(data);
    expect(Buffer.from(text, "utf8").toString("utf8")).toBe(text); // valid UTF-8: escapes, not raw surrogates
    expect(text).not.toContain("\u0000");
    expect(roundTrip(data)).toStrictEqual(data);
  });

  it("user objects that contain the reserved tag key, even ones shaped exactly like tags, stay data", () => {
    const lookalikes: SessionData = {
      asDate: { [TAG]: "Date", v: 0 },
      asUndefined: { [TAG]: "undefined" },
      asObject: { [TAG]: "Object", v: { [TAG]: "Map", v: [] } },
      unknownType: { [TAG]: 12, extra: [{ [TAG]: null }] },
      inMap: new Map([
        [
          { [TAG]: "Set", v: [] },
          { [TAG]: "BigInt", v: "1" },
        ],
      ]),
      [TAG]: "top-level tag key",
      v: "and a v",
    };
    const back = roundTrip(lookalikes);
    expect(back).toStrictEqual(lookalikes);
    expect(back.asDate).not.toBeInstanceOf(Date);
  });

  it("__proto__, constructor and prototype keys round-trip as inert own data", () => {
    const data: SessionData = {};
    Object.defineProperty(data, "__proto__", {
      value: { polluted: 1 },
      enumerable: true,
      writable: true,
      configurable: true,
    });
    Reflect.set(data, "constructor", { prototype: { polluted: 1 } });
    data.nested = JSON.parse('{"__proto__":{"polluted":1},"when":null}');
    (data.nested as Record<string, unknown>).when = new Date(5); // forces a tagged copy of an object with own __proto__
    const back = roundTrip(data);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")?.value).toEqual({ polluted: 1 });
    const nested = back.nested as Record<string, unknown>;
    expect(Object.getPrototypeOf(nested)).toBe(Object.prototype);
    expect(nested.polluted).toBeUndefined();
    expect(nested.when).toStrictEqual(new Date(5));
    expectNoForeignPrototypes(back);
  });

  it("null-prototype objects are accepted and come back as ordinary objects", () => {
    const data = Object.assign(Object.create(null) as SessionData, {
      a: Object.assign(Object.create(null), { b: 1 }),
    });
    expect(roundTrip(data)).toEqual({ a: { b: 1 } });
  });

  it("property: 400 random nested values with adversarial keys round-trip, and re-encode to the same text", () => {
    const random = prng(7);
    const { value, keys, pick } = randomValues(random);
    for (let i = 0; i < 400; i++) {
      const data: SessionData = {};
      Object.defineProperty(data, pick(keys), {
        value: value(0),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      data.other = value(0);
      const text = codec.encode(data);
      const back = codec.decode(text);
      // Not toStrictEqual: its type check reads `.constructor`, which here is often user data.
      expect(same(back, data), text).toBe(true);
      expect(codec.encode(back)).toBe(text);
      expectNoForeignPrototypes(back);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("jsonCodec refuses what it cannot store faithfully (encode)", () => {
  const codec = jsonCodec({ maxDepth: 8, maxBytes: 1000 });

  it("non-finite numbers, functions, symbols, class instances, other binary types", () => {
    class Point {
      x = 1;
    }
    for (const bad of [
      Number.NaN,
      Infinity,
      -Infinity,
      () => 1,
      Symbol("s"),
      new Point(),
      new WeakMap(),
      new Int16Array(2),
      new ArrayBuffer(2),
      new Error("no"),
      /regex/,
      Promise.resolve(1),
    ]) {
      expect(() => codec.encode({ bad })).toThrow(InvalidArgumentError);
      expect(() => codec.encode({ deep: [new Map([["k", bad]])] })).toThrow(InvalidArgumentError);
    }
    expect(() => codec.encode({ big: 10n ** 5000n })).toThrow(InvalidArgumentError);
  });

  it("top-level values that are not plain objects", () => {
    for (const bad of [null, [], "s", 1, new Map(), new Date()]) {
      expect(() => codec.encode(bad as unknown as SessionData)).toThrow(InvalidArgumentError);
    }
  });

  it("cycles and nesting past maxDepth (InvalidArgumentError); size past maxBytes (SessionTooLargeError)", () => {
    const cyclic: SessionData = {};
    cyclic.self = cyclic;
    expect(() => codec.encode(cyclic)).toThrow(InvalidArgumentError);
    const viaMap = new Map<string, unknown>();
    viaMap.set("m", viaMap);
    expect(() => codec.encode({ viaMap })).toThrow(InvalidArgumentError);
    const deep = (n: number): unknown => (n === 0 ? 1 : [deep(n - 1)]);
    expect(codec.decode(codec.encode({ a: deep(7) }))).toEqual({ a: deep(7) });
    expect(() => codec.encode({ a: deep(8) })).toThrow(InvalidArgumentError);
    let tooLarge: unknown;
    try {
      codec.encode({ s: "é".repeat(600) });
    } catch (error) {
      tooLarge = error;
    }
    expect(tooLarge).toBeInstanceOf(SessionTooLargeError);
    expect((tooLarge as SessionTooLargeError).size).toBe(1208);
    expect(codec.encode({ s: "x".repeat(990) })).toHaveLength(998);
  });

  it("rejects nonsensical options at construction", () => {
    expect(() => jsonCodec({ maxBytes: 0 })).toThrow(ConfigError);
    expect(() => jsonCodec({ maxDepth: 0 })).toThrow(ConfigError);
    expect(() => jsonCodec({ maxDepth: 1.5 })).toThrow(ConfigError);
  });
});

describe("jsonCodec refuses what it cannot read (decode → DecodeError)", () => {
  const codec = jsonCodec({ maxDepth: 8, maxBytes: 1000 });

  it.each([
    ["not JSON", "{"],
    ["a trailing comma", '{"a":1,}'],
    ["an array", "[1]"],
    ["a number", "1"],
    ["an unknown tag", `{"t":{"${TAG}":"Function","v":"return 1"}}`],
    ["a tag with extra keys", `{"t":{"${TAG}":"Date","v":0,"x":1}}`],
    ["a tag without payload", `{"t":{"${TAG}":"Date"}}`],
    ["undefined with a payload", `{"t":{"${TAG}":"undefined","v":1}}`],
    ["a non-string tag", `{"t":{"${TAG}":1,"v":1}}`],
    ["a Date payload that is text", `{"t":{"${TAG}":"Date","v":"2020-01-01"}}`],
    ["a Date out of range", `{"t":{"${TAG}":"Date","v":1e300}}`],
    ["a fractional Date", `{"t":{"${TAG}":"Date","v":1.5}}`],
    ["a BigInt with a leading zero", `{"t":{"${TAG}":"BigInt","v":"01"}}`],
    ["a BigInt in hex", `{"t":{"${TAG}":"BigInt","v":"0x10"}}`],
    ["a BigInt too long", `{"t":{"${TAG}":"BigInt","v":"${"9".repeat(4097)}"}}`],
    ["non-canonical base64", `{"t":{"${TAG}":"Uint8Array","v":"AB=="}}`],
    ["base64url instead of base64", `{"t":{"${TAG}":"Uint8Array","v":"-_8="}}`],
    ["a Map entry that is not a pair", `{"t":{"${TAG}":"Map","v":[[1]]}}`],
    ["a Map payload that is an object", `{"t":{"${TAG}":"Map","v":{}}}`],
    ["a Set payload that is a string", `{"t":{"${TAG}":"Set","v":"abc"}}`],
    ["an Object tag around an object without the tag key", `{"t":{"${TAG}":"Object","v":{"a":1}}}`],
    ["an Object tag around an array", `{"t":{"${TAG}":"Object","v":[]}}`],
    ["a top-level Map tag", `{"${TAG}":"Map","v":[]}`],
    ["too deep", `{"a":${"[".repeat(8)}${"]".repeat(8)}}`],
    ["too deep through tags", `{"a":${`{"${TAG}":"Set","v":[`.repeat(8)}${"]}".repeat(8)}}`],
    ["too large", `{"s":"${"x".repeat(1000)}"}`],
    ["too large in UTF-8", `{"s":"${"é".repeat(500)}"}`],
  ])("%s", (_, text) => {
    expectDecodeError(() => codec.decode(text));
  });

  it("the depth bound is the same both ways, tags included", () => {
    const nestedSets = (n: number): unknown => (n === 0 ? 1 : new Set([nestedSets(n - 1)]));
    const text = jsonCodec().encode({ a: nestedSets(7) });
    expect(codec.decode(text)).toStrictEqual({ a: nestedSets(7) });
    expect(() => codec.encode({ a: nestedSets(8) })).toThrow(InvalidArgumentError);
    expectDecodeError(() => codec.decode(jsonCodec().encode({ a: nestedSets(8) })));
  });

  it("a non-string is a DecodeError, not a TypeError", () => {
    for (const bad of [undefined, null, 1, {}, Buffer.from("{}")]) {
      expectDecodeError(() => codec.decode(bad as unknown as string));
    }
  });
});

describe("djangoCodec", () => {
  const codec = djangoCodec({ secret: SECRET, now: at(T) });

  it("encodes as signing.dumps(data, salt='django.contrib.sessions.SessionStore', compress=True)", () => {
    const data = { _auth_user_id: "1", cart: [1, 2, 3], blob: "z".repeat(200) };
    const encoded = codec.encode(data);
    expect(encoded).toBe(dumps(data, { key: SECRET, salt: DJANGO_SESSION_SALT, compress: true, now: at(T) }));
    expect(encoded.startsWith(".")).toBe(true);
    expect(codec.decode(encoded)).toEqual(data);
  });

  it("writes a Date as Django ≥ 4 does (isoformat text); floats and bigints as Python numbers", () => {
    const data = {
      when: new Date("2030-01-01T00:00:00Z"),
      price: pythonFloat(1),
      big: 12345678901234567890n,
    };
    const back = codec.decode(codec.encode(data));
    expect(back).toEqual({ when: "2030-01-01T00:00:00+00:00", price: 1, big: 12345678901234567000 });
  });

  it("refuses values Python's json cannot hold", () => {
    for (const bad of [new Map(), new Set(), new Uint8Array(1), undefined, Number.NaN, Infinity, () => 1]) {
      expect(() => codec.encode({ bad })).toThrow(InvalidArgumentError);
    }
  });

  it("never checks an age (SB-16): a years-old record still decodes", () => {
    const later = djangoCodec({ secret: SECRET, now: at(T + 10 * 365 * 86400) });
    expect(later.decode(codec.encode({ a: 1 }))).toEqual({ a: 1 });
  });

  it("verifies with the secret, then the fallbacks; any failure is a DecodeError", () => {
    const old = djangoCodec({ secret: OLD_SECRET, now: at(T) }).encode({ a: 1 });
    expect(djangoCodec({ secret: SECRET, fallbackSecrets: [OLD_SECRET], now: at(T) }).decode(old)).toEqual({
      a: 1,
    });
    expectDecodeError(() => codec.decode(old));
    const otherSalt = djangoCodec({ secret: SECRET, salt: "other", now: at(T) }).encode({ a: 1 });
    expectDecodeError(() => codec.decode(otherSalt));
    for (const bad of ["", "garbage", "bad:encoded:value", "Zmxhc2tkajphbGtkamY=", `${old}x`]) {
      expectDecodeError(() => codec.decode(bad));
    }
  });

  it("a signed record whose JSON is not an object is a DecodeError", () => {
    for (const json of ["[1]", "null", '"s"', "1"]) {
      const signed = dumpsPayload(json, { key: SECRET, salt: DJANGO_SESSION_SALT, now: at(T) });
      expectDecodeError(() => codec.decode(signed));
    }
  });

  it("a signed zlib bomb is a DecodeError", () => {
    const payload = `.${base64UrlEncode(deflateSync(Buffer.alloc(4 * 1024 * 1024)))}`;
    const signed = new TimestampSigner({ key: SECRET, salt: DJANGO_SESSION_SALT, now: at(T) }).sign(payload);
    expectDecodeError(() => codec.decode(signed));
  });

  it("bounds the encoded size and refuses weak secrets", () => {
    // Digits of a sequence do not compress, so the encoded size follows the data.
    const noisy = (n: number) =>
      Array.from({ length: n }, (_, i) => ((i * 7919) % 9973).toString(36)).join("");
    const small = djangoCodec({ secret: SECRET, now: at(T), maxBytes: 100 });
    expect(small.decode(small.encode({ s: "x" }))).toEqual({ s: "x" });
    expect(() => small.encode({ s: noisy(30) })).toThrow(SessionTooLargeError);
    expectDecodeError(() => small.decode(codec.encode({ s: noisy(30) })));
    expect(() => djangoCodec({ secret: "short" })).toThrow(ConfigError);
    expect(() => djangoCodec({ secret: SECRET, fallbackSecrets: ["short"] })).toThrow(ConfigError);
  });
});

/**
 * The `session-data` entries of shared/security/bad-inputs.json (requirements.md §5). Each value is
 * the text a store returned, or (DATA-008/015/016) what the app wrote. For `djangoCodec` a stored
 * text is first signed with the session salt, as a record with a valid MAC but hostile content.
 *
 * Not codec concerns, checked by the engine and auth tests instead: DATA-018 (backend id not
 * configured), DATA-020 (hash of the wrong type), DATA-021 (operator object as user id), DATA-023
 * (stale hash), DATA-028 (far-future `_session_expiry`). The corpus has no DATA-002/004/007/009/012/
 * 014/017/027 entries (the checklist cites them; the file skips those numbers).
 */
describe("hostile corpus: session-data entries that concern a codec", () => {
  const ENGINE_OR_AUTH = new Set(["DATA-018", "DATA-020", "DATA-021", "DATA-023", "DATA-028"]);
  const entries = badInputs("session-data");
  const codecs: [string, SessionCodec, (text: string) => string][] = [
    ["jsonCodec", jsonCodec(), (text) => text],
    [
      "djangoCodec",
      djangoCodec({ secret: SECRET, now: at(T) }),
      (text) =>
        dumpsPayload(Buffer.from(text, "utf8"), {
          key: SECRET,
          salt: DJANGO_SESSION_SALT,
          compress: true,
          now: at(T),
        }),
    ],
  ];

  const checks: Record<
    string,
    (codec: SessionCodec, stored: (text: string) => string, value: string) => void
  > = {
    // Pollution payloads: decoded without touching any prototype; kept as inert own data.
    "DATA-001": (codec, stored, value) => {
      const data = codec.decode(stored(value));
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((data as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(data, "__proto__")?.value).toEqual({ polluted: true });
      expectNoForeignPrototypes(data);
    },
    "DATA-003": (codec, stored, value) => {
      const data = codec.decode(stored(value)) as { a: { b: Record<string, unknown> } };
      expect(data.a.b.isAdmin).toBeUndefined();
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
      expectNoForeignPrototypes(data);
      // Re-encoding and merging by entries (what the engine does) adds no prototype either.
      const again = codec.decode(codec.encode(Object.fromEntries(Object.entries(data))));
      expect((again as { a: { b: Record<string, unknown> } }).a.b.isAdmin).toBeUndefined();
      expectNoForeignPrototypes(again);
    },
    // 100 000-deep records: refused by the depth bound, no stack overflow.
    "DATA-005": (codec, stored, value) => expectDecodeError(() => codec.decode(stored(value))),
    "DATA-006": (codec, stored, value) => expectDecodeError(() => codec.decode(stored(value))),
    // App-written non-finite numbers: refused at encode with a typed error, never written as null.
    "DATA-008": (codec) => {
      for (const n of [Infinity, -Infinity, Number.NaN]) {
        expect(() => codec.encode({ n })).toThrow(InvalidArgumentError);
      }
    },
    // Empty, null, a string: corrupt, so an empty session (the engine maps DecodeError to that).
    "DATA-010": (codec, stored, value) => expectDecodeError(() => codec.decode(stored(value))),
    "DATA-011": (codec, stored, value) => expectDecodeError(() => codec.decode(stored(value))),
    "DATA-013": (codec, stored, value) => expectDecodeError(() => codec.decode(stored(value))),
    // NUL and lone surrogates written by the app round-trip exactly (jsonCodec) — djangoCodec too,
    // as \u escapes; both stay valid UTF-8 text for any store.
    "DATA-015": (codec, _stored, value) => {
      const data = JSON.parse(value) as SessionData;
      const text = codec.encode(data);
      expect(text).not.toContain("\u0000");
      expect(codec.decode(text)).toStrictEqual(data);
    },
    "DATA-016": (codec, _stored, value) => {
      const data = JSON.parse(value) as SessionData;
      const text = codec.encode(data);
      expect(Buffer.from(text, "utf8").toString("utf8")).toBe(text);
      expect(codec.decode(text)).toStrictEqual(data);
    },
    // A BOM is deterministically corrupt (JSON.parse and Python's json.loads both refuse it).
    "DATA-025": (codec, stored, value) => expectDecodeError(() => codec.decode(stored(value))),
    // Duplicate keys: the last wins, as in Python; validation and use see the same value.
    "DATA-026": (codec, stored, value) => expect(codec.decode(stored(value))).toEqual({ a: 2 }),
  };

  it("every entry is either checked here or named as an engine/auth concern", () => {
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) {
      expect(entry.id in checks || ENGINE_OR_AUTH.has(entry.id), entry.id).toBe(true);
    }
  });

  for (const [name, codec, stored] of codecs) {
    for (const entry of entries.filter((e) => e.id in checks)) {
      it(`${entry.id} (${name})`, () => {
        checks[entry.id]!(codec, stored, entry.value as string);
      });
    }
  }
});
