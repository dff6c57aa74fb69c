// Builds the `{{…}}` tokens of bad-inputs.json (requirements.md §5) for each cookie-session mode.
import { createCipheriv, randomBytes } from "node:crypto";
import { deflateSync } from "node:zlib";
import {
  b62Encode,
  base64UrlDecode,
  base64UrlEncode,
  DJANGO_SIGNED_COOKIES_SALT,
  getCookieSigner,
  Signer,
  TimestampSigner,
} from "@porter/core";
import { deriveEncryptionKey, encryptedFormat } from "../src/encrypted-format.js";
import {
  type CookieSessionMode,
  type CookieSessionStore,
  createCookieSessionStore,
  pythonJsonCodec,
} from "../src/index.js";
import { signedFormat } from "../src/signed-format.js";
import { OLD_SECRET, SECRET } from "./helpers.js";

export const MAX_AGE = 1_209_600;
/** Seconds; the tests' fixed "now". */
export const NOW = 1_750_000_000;
const PURPOSE = "session";

export interface ModeKit {
  readonly mode: CookieSessionMode;
  /** The store under test (current secret, OLD_SECRET as fallback) with its clock at `atSec`. */
  store(atSec?: number): CookieSessionStore;
  /** A cookie for `json` issued at `atSec`, by the store under test (or by one keyed with `secret`). */
  issue(json: string, atSec?: number, secret?: string): Promise<string>;
  /** The value's three parts in the Django layout (payload, timestamp, signature) or their analogue. */
  parts(value: string): [string, string, string];
  /** A cookie whose timestamp is `t` seconds (any size), signed with the current secret. */
  signAt(t: bigint, json: string): string;
  /** Authentic bytes that are not this mode's text encoding. */
  signRawBytes(bytes: Buffer): string;
  /** An authentic payload segment signed verbatim, where the mode has one. */
  signRaw(segment: string): string;
}

const codec = pythonJsonCodec();

function base(mode: CookieSessionMode) {
  const store = (atSec = NOW) =>
    createCookieSessionStore({
      secret: SECRET,
      fallbackSecrets: [OLD_SECRET],
      mode,
      maxAge: MAX_AGE,
      clock: () => atSec * 1000,
    });
  const issue = async (json: string, atSec = NOW, secret = SECRET) => {
    const s = createCookieSessionStore({ secret, mode, maxAge: MAX_AGE, clock: () => atSec * 1000 });
    return s.encode(json, (atSec + MAX_AGE) * 1000);
  };
  return { store, issue };
}

/** Django's `TimestampSigner.sign` at an arbitrary timestamp (beyond 2^53 too). */
function djangoSignAt(value: string, t: bigint): string {
  return new Signer({ key: SECRET, salt: DJANGO_SIGNED_COOKIES_SALT }).sign(`${value}:${b62Encode(t)}`);
}

export const djangoKit: ModeKit = {
  mode: "django",
  ...base("django"),
  parts(value) {
    const [p = "", t = "", s = ""] = value.split(":");
    return [p, t, s];
  },
  signAt: (t, json) => djangoSignAt(base64UrlEncode(Buffer.from(json)), t),
  signRawBytes: (bytes) => djangoSignAt(base64UrlEncode(bytes), BigInt(NOW)),
  signRaw: (segment) => djangoSignAt(segment, BigInt(NOW)),
};

const signedSigner = new Signer({ key: SECRET, salt: "porter.cookie-session.v1/hmac-sha256/session" });

export const signedKit: ModeKit = {
  mode: "signed",
  ...base("signed"),
  parts(value) {
    const [p = "", t = "", s = ""] = value.split(":");
    return [p, t, s];
  },
  signAt: (t, json) =>
    signedSigner.sign(
      `s1.${base64UrlEncode(Buffer.from(json))}:${b62Encode(t * 1000n)}.${b62Encode((t + BigInt(MAX_AGE)) * 1000n)}`,
    ),
  signRawBytes: (bytes) =>
    signedFormat([Buffer.from(SECRET)], PURPOSE).seal(bytes, NOW * 1000, (NOW + MAX_AGE) * 1000),
  signRaw: (segment) => signedSigner.sign(segment),
};

