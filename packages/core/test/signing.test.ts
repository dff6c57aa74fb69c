/**
 * Django's signing semantics (SG-*) and the signer's security requirements (SIGN-01…SIGN-05,
 * SIGN-10, SIGN-11), with deterministic property tests.
 */
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { base64UrlEncode } from "../src/crypto/primitives.js";
import {
  BadSignatureError,
  ConfigError,
  DecodeError,
  InvalidArgumentError,
  PorterError,
  SignatureExpiredError,
} from "../src/errors.js";
import {
  b62Decode,
  b62Encode,
  dumps,
  getCookieSigner,
  loads,
  loadsDetailed,
  pythonFloat,
  pythonJsonDumps,
  pythonJsonLoads,
  Signer,
  signCookieValue,
  signedCookieSalt,
  TimestampSigner,
  unsignCookieValue,
} from "../src/signing/index.js";
import { prng } from "./prng.js";

const KEY = "a-test-secret-that-is-long-enough-0123456789";
const OLD_KEY = "a-retired-secret-that-is-long-enough-9876543210";
const at = (seconds: number) => () => seconds;

const ALPHABET = 'abcXYZ019:-_=.~ /+é’日本😀\u0000\n"\\';
function randomText(random: () => number, maxLength: number): string {
  const chars = [...ALPHABET];
  let out = "";
  const length = Math.floor(random() * maxLength);
  for (let i = 0; i < length; i++) out += chars[Math.floor(random() * chars.length)];
  return out;
}

function expectBadSignature(fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(BadSignatureError);
}

describe("Signer (SG-4…SG-14)", () => {
  it("SG-8 refuses separators made only of A-z0-9-_= (ConfigError), accepts others", () => {
    for (const sep of ["", "-", "abc", "=", "_", "[", "\\", "]", "^", "`", "A-z"]) {
      expect(() => new Signer({ key: KEY, sep })).toThrow(ConfigError);
    }
    for (const sep of [":", "/", "$", "~", "%", "::"]) {
      const signer = new Signer({ key: KEY, sep });
      expect(signer.unsign(signer.sign(`a${sep}b`))).toBe(`a${sep}b`);
    }
  });

  it("SG-2 refuses an unknown algorithm and an empty key at construction", () => {
    expect(() => new Signer({ key: KEY, algorithm: "md5" as never })).toThrow(ConfigError);
    expect(() => new Signer({ key: "" })).toThrow(ConfigError);
    expect(() => new Signer({ key: new Uint8Array(0) })).toThrow(ConfigError);
    expect(() => new Signer({ key: KEY, fallbackKeys: [""] })).toThrow(ConfigError);
  });

  it("SG-5 signature lengths: sha1 27, sha256 43, sha512 86", () => {
    expect(new Signer({ key: KEY, algorithm: "sha1" }).signature("x")).toHaveLength(27);
    expect(new Signer({ key: KEY }).signature("x")).toHaveLength(43);
    expect(new Signer({ key: KEY, algorithm: "sha512" }).signature("x")).toHaveLength(86);
  });

  it("SG-9 splits on the last separator; no separator is a BadSignature", () => {
    const signer = new Signer({ key: KEY });
    expect(signer.unsign(signer.sign("a:b:c"))).toBe("a:b:c");
    expect(() => signer.unsign("no separator here")).toThrow(/no ":" found/);
    expectBadSignature(() => signer.unsign("no separator here"));
  });

  it("SG-12 tampering fails: upper-casing, an appended char, a replaced first char, a removed separator", () => {
    const signer = new Signer({ key: KEY });
    const signed = signer.sign("hello");
    for (const bad of [signed.toUpperCase(), `${signed}a`, `X${signed.slice(1)}`, signed.replace(":", "")]) {
      expectBadSignature(() => signer.unsign(bad));
    }
  });

  it("SG-7 salts separate purposes; an empty salt is the class default", () => {
    const a = new Signer({ key: KEY, salt: "purpose.a" });
    const b = new Signer({ key: KEY, salt: "purpose.b" });
    expectBadSignature(() => b.unsign(a.sign("v")));
    expect(new Signer({ key: KEY, salt: "" }).salt).toBe("django.core.signing.Signer");
    expect(new TimestampSigner({ key: KEY, salt: "" }).salt).toBe("django.core.signing.TimestampSigner");
    // A Signer and a TimestampSigner never accept each other's values.
    expectBadSignature(() =>
      new TimestampSigner({ key: KEY }).unsign(new Signer({ key: KEY }).sign("v:1r31eq")),
    );
  });

  it("SG-11 verifies with the key, then each fallback; an empty fallback list disables them", () => {
    const old = new Signer({ key: OLD_KEY });
    const signed = old.sign("v");
    const rotated = new Signer({ key: KEY, fallbackKeys: [OLD_KEY] });
    expect(rotated.unsignDetailed(signed)).toEqual({ value: "v", usedFallback: true });
    expect(rotated.unsignDetailed(rotated.sign("v"))).toEqual({ value: "v", usedFallback: false });
    expect(rotated.sign("v")).toBe(new Signer({ key: KEY }).sign("v"));
    expectBadSignature(() => new Signer({ key: KEY, fallbackKeys: [] }).unsign(signed));
  });

  it("SG-14 takes binary keys", () => {
    const signer = new Signer({ key: Uint8Array.of(0xe7) });
    expect(signer.sign("foo")).toBe("foo:EE4qGC5MEKyQG5msxYA0sBohAxLC0BJf8uRhemh0BGU");
  });

  it("refuses to sign a lone surrogate and to verify one (UTF-8 would merge distinct strings)", () => {
    const signer = new Signer({ key: KEY });
    expect(() => signer.sign("a\ud800")).toThrow(InvalidArgumentError);
    const signed = signer.sign("a\ufffd");
    expectBadSignature(() => signer.unsign(`a\ud800${signed.slice(2)}`));
    expectBadSignature(() => signer.unsign(`a\udc00${signed.slice(2)}`));
  });

  it("a plain Signer refuses maxAge instead of ignoring it", () => {
    const signer = new Signer({ key: KEY });
    expect(() => signer.unsign(signer.sign("v"), { maxAge: 10 })).toThrow(InvalidArgumentError);
  });
});

