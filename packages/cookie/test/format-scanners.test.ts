// The signed and encrypted formats read untrusted text with hand-written scanners. Each is held
// here to the regular-expression (and core-helper) reading it replaced: over seeded random and
// hostile strings, and the bad-inputs corpus, the two must accept exactly the same inputs and
// read the same values from them.
import { createCipheriv, createDecipheriv } from "node:crypto";
import { b62Decode, b62Encode, base64UrlDecode, base64UrlEncode, Signer } from "@porter/core";
import { describe, expect, it } from "vitest";
import { decodeBase64Url } from "../src/base64url.js";
import { deriveEncryptionKey, encryptedFormat } from "../src/encrypted-format.js";
import {
  type CookieFormat,
  EXPIRED,
  INVALID,
  MAX_FUTURE_SKEW_MS,
  MAX_VALUE_LENGTH,
  type Opened,
  type Refused,
} from "../src/format.js";
import {
  b62EncodeMs,
  parseSignedLayout,
  SIGNED_PREFIX,
  signedFormat,
  signedSalt,
} from "../src/signed-format.js";
import { bytesToText } from "../src/text.js";
import { badInputs, OLD_SECRET, OTHER_SECRET, SECRET } from "./helpers.js";
import { expand, signedKit } from "./tokens.js";

// ---------------------------------------------------------------------------------------------
// The reference: the signed format as it read values with core's Signer and regular expressions.

const LAYOUT = /^s1\.([A-Za-z0-9_-]*):([0-9A-Za-z]{1,12})\.([0-9A-Za-z]{1,12})$/;

function referenceLayout(text: string) {
  const parts = LAYOUT.exec(text);
  if (parts === null) return null;
  const bytes = base64UrlDecode(parts[1]!);
  if (bytes === null) return null;
  try {
    return { bytes: Buffer.from(bytes), issuedAt: b62Decode(parts[2]!), expiresAt: b62Decode(parts[3]!) };
  } catch {
    return null;
  }
}