const ENC_KEY = deriveEncryptionKey(Buffer.from(SECRET), PURPOSE);

/** Seals a header of any 64-bit values, bypassing the store's own checks. */
function sealEncrypted(expiresAt: bigint, issuedAt: bigint, data: Buffer): string {
  const header = Buffer.alloc(16);
  header.writeBigUInt64BE(expiresAt, 0);
  header.writeBigUInt64BE(issuedAt, 8);
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", ENC_KEY, nonce, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(`v1.${PURPOSE}`));
  return `v1.${base64UrlEncode(Buffer.concat([nonce, cipher.update(header), cipher.update(data), cipher.final(), cipher.getAuthTag()]))}`;
}

const U64_MAX = 2n ** 64n - 1n;

export const encryptedKit: ModeKit = {
  mode: "encrypted",
  ...base("encrypted"),
  // data / metadata / MAC are the ciphertext, the nonce and the tag.
  parts(value) {
    const bytes = Buffer.from(base64UrlDecode(value.slice(3))!);
    return [
      base64UrlEncode(bytes.subarray(12, bytes.length - 16)),
      base64UrlEncode(bytes.subarray(0, 12)),
      base64UrlEncode(bytes.subarray(bytes.length - 16)),
    ];
  },
  signAt: (t, json) => {
    const cap = (n: bigint) => (n > U64_MAX ? U64_MAX : n);
    return sealEncrypted(cap((t + BigInt(MAX_AGE)) * 1000n), cap(t * 1000n), Buffer.from(json));
  },
  signRawBytes: (bytes) =>
    encryptedFormat([ENC_KEY], PURPOSE).seal(bytes, NOW * 1000, (NOW + MAX_AGE) * 1000),
  signRaw: (segment) => djangoSignAt(segment, BigInt(NOW)),
};

export const KITS: readonly ModeKit[] = [encryptedKit, signedKit, djangoKit];

// ---------------------------------------------------------------------------------------------

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function flipChar(c: string): string {
  const alphabet = B64URL.includes(c)
    ? B64URL
    : "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  return alphabet[(alphabet.indexOf(c) + 1) % alphabet.length] ?? "A";
}

function transform(value: string, name: string | undefined): string {
  switch (name) {
    case undefined:
      return value;
    case "flip-first":
      return flipChar(value[0]!) + value.slice(1);
    case "flip-last":
      return value.slice(0, -1) + flipChar(value.at(-1)!);
    case "drop-last":
      return value.slice(0, -1);
    case "std-alphabet":
      return value.replace(/-/g, "+").replace(/_/g, "/");
    case "insert-space": {
      const mid = value.length >> 1;
      return `${value.slice(0, mid)} ${value.slice(mid)}`;
    }
    case "upper":
      return value.toUpperCase();
    case "flip-tag": {
      const bytes = Buffer.from(base64UrlDecode(value.slice(3))!);
      bytes[bytes.length - 1]! ^= 0x01;
      return `v1.${base64UrlEncode(bytes)}`;
    }
    case "drop-iv-byte": {
      const bytes = Buffer.from(base64UrlDecode(value.slice(3))!);
      return `v1.${base64UrlEncode(Buffer.concat([bytes.subarray(0, 11), bytes.subarray(12)]))}`;
    }
    default:
      throw new Error(`unknown transform ${name}`);
  }
}

/** `NOW`, `MAX_AGE`, integers, `+` and `-`, in seconds, as a bigint. */
function evaluate(expression: string): bigint {
  const terms = expression.replace(/\s+/g, "").match(/[+-]?[^+-]+/g) ?? [];
  let total = 0n;
  for (const term of terms) {
    const sign = term.startsWith("-") ? -1n : 1n;
    const name = term.replace(/^[+-]/, "");
    const value = name === "NOW" ? BigInt(NOW) : name === "MAX_AGE" ? BigInt(MAX_AGE) : BigInt(name);
    total += sign * value;
  }
  return total;
}