describe("TimestampSigner (SG-15, SG-16, SIGN-05)", () => {
  it("SG-16 Django's test_timestamp_signer: signed at 123456789, read 11 s later", () => {
    const signed = new TimestampSigner({ key: "predictable-key", now: at(123456789) }).sign("hello");
    const later = new TimestampSigner({ key: "predictable-key", now: at(123456800) });
    expect(later.unsign(signed)).toBe("hello");
    expect(later.unsign(signed, { maxAge: 12 })).toBe("hello");
    expect(later.unsign(signed, { maxAge: 11 })).toBe("hello");
    let expired: unknown;
    try {
      later.unsign(signed, { maxAge: 10 });
    } catch (error) {
      expired = error;
    }
    expect(expired).toBeInstanceOf(SignatureExpiredError);
    expect(expired).toBeInstanceOf(BadSignatureError);
    expect(PorterError.is(expired, "SIGNATURE_EXPIRED")).toBe(true);
    expect((expired as SignatureExpiredError).age).toBe(11);
  });

  it("uses the clock's fractions for the age, like Django's time.time()", () => {
    const signed = new TimestampSigner({ key: KEY, now: at(1000.9) }).sign("v");
    expect(signed).toContain(`:${b62Encode(1000)}:`);
    expect(new TimestampSigner({ key: KEY, now: at(1010) }).unsign(signed, { maxAge: 10 })).toBe("v");
    expect(() => new TimestampSigner({ key: KEY, now: at(1010.5) }).unsign(signed, { maxAge: 10 })).toThrow(
      SignatureExpiredError,
    );
  });

  it("SIGN-05 refuses timestamps more than 60 s in the future (configurable), with or without maxAge", () => {
    const signed = new TimestampSigner({ key: KEY, now: at(10_000 + 61) }).sign("v");
    const reader = new TimestampSigner({ key: KEY, now: at(10_000) });
    expectBadSignature(() => reader.unsign(signed));
    expectBadSignature(() => reader.unsign(signed, { maxAge: 3600 }));
    expect(() => reader.unsign(signed)).not.toThrow(SignatureExpiredError);
    const within = new TimestampSigner({ key: KEY, now: at(10_000 + 60) }).sign("v");
    expect(reader.unsign(within)).toBe("v");
    expect(new TimestampSigner({ key: KEY, now: at(10_000), maxFutureSkew: Infinity }).unsign(signed)).toBe(
      "v",
    );
    expect(() => new TimestampSigner({ key: KEY, maxFutureSkew: -1 })).toThrow(ConfigError);
  });

  it("reports the timestamp and whether a fallback key verified", () => {
    const signed = new TimestampSigner({ key: OLD_KEY, now: at(1_700_000_000) }).sign("v");
    const result = new TimestampSigner({
      key: KEY,
      fallbackKeys: [OLD_KEY],
      now: at(1_700_000_001),
    }).unsignDetailed(signed);
    expect(result).toEqual({ value: "v", usedFallback: true, timestamp: 1_700_000_000 });
  });

  it("a value without a timestamp, or with a malformed one, is a BadSignature even with a valid MAC", () => {
    const inner = new Signer({ key: KEY, salt: "django.core.signing.TimestampSigner" });
    const reader = new TimestampSigner({ key: KEY });
    expectBadSignature(() => reader.unsign(inner.sign("no-timestamp")));
    expectBadSignature(() => reader.unsign(inner.sign("v:!!")));
    expectBadSignature(() => reader.unsign(inner.sign("v:zzzzzzzzzzzzzzzzzzzz")));
  });
});