function referenceSigned(secrets: readonly string[], purpose: string): CookieFormat {
  const signer = new Signer({
    key: secrets[0]!,
    fallbackKeys: secrets.slice(1),
    salt: signedSalt(purpose),
    algorithm: "sha256",
  });
  return {
    seal(data, issuedAt, expiresAt) {
      return signer.sign(
        `${SIGNED_PREFIX}${base64UrlEncode(data)}:${b62Encode(issuedAt)}.${b62Encode(expiresAt)}`,
      );
    },
    open(value, now): Opened | Refused {
      if (typeof value !== "string" || value.length > MAX_VALUE_LENGTH) return INVALID;
      let verified: { value: string; usedFallback: boolean };
      try {
        verified = signer.unsignDetailed(value);
      } catch {
        return INVALID;
      }
      const layout = referenceLayout(verified.value);
      if (layout === null) return INVALID;
      const data = bytesToText(layout.bytes);
      if (data === null) return INVALID;
      if (layout.issuedAt > now + MAX_FUTURE_SKEW_MS) return INVALID;
      if (layout.expiresAt <= now) return EXPIRED;
      return {
        ok: true,
        data,
        issuedAt: layout.issuedAt,
        expiresAt: layout.expiresAt,
        usedFallback: verified.usedFallback,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Seeded generators, so a failure names an input that can be reproduced.

function prng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, pick, bytes };
}
type Rng = ReturnType<typeof prng>;

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** Characters that a lenient reader might take for part of the alphabet, or that break text. */
const HOSTILE = [
  ..."+/=.:~ \t\n\r\u0000\u000b\u00a0%\"',;\\",
  "é",
  "\u00ff",
  "\u0100",
  "\u017f", // ſ, which case-insensitive matching folds to s
  "\u212a", // Kelvin sign, folded to k
  "\u0663", // Arabic-Indic three
  "\uff11", // fullwidth one
  "\ud800",
  "\udc00",
  "😀",
  "\ufeff",
];

function randomChar(rng: Rng): string {
  const r = rng.next();
  if (r < 0.6) return rng.pick([...B64URL]);
  return rng.pick(HOSTILE);
}

function randomString(rng: Rng, maxLength: number): string {
  let out = "";
  const n = rng.int(maxLength + 1);
  for (let i = 0; i < n; i++) out += randomChar(rng);
  return out;
}

/** A canonical base64url text, often bent out of shape. */
function payloadText(rng: Rng): string {
  const data =
    rng.next() < 0.5
      ? rng.bytes(rng.int(48))
      : Buffer.from(JSON.stringify({ k: "v".repeat(rng.int(20)), n: rng.int(1000) }));
  let text = base64UrlEncode(data);
  const r = rng.next();
  if (r < 0.55 || text.length === 0) return text;
  const at = rng.int(text.length);
  if (r < 0.7) {
    // The next character in the alphabet: in the last position, often a set trailing bit.
    const next = B64URL[(B64URL.indexOf(text[at]!) + 1) % 64]!;
    return text.slice(0, at) + next + text.slice(at + 1);
  }
  if (r < 0.75) text = `${text.slice(0, -1)}${B64URL[(B64URL.indexOf(text.at(-1)!) + 1) % 64]}`;
  else if (r < 0.8) text += rng.pick(["=", "==", "A", "AA", "AAA"]);
  else if (r < 0.9) text = text.slice(0, at) + randomChar(rng) + text.slice(at + 1);
  else text = text.slice(0, at) + randomChar(rng) + text.slice(at);
  return text;
}

const B62_SPECIALS = [
  b62Encode(0),
  b62Encode(61),
  b62Encode(62),
  b62Encode(2 ** 32),
  b62Encode(Number.MAX_SAFE_INTEGER),
  b62Encode(2n ** 53n),
  b62Encode(2n ** 53n + 1n),
  b62Encode(62n ** 12n - 1n), // twelve z's, far past 2^53
  b62Encode(62n ** 12n),
  "000000000001",
  "0000000000001",
  "-1",
  "+1",
  "1e3",
  "",
];

/** A base62 timestamp, often not one. */
function timestampText(rng: Rng, near: number): string {
  const r = rng.next();
  if (r < 0.45) return b62Encode(near + rng.int(2_000_000) - 1_000_000);
  if (r < 0.6) return rng.pick(B62_SPECIALS);
  if (r < 0.8) {
    let out = "";
    const n = rng.int(15);
    for (let i = 0; i < n; i++) out += rng.pick([...B62]);
    return out;
  }
  const base = b62Encode(near);
  const at = rng.int(base.length + 1);
  return base.slice(0, at) + randomChar(rng) + base.slice(at);
}

/** Text in or near the signed layout `s1.` payload `:` base62 `.` base62. */
function layoutText(rng: Rng, near: number): string {
  if (rng.next() < 0.05) return randomString(rng, 60);
  const prefix =
    rng.next() < 0.85 ? "s1." : rng.pick(["s2.", "S1.", "s1", "", "s1..", " s1.", "s1:", "\u017f1."]);
  const sep1 = rng.next() < 0.85 ? ":" : rng.pick([".", "::", "", ":.", " :"]);
  const sep2 = rng.next() < 0.85 ? "." : rng.pick([":", "..", "", ". "]);
  const suffix = rng.next() < 0.85 ? "" : rng.pick(["\n", ".", ":", "x", "\u0000", ".0", "\r\n"]);
  return `${prefix}${payloadText(rng)}${sep1}${timestampText(rng, near)}${sep2}${timestampText(rng, near)}${suffix}`;
}

const corpus = badInputs("cookie-session-value");

// ---------------------------------------------------------------------------------------------

describe("decodeBase64Url reads exactly what core's base64UrlDecode reads", () => {
  function same(text: string) {
    const reference = base64UrlDecode(text);
    const fast = decodeBase64Url(text);
    if (reference === null) expect(fast, JSON.stringify(text)).toBeNull();
    else expect(fast?.equals(reference), JSON.stringify(text)).toBe(true);
    return reference !== null;
  }

  it("over 30 000 seeded random, bent and hostile strings", () => {
    const rng = prng(0xb64);
    let accepted = 0;
    const total = 30_000;
    for (let i = 0; i < total; i++) {
      const text = rng.next() < 0.5 ? payloadText(rng) : randomString(rng, 12);
      if (same(text)) accepted++;
    }
    // Both kinds are well represented, so the agreement says something.
    expect(accepted).toBeGreaterThan(total / 5);
    expect(total - accepted).toBeGreaterThan(total / 5);
  });

  it("every length's canonical spelling, and each wrong last character", () => {
    for (let n = 0; n < 40; n++) {
      const text = base64UrlEncode(Buffer.alloc(n, 0xa5));
      expect(same(text)).toBe(true);
      if (text.length > 0) {
        for (const c of B64URL) same(text.slice(0, -1) + c);
      }
      for (const extra of ["", "=", "==", "A", "+", "/"]) same(text + extra);
    }
  });

  it("over the cookie-session-value corpus, whole and after its version prefix", async () => {
    for (const entry of corpus) {
      const { value } = await expand(signedKit, entry.value);
      for (const text of [entry.value, value, value.slice(3), value.split(":")[0]!.slice(3)]) same(text);
    }
  });
});

describe("parseSignedLayout reads exactly what the layout regex + base64UrlDecode + b62Decode read", () => {
  function same(text: string) {
    const reference = referenceLayout(text);
    const fast = parseSignedLayout(text);
    if (reference === null) {
      expect(fast, JSON.stringify(text)).toBeNull();
      return false;
    }
    expect(fast, JSON.stringify(text)).not.toBeNull();
    expect(fast!.bytes.equals(reference.bytes)).toBe(true);
    expect([fast!.issuedAt, fast!.expiresAt]).toEqual([reference.issuedAt, reference.expiresAt]);
    return true;
  }

  it("over 40 000 seeded layouts, most of them bent", () => {
    const rng = prng(0x5e1);
    let accepted = 0;
    const total = 40_000;
    for (let i = 0; i < total; i++) if (same(layoutText(rng, 1_750_000_000_000))) accepted++;
    expect(accepted).toBeGreaterThan(total / 10);
    expect(total - accepted).toBeGreaterThan(total / 5);
  });

  it("at the edges of the timestamps: digit counts, 2^53, separators", () => {
    const payload = base64UrlEncode(Buffer.from('{"k":"v"}'));
    for (const a of [...B62_SPECIALS, "z".repeat(11), "1".repeat(12), "1".repeat(13)]) {
      for (const b of [...B62_SPECIALS, "z".repeat(11)]) {
        for (const [s1, s2] of [
          [":", "."],
          [":", ":"],
          [".", "."],
        ] as const) {
          same(`s1.${payload}${s1}${a}${s2}${b}`);
        }
      }
    }
    expect(same(`s1.${payload}:${b62Encode(Number.MAX_SAFE_INTEGER)}.0`)).toBe(true);
    expect(same(`s1.${payload}:${b62Encode(2n ** 53n)}.0`)).toBe(false);
    expect(same("s1.:0.0")).toBe(true);
  });

  it("over the cookie-session-value corpus: the text before the last ':' of each value", async () => {
    for (const entry of corpus) {
      const { value } = await expand(signedKit, entry.value);
      for (const v of [entry.value, value]) {
        const at = v.lastIndexOf(":");
        same(at < 0 ? v : v.slice(0, at));
        same(v);
      }
    }
  });
});

describe("b62EncodeMs writes what core's b62Encode writes", () => {
  it("for seeded safe integers, powers of 62 and their neighbours", () => {
    const rng = prng(62);
    const values = [0, 1, 61, 62, 63, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1];
    for (let p = 1; p <= 62 ** 8; p *= 62) values.push(p - 1, p, p + 1);
    for (let i = 0; i < 5000; i++) values.push(Math.floor(rng.next() * 2 ** rng.int(54)));
    for (const v of values) expect(b62EncodeMs(v), String(v)).toBe(b62Encode(v));
  });

  it("hands anything else to b62Encode: the same text for a negative, the same throw for the rest", () => {
    expect(b62EncodeMs(-1)).toBe("-1");
    for (const bad of [Number.NaN, 1.5, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => b62EncodeMs(bad)).toThrow();
      expect(() => b62Encode(bad)).toThrow();
    }
  });
});

describe("the signed format against the Signer + regex reference", () => {
  const secrets = [SECRET, OLD_SECRET];
  const fast = signedFormat(
    secrets.map((s) => Buffer.from(s)),
    "session",
  );
  const reference = referenceSigned(secrets, "session");
  const current = new Signer({ key: SECRET, salt: signedSalt("session") });
  const retired = new Signer({ key: OLD_SECRET, salt: signedSalt("session") });
  const foreign = new Signer({ key: OTHER_SECRET, salt: signedSalt("session") });
  const NOW_MS = 1_750_000_000_000;

  function same(value: string, now = NOW_MS) {
    const expected = reference.open(value, now);
    expect(fast.open(value, now), JSON.stringify(value)).toEqual(expected);
    return expected;
  }

  it("seal writes the same bytes, which core's Signer verifies", () => {
    const rng = prng(7);
    for (let i = 0; i < 500; i++) {
      const data = rng.next() < 0.5 ? rng.bytes(rng.int(300)) : Buffer.from(JSON.stringify({ i }));
      const issuedAt = rng.pick([0, 1, NOW_MS, NOW_MS + rng.int(1e6), Number.MAX_SAFE_INTEGER]);
      const later = Math.min(issuedAt + 86_400_000, Number.MAX_SAFE_INTEGER);
      const expiresAt = rng.pick([0, issuedAt, later, Number.MAX_SAFE_INTEGER]);
      const sealed = fast.seal(data, issuedAt, expiresAt);
      expect(sealed).toBe(reference.seal(data, issuedAt, expiresAt));
      expect(current.unsign(sealed).startsWith(SIGNED_PREFIX)).toBe(true);
    }
  });

  it("open gives the same answer for 10 000 seeded values: signed, fallback-signed, foreign-signed, tampered", () => {
    const rng = prng(0x51e);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const text = layoutText(rng, NOW_MS);
      const signer = rng.pick([current, current, retired, retired, foreign]);
      // signature() rather than sign(): sign() refuses a lone surrogate, and such text must be
      // refused by open just the same when it does arrive.
      let value = `${text}:${signer.signature(text)}`;
      const r = rng.next();
      if (r < 0.1) {
        const at = text.length + 1 + rng.int(43);
        value = value.slice(0, at) + randomChar(rng) + value.slice(at + 1);
      } else if (r < 0.15) value = value.slice(0, -1 - rng.int(3));
      else if (r < 0.2) value += rng.pick(["=", "A", " ", ":", "\n"]);
      const now = rng.next() < 0.9 ? NOW_MS : rng.pick([0, NOW_MS * 2, Number.MAX_SAFE_INTEGER]);
      const result = same(value, now);
      const key = result.ok ? (result.usedFallback ? "fallback" : "ok") : result.reason;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    // Each way out is taken often enough for the agreement to mean something.
    for (const key of ["ok", "fallback", "expired", "invalid"]) {
      expect(outcomes.get(key) ?? 0, key).toBeGreaterThan(50);
    }
  });

  it("open gives the same answer for the cookie-session-value corpus", async () => {
    for (const entry of corpus) {
      const { value } = await expand(signedKit, entry.value);
      same(entry.value);
      same(value);
    }
  });

  it("open gives the same answer for non-strings and values at the length cap", () => {
    for (const v of [undefined, null, 42, {}, ["s1."]]) same(v as unknown as string);
    const payload = "A".repeat(4096);
    const text = `s1.${payload}:0.${b62Encode(NOW_MS + 1000)}`;
    const signed = current.sign(text);
    expect(signed.length).toBeGreaterThan(MAX_VALUE_LENGTH);
    expect(same(signed)).toEqual(INVALID);
    const fits = current.sign(`s1.${"A".repeat(4000)}:0.${b62Encode(NOW_MS + 1000)}`);
    expect(same(fits).ok).toBe(true);
  });
});

describe("the encrypted format's 64-bit header", () => {
  const key = deriveEncryptionKey(Buffer.from(SECRET), "session");
  const format = encryptedFormat([key], "session");
  const aad = Buffer.from("v1.session");

  /** Seals a header of any two 64-bit values, written with BigInt as the format always did. */
  function sealHeader(expiresAt: bigint, issuedAt: bigint): string {
    const header = Buffer.alloc(16);
    header.writeBigUInt64BE(expiresAt, 0);
    header.writeBigUInt64BE(issuedAt, 8);
    const nonce = Buffer.alloc(12, 7);
    const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: 16 });
    cipher.setAAD(aad);
    const body = [cipher.update(header), cipher.update("{}"), cipher.final(), cipher.getAuthTag()];
    return `v1.${base64UrlEncode(Buffer.concat([nonce, ...body]))}`;
  }

  /** The two header values of a sealed cookie, read with BigInt. */
  function readHeader(value: string): [bigint, bigint] {
    const bytes = Buffer.from(base64UrlDecode(value.slice(3))!);
    const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, 12), { authTagLength: 16 });
    decipher.setAAD(aad);
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const plain = Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]);
    return [plain.readBigUInt64BE(0), plain.readBigUInt64BE(8)];
  }

  const edges = [
    0,
    1,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 32 + 1,
    1_750_000_000_000,
    2 ** 52,
    Number.MAX_SAFE_INTEGER,
  ];

  it("seal writes each value exactly, as an unsigned 64-bit big-endian integer", () => {
    for (const issuedAt of edges) {
      for (const expiresAt of edges) {
        const sealed = format.seal(Buffer.from("{}"), issuedAt, expiresAt);
        expect(readHeader(sealed)).toEqual([BigInt(expiresAt), BigInt(issuedAt)]);
      }
    }
  });

  it("seal still throws for a time that is not a non-negative safe integer", () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 64]) {
      expect(() => format.seal(Buffer.from("{}"), bad, 1)).toThrow();
      expect(() => format.seal(Buffer.from("{}"), 1, bad)).toThrow();
    }
  });

  it("open reads each value exactly, and refuses one past 2^53 - 1", () => {
    for (const issuedAt of edges) {
      const now = issuedAt - 1;
      const opened = format.open(sealHeader(BigInt(Number.MAX_SAFE_INTEGER), BigInt(issuedAt)), now);
      expect(opened).toEqual({
        ok: true,
        data: "{}",
        issuedAt,
        expiresAt: Number.MAX_SAFE_INTEGER,
        usedFallback: false,
      });
    }
    for (const tooBig of [2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]) {
      expect(format.open(sealHeader(tooBig, 0n), 0)).toEqual(INVALID);
      expect(format.open(sealHeader(10n, tooBig), 0)).toEqual(INVALID);
    }
    // 2^53 - 1 is the last value read; its high word is 0x1fffff.
    expect(format.open(sealHeader(2n ** 53n - 1n, 0n), 0).ok).toBe(true);
    expect(format.open(sealHeader(2n ** 32n, 0n), 2 ** 32 - 1)).toMatchObject({ expiresAt: 2 ** 32 });
    expect(format.open(sealHeader(2n ** 32n, 0n), 2 ** 32)).toEqual(EXPIRED);
  });
});