export interface Expansion {
  /** The cookie value to test. */
  value: string;
  /** Extra information about how the value was built (for the test to check more). */
  note?: "fallback-key" | "foreign-format";
}

/** Expands one bad-inputs value for a mode. */
export async function expand(kit: ModeKit, raw: string): Promise<Expansion> {
  const fn = /^\{\{([A-Z_0-9]+):([\s\S]*)\}\}$/.exec(raw);
  if (fn !== null) {
    const [, name, args = ""] = fn;
    const split = (k: number): string[] => {
      const out: string[] = [];
      let rest = args;
      for (let i = 0; i < k; i++) {
        const at = rest.indexOf(":");
        out.push(rest.slice(0, at));
        rest = rest.slice(at + 1);
      }
      out.push(rest);
      return out;
    };
    switch (name) {
      case "SIGN_JSON":
        return { value: await kit.issue(args) };
      case "SIGN_JSON_AT": {
        const [t = "", json = ""] = split(1);
        const at = evaluate(t);
        if (at <= BigInt(Number.MAX_SAFE_INTEGER) / 1000n)
          return { value: await kit.issue(json, Number(at)) };
        return { value: kit.signAt(at, json) };
      }
      case "SIGN_JSON_SALT": {
        const [salt, json = ""] = split(1);
        if (salt === "messages") {
          return {
            value: getCookieSigner({ secretKey: SECRET, salt: "django.contrib.messages" }).signPayload(json, {
              compress: true,
            }),
          };
        }
        return { value: await djangoKit.issue(json) };
      }
      case "SIGN_JSON_KEY": {
        const [which, json = ""] = split(1);
        if (which !== "fallback") throw new Error(`unsupported key ${which}`);
        return { value: await kit.issue(json, NOW, OLD_SECRET), note: "fallback-key" };
      }
      case "SIGN_RAW":
        return { value: kit.signRaw(args) };
      case "SIGN_RAW_BYTES_HEX":
        return { value: kit.signRawBytes(Buffer.from(args, "hex")) };
      case "SIGN_ZLIB_BOMB": {
        const bomb = deflateSync(Buffer.alloc(Number(args)), { level: 9 });
        const signer = new TimestampSigner({ key: SECRET, salt: DJANGO_SIGNED_COOKIES_SALT, now: () => NOW });
        return {
          value: signer.sign(`.${base64UrlEncode(bomb)}`),
          note: kit.mode === "django" ? undefined : "foreign-format",
        } as Expansion;
      }
      case "B64":
        return { value: base64UrlEncode(Buffer.from(args)) };
      default:
        throw new Error(`unknown function token ${name}`);
    }
  }

  const valid = await kit.issue('{"k":"v"}', NOW - 120);
  const other = await kit.issue('{"k":"v2"}', NOW);
  const [vp, vt, vs] = kit.parts(valid);
  const [op, ot, os] = kit.parts(other);
  const tokens: Record<string, string> = {
    VALID: valid,
    VALID_PAYLOAD: vp,
    VALID_TS: vt,
    VALID_SIG: vs,
    OTHER_VALID: other,
    OTHER_VALID_PAYLOAD: op,
    OTHER_VALID_TS: ot,
    OTHER_VALID_SIG: os,
    VALID_ENC: await encryptedKit.issue('{"k":"v"}'),
    VALID_SIGNED_ONLY: await signedKit.issue('{"k":"v"}'),
  };
  let out = "";
  let last = 0;
  for (const m of raw.matchAll(/\{\{([A-Z_]+)(?:\|([a-z-]+))?\}\}/g)) {
    const token = tokens[m[1]!];
    if (token === undefined) throw new Error(`unknown token ${m[1]}`);
    out += raw.slice(last, m.index) + transform(token, m[2]);
    last = m.index + m[0].length;
  }
  return { value: out + raw.slice(last) };
}

export { codec as djangoCodec };