describe("base62 (SG-17)", () => {
  it("round-trips integers and bigints, and refuses what it cannot read", () => {
    const random = prng(62);
    for (let i = 0; i < 300; i++) {
      const n = Math.floor((random() - 0.5) * Number.MAX_SAFE_INTEGER);
      expect(b62Decode(b62Encode(n))).toBe(n);
    }
    expect(b62Encode(62n ** 20n)).toBe(`1${"0".repeat(20)}`);
    for (const bad of ["", "-", "+1", "a b", "é", "zzzzzzzzzz"])
      expect(() => b62Decode(bad)).toThrow(InvalidArgumentError);
    expect(() => b62Encode(1.5)).toThrow(InvalidArgumentError);
  });
});

describe("property: sign → verify, and every single-character mutation fails", () => {
  it("300 random values with a Signer and a TimestampSigner", () => {
    const random = prng(1);
    const signers = [
      new Signer({ key: KEY }),
      new Signer({ key: KEY, sep: "/", algorithm: "sha1" }),
      new TimestampSigner({ key: KEY, now: at(1_700_000_000) }),
      new TimestampSigner({ key: KEY, algorithm: "sha512", now: at(1_700_000_000) }),
    ];
    const mutations = [..."abcXYZ019:/-_=.~ é"];
    for (let i = 0; i < 300; i++) {
      const signer = signers[i % signers.length]!;
      const value = randomText(random, 40);
      const signed = signer.sign(value);
      expect(signer.unsign(signed)).toBe(value);
      const units = [...signed];
      const at = Math.floor(random() * units.length);
      let replacement = mutations[Math.floor(random() * mutations.length)]!;
      if (replacement === units[at]) replacement = replacement === "a" ? "b" : "a";
      const mutated = [...units.slice(0, at), replacement, ...units.slice(at + 1)].join("");
      expectBadSignature(() => signer.unsign(mutated));
      expectBadSignature(() => signer.unsign(units.filter((_, j) => j !== at).join("")));
    }
  });

  it("300 random objects through dumps/loads, compressed or not", () => {
    const random = prng(2);
    for (let i = 0; i < 300; i++) {
      const obj = {
        text: randomText(random, 30),
        n: Math.floor(random() * 1e9),
        list: Array.from({ length: Math.floor(random() * 5) }, () => randomText(random, 8)),
        nested: { flag: random() < 0.5, none: null, f: Math.floor(random() * 1000) / 8 },
      };
      const options = { key: KEY, salt: "prop.test", compress: i % 2 === 0, now: at(1_700_000_000) };
      const signed = dumps(obj, options);
      expect(loads(signed, options)).toEqual(obj);
      const at2 = Math.floor(random() * signed.length);
      const mutated = signed.slice(0, at2) + (signed[at2] === "A" ? "B" : "A") + signed.slice(at2 + 1);
      expectBadSignature(() => loads(mutated, options));
    }
  });
});

describe("SIGN-01/SIGN-02: the MAC covers the exact text; only canonical base64 decodes", () => {
  const options = { key: KEY, salt: "canon.test", now: at(1_700_000_000) };
  const signer = new TimestampSigner(options);

  it("a re-spelled payload (std alphabet, inserted space, padding, trailing garbage) fails verification", () => {
    const signed = dumps({ k: "v??>>" }, options); // base64url of this contains - and _
    const [payload, ts, sig] = signed.split(":") as [string, string, string];
    expect(payload).toMatch(/[-_]/);
    const respellings = [
      payload.replace(/-/g, "+").replace(/_/g, "/"),
      `${payload.slice(0, 4)} ${payload.slice(4)}`,
      `${payload}=`,
      `${payload}==`,
      `${payload}garbage!`,
    ];
    for (const bad of respellings) expectBadSignature(() => loads(`${bad}:${ts}:${sig}`, options));
  });

  it("even with a valid MAC over it, a non-canonical payload never decodes", () => {
    const bytes = Buffer.from('{"k":"vv"}'); // 10 bytes: the last base64 character carries 4 unused bits
    const canonical = base64UrlEncode(bytes);
    const last = canonical.at(-1)!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sloppy = canonical.slice(0, -1) + alphabet[alphabet.indexOf(last) + 1];
    expect(Buffer.from(sloppy, "base64url").equals(bytes)).toBe(true); // Node would accept it
    expect(loads(signer.sign(canonical), options)).toEqual({ k: "vv" });
    for (const bad of [
      sloppy,
      `${canonical}=`,
      canonical.replace("J", " J"),
      `${canonical}\n`,
      `.${canonical}`, // "compressed" but not a zlib stream
      "",
    ]) {
      expectBadSignature(() => loads(signer.sign(bad), options));
    }
  });

  it("100 000 malformed verifications throw BadSignatureError and nothing else", () => {
    const random = prng(3);
    const valid = signer.sign("payload");
    const pieces = [valid, ":", "::", "1r31eq", "x".repeat(43), "é", "\u0000", "", ".", "=", "A".repeat(200)];
    const others = { badSignature: 0, other: 0 };
    for (let i = 0; i < 100_000; i++) {
      let candidate = "";
      const n = 1 + Math.floor(random() * 4);
      for (let j = 0; j < n; j++) candidate += pieces[Math.floor(random() * pieces.length)];
      if (candidate === valid) continue;
      try {
        signer.unsign(candidate, { maxAge: 10 });
        if (i % 2 === 0) loads(candidate, options);
        // Some concatenations are valid again (the valid value plus a separator, split on the last one).
      } catch (error) {
        if (error instanceof BadSignatureError) others.badSignature++;
        else others.other++;
      }
    }
    expect(others.other).toBe(0);
    expect(others.badSignature).toBeGreaterThan(90_000);
  });

  it("non-strings are a BadSignature, not a TypeError", () => {
    for (const bad of [undefined, null, 42, {}, ["a:b"], Buffer.from("a:b")]) {
      expectBadSignature(() => signer.unsign(bad as unknown as string));
      expectBadSignature(() => loads(bad as unknown as string, options));
    }
  });
});

describe("SIGN-10: decompression is bounded and the compression flag is signed", () => {
  const options = { key: KEY, salt: "bomb.test", now: at(1_700_000_000) };
  const signer = new TimestampSigner(options);

  it("a signed zlib bomb fails cleanly; the limit is what stops it", () => {
    const bomb = signer.sign(`.${base64UrlEncode(deflateSync(Buffer.alloc(8 * 1024 * 1024)))}`);
    expect(bomb.length).toBeLessThan(12_000);
    expect(() => loads(bomb, options)).toThrow(/inflates past 1048576 bytes/);
    expectBadSignature(() => loads(bomb, options));
    // Under the limit, a large compressible payload reads fine; just past it, it does not.
    const json = JSON.stringify("a".repeat(2 * 1024 * 1024));
    const big = signer.sign(`.${base64UrlEncode(deflateSync(Buffer.from(json)))}`);
    expectBadSignature(() => loads(big, options));
    expect(loads(big, { ...options, maxDecompressedBytes: json.length })).toHaveLength(2 * 1024 * 1024);
    expectBadSignature(() => loads(big, { ...options, maxDecompressedBytes: json.length - 1 }));
  });

  it("the '.' marker is inside the signed text: stripping or adding it breaks the MAC", () => {
    const signed = dumps({ blob: "z".repeat(500) }, { ...options, compress: true });
    expect(signed.startsWith(".")).toBe(true);
    expectBadSignature(() => loads(signed.slice(1), options));
    const plain = dumps({ a: 1 }, options);
    expectBadSignature(() => loads(`.${plain}`, options));
  });

  it("SG-21 compresses only when it saves more than one byte", () => {
    expect(dumps("hello", { ...options, compress: true })).toBe(dumps("hello", options));
    expect(dumps("x".repeat(100), { ...options, compress: true }).startsWith(".")).toBe(true);
  });
});

describe("SIGN-11 / DATA-01: payloads are JSON only and cannot pollute prototypes", () => {
  const options = { key: KEY, salt: "pollution.test", now: at(1_700_000_000) };
  const signer = new TimestampSigner(options);
  const signedJson = (json: string) => signer.signPayload(json);

  function expectOnlyPlainObjects(value: unknown): void {
    if (typeof value !== "object" || value === null) return;
    const proto = Object.getPrototypeOf(value);
    expect(proto === Object.prototype || proto === Array.prototype || proto === null).toBe(true);
    for (const item of Object.values(value)) expectOnlyPlainObjects(item);
  }

  it.each([
    '{"__proto__":{"polluted":1}}',
    '{"a":{"b":{"__proto__":{"polluted":1}}}}',
    '[{"__proto__":{"polluted":1}},[{"__proto__":{"polluted":1}}]]',
    '{"constructor":{"prototype":{"polluted":1}}}',
    '{"__proto__":{"constructor":{"prototype":{"polluted":1}}}}',
  ])("%s", (json) => {
    const value = loads(signedJson(json), options);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((value as Record<string, unknown>).polluted).toBeUndefined();
    expectOnlyPlainObjects(value);
    // Kept as inert data, exactly as JSON.parse defines it.
    expect(value).toEqual(JSON.parse(json));
  });

  it("refuses Python's NaN/Infinity tokens and documents too deep as unreadable", () => {
    expectBadSignature(() => loads(signedJson('{"n":NaN}'), options));
    expectBadSignature(() => loads(signedJson('{"n":Infinity}'), options));
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expectBadSignature(() => loads(signer.signPayload(deep, { compress: true }), options));
    expect(loads(signedJson(`${"[".repeat(64)}${"]".repeat(64)}`), options)).toBeDefined();
    expectBadSignature(() => loads(signedJson(`${"[".repeat(65)}${"]".repeat(65)}`), options));
  });

  it("loadsDetailed reports a fallback key, so the caller can re-issue", () => {
    const old = dumps({ a: 1 }, { ...options, key: OLD_KEY });
    expect(loadsDetailed(old, { ...options, fallbackKeys: [OLD_KEY] })).toEqual({
      value: { a: 1 },
      usedFallback: true,
      timestamp: 1_700_000_000,
    });
  });
});

describe("pythonJsonDumps (SG-20, TS-2)", () => {
  it("escapes like Python's ensure_ascii", () => {
    expect(pythonJsonDumps("h\u00e9llo \u2019 \u65e5\u672c\u8a9e \ud83d\ude00")).toBe(
      '"h\\u00e9llo \\u2019 \\u65e5\\u672c\\u8a9e \\ud83d\\ude00"',
    );
    expect(pythonJsonDumps('\u007f\u0000\u0001\u001f \n\r\t\b\f"\\/')).toBe(
      '"\\u007f\\u0000\\u0001\\u001f \\n\\r\\t\\b\\f\\"\\\\/"',
    );
    expect(pythonJsonDumps("\ud800")).toBe('"\\ud800"');
    expect(pythonJsonDumps({ "\u00e9": ["\u00e9"] })).toBe('{"\\u00e9":["\\u00e9"]}');
  });

  it("prints numbers like Python: ints, float repr, big ints", () => {
    const cases: [unknown, string][] = [
      [0, "0"],
      [-0, "0"],
      [42, "42"],
      [-7, "-7"],
      [1e21, "1000000000000000000000"],
      [0.1, "0.1"],
      [1.5, "1.5"],
      [-2.25, "-2.25"],
      [0.00015, "0.00015"],
      [1.5e-5, "1.5e-05"],
      [1e-7, "1e-07"],
      [123456789.123, "123456789.123"],
      [2.5e-300, "2.5e-300"],
      [pythonFloat(1), "1.0"],
      [pythonFloat(-0), "-0.0"],
      [pythonFloat(1e15), "1000000000000000.0"],
      [pythonFloat(1e16), "1e+16"],
      [pythonFloat(1.5e16), "1.5e+16"],
      [pythonFloat(1e22), "1e+22"],
      [12345678901234567890n, "12345678901234567890"],
      [-(2n ** 70n), "-1180591620717411303424"],
    ];
    for (const [value, expected] of cases) expect(pythonJsonDumps(value)).toBe(expected);
  });

  it("keeps insertion order with a Map; separators are configurable", () => {
    expect(pythonJsonDumps({ b: 1, 10: 2, a: 3 })).toBe('{"10":2,"b":1,"a":3}');
    const ordered = new Map<unknown, unknown>([
      ["b", 1],
      ["10", 2],
      [3, true],
      [null, false],
      [pythonFloat(1), 0],
    ]);
    expect(pythonJsonDumps(ordered)).toBe('{"b":1,"10":2,"3":true,"null":false,"1.0":0}');
    expect(pythonJsonDumps({ a: [1, { b: null }] }, { separators: [", ", ": "] })).toBe(
      '{"a": [1, {"b": null}]}',
    );
  });

  it("refuses what Python's json cannot write, never rewriting it", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [
      Number.NaN,
      Infinity,
      -Infinity,
      pythonFloat(Number.NaN),
      undefined,
      () => 1,
      Symbol("s"),
      new Set([1]),
      new Date(0),
      new Uint8Array(1),
      new (class Point {})(),
      cyclic,
      { a: undefined },
      [1, undefined],
    ]) {
      expect(() => pythonJsonDumps(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => pythonJsonDumps(new Map(), { maps: "reject" })).toThrow(InvalidArgumentError);
    expect(() => pythonJsonDumps(new Map([[{}, 1]]))).toThrow(InvalidArgumentError);
  });

  it("writes a Date as Python's isoformat() when asked", () => {
    const iso = { dates: "isoformat" } as const;
    expect(pythonJsonDumps(new Date("2023-11-14T22:13:20Z"), iso)).toBe('"2023-11-14T22:13:20+00:00"');
    expect(pythonJsonDumps(new Date("2023-11-14T22:13:20.120Z"), iso)).toBe(
      '"2023-11-14T22:13:20.120000+00:00"',
    );
    expect(pythonJsonDumps(new Date("0001-01-01T00:00:00Z"), iso)).toBe('"0001-01-01T00:00:00+00:00"');
    expect(() => pythonJsonDumps(new Date(Number.NaN), iso)).toThrow(InvalidArgumentError);
    expect(() => pythonJsonDumps(new Date("+010000-01-01T00:00:00Z"), iso)).toThrow(InvalidArgumentError);
  });

  it("bounds depth both ways", () => {
    const deep = (n: number): unknown => (n === 0 ? 1 : [deep(n - 1)]);
    expect(pythonJsonDumps(deep(64))).toBe(`${"[".repeat(64)}1${"]".repeat(64)}`);
    expect(() => pythonJsonDumps(deep(65))).toThrow(InvalidArgumentError);
    expect(() => pythonJsonLoads(`${"[".repeat(65)}${"]".repeat(65)}`)).toThrow(DecodeError);
    expect(pythonJsonLoads(`${"[".repeat(65)}${"]".repeat(65)}`, { maxDepth: 65 })).toBeDefined();
    expect(pythonJsonLoads('{"a":1,"a":2}')).toEqual({ a: 2 });
  });
});

describe("signed cookies (SG-24…SG-26)", () => {
  const secretKey = "a-django-secret-key-for-cookie-tests-0123456789";

  it("derives v2 salts without collisions, counting code points like Python's len()", () => {
    expect(signedCookieSalt("a", "bc", "legacy")).toBe(signedCookieSalt("ab", "c", "legacy"));
    expect(signedCookieSalt("a", "bc")).not.toBe(signedCookieSalt("ab", "c"));
    expect(signedCookieSalt("name", "é😀")).toBe("django.http.cookies.v2:2:é😀name");
    expect(signedCookieSalt("name")).toBe("django.http.cookies.v2:0:name");
  });

  it("a cookie signed for one name is refused for another", () => {
    const value = signCookieValue("theme", "dark", { secretKey });
    expect(unsignCookieValue("theme", value, { secretKey })).toBe("dark");
    expectBadSignature(() => unsignCookieValue("lang", value, { secretKey }));
  });

  it("accept modes: v2 only by default; v2-or-legacy reads both; legacy reads only legacy", () => {
    const legacy = signCookieValue("c", "v", { secretKey, format: "legacy" });
    const v2 = signCookieValue("c", "v", { secretKey });
    expectBadSignature(() => unsignCookieValue("c", legacy, { secretKey }));
    expect(unsignCookieValue("c", legacy, { secretKey, accept: "v2-or-legacy" })).toBe("v");
    expect(unsignCookieValue("c", v2, { secretKey, accept: "v2-or-legacy" })).toBe("v");
    expectBadSignature(() => unsignCookieValue("c", v2, { secretKey, accept: "legacy" }));
  });

  it("SG-26 an expired v2 cookie is SignatureExpired, with no legacy retry", () => {
    const v2 = signCookieValue("c", "v", { secretKey, now: at(1000) });
    expect(() =>
      unsignCookieValue("c", v2, { secretKey, accept: "v2-or-legacy", maxAge: 10, now: at(1011) }),
    ).toThrow(SignatureExpiredError);
  });

  it("the cookie signer key is prefixed, for fallbacks too", () => {
    const old = getCookieSigner({ secretKey: "old-secret" }).sign("v");
    expect(getCookieSigner({ secretKey, fallbackSecretKeys: ["old-secret"] }).unsign(old)).toBe("v");
    expectBadSignature(() =>
      new TimestampSigner({ key: "old-secret", salt: "django.core.signing.get_cookie_signer" }).unsign(old),
    );
  });
});
