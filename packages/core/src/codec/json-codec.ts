import type { SessionCodec, SessionData } from "../contracts.js";
import { ConfigError, DecodeError, InvalidArgumentError, SessionTooLargeError } from "../errors.js";
import { describeValue } from "../signing/python-json.js";
import { MEMBER_CODEC, type MemberCodec, RawMember, splitMembers } from "./json-members.js";

/**
 * The reserved key that marks a tagged value in `jsonCodec`'s output. A user object that has this
 * key of its own is itself wrapped in an `"Object"` tag, so user data can never pass for a tag.
 */
export const JSON_CODEC_TAG = "~porter";

/** Default bound on `jsonCodec`'s encoded size, in UTF-8 bytes: 1 MiB. */
export const JSON_CODEC_MAX_BYTES = 1024 * 1024;
/** Default bound on `jsonCodec`'s nesting (the session object itself is depth 0). */
export const JSON_CODEC_MAX_DEPTH = 64;

/** A bigint with more digits costs quadratic time to parse; none fits a sane session anyway. */
const MAX_BIGINT_CHARS = 4096;
const BIGINT_TEXT = /^-?(?:0|[1-9][0-9]*)$/;

export interface JsonCodecOptions {
  /** Encoded size limit in UTF-8 bytes: `encode` throws `SessionTooLargeError`, `decode` throws `DecodeError`. @default 1 MiB */
  readonly maxBytes?: number | undefined;
  /** Nesting limit: `encode` throws `InvalidArgumentError` (this also stops cycles), `decode` throws `DecodeError`. @default 64 */
  readonly maxDepth?: number | undefined;
}

type Tagged = { [JSON_CODEC_TAG]: string; v?: unknown };

function tag(type: string, v: unknown): Tagged {
  return { [JSON_CODEC_TAG]: type, v };
}

/** Sets an own data property; a plain assignment of `__proto__` would call the prototype setter instead. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function utf8Length(text: string, limit: number): number {
  // A UTF-16 code unit is 1 to 3 UTF-8 bytes: skip the count when even the worst case fits.
  return text.length * 3 <= limit ? text.length : Buffer.byteLength(text, "utf8");
}

/**
 * The default session codec: JSON that also round-trips `Date` (including an invalid one),
 * `BigInt`, `Map`, `Set`, `Uint8Array` (a `Buffer` comes back as a plain `Uint8Array`) and
 * `undefined`, nested in any combination. Strings round-trip exactly, NUL and lone surrogates
 * included (they are written as `\u0000`/`\ud800` escapes, so the stored text is valid UTF-8).
 *
 * Encoding. A value JSON cannot hold is written as a tag object `{"~porter": TYPE, "v": PAYLOAD}`:
 * `Date` → epoch ms (or `null`), `BigInt` → decimal string, `Map` → `[[key, value], …]`,
 * `Set` → `[value, …]`, `Uint8Array` → canonical standard base64, `undefined` → no `v` at all.
 * A user object that has an own `"~porter"` key is written as `{"~porter": "Object", "v": {…}}`, and
 * the object under `v` is read literally (its `"~porter"` key is data, not a tag).
 *
 * Why it is unambiguous: in the encoder's output every object in value position without the tag
 * key is a user object, and every object with it was written by the encoder, with an exact shape
 * (the tag key and `v`, nothing else); a user object that has the tag key is never written in value
 * position, only as the literal payload of an `"Object"` tag. The decoder reads by the same rule and
 * refuses any tag object of another type or shape, so `decode(encode(x))` equals `x` and no stored
 * text decodes two ways.
 *
 * Refused on encode with `InvalidArgumentError`: NaN and ±Infinity (never rewritten as `null`),
 * functions, symbols, class instances other than the types above (convert them to plain data),
 * bigints over 4096 characters, nesting past `maxDepth` and cycles; `SessionTooLargeError` past
 * `maxBytes`. Not preserved: `-0` (reads back as `0`), array holes (read back as `undefined`),
 * symbol keys and non-index properties of arrays (dropped, as `JSON.stringify` does).
 *
 * Decoding never builds a prototype chain from data: keys named `__proto__`, `constructor` and
 * `prototype` are kept as ordinary own data properties (exactly as `JSON.parse` defines them,
 * so a session key `__proto__` round-trips) and every object read has `Object.prototype` as its
 * prototype. `decode` throws `DecodeError` for text that is too large, too deep, not JSON, not a
 * JSON object, or carries a malformed tag.
 */
export function jsonCodec(options: JsonCodecOptions = {}): SessionCodec {
  const maxBytes = options.maxBytes ?? JSON_CODEC_MAX_BYTES;
  const maxDepth = options.maxDepth ?? JSON_CODEC_MAX_DEPTH;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 2)
    throw new ConfigError("jsonCodec maxBytes must be an integer ≥ 2");
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1 || maxDepth > 10_000) {
    throw new ConfigError("jsonCodec maxDepth must be an integer from 1 to 10000");
  }

  const tooDeep = (): InvalidArgumentError =>
    new InvalidArgumentError(`session data nests deeper than ${maxDepth} levels (or refers to itself)`);

  /** The JSON-ready form of `v`: `v` itself when nothing in it needs a tag, a tagged copy otherwise. */
  const prepare = (v: unknown, depth: number): unknown => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return v;
      case "number":
        if (!Number.isFinite(v)) {
          throw new InvalidArgumentError(`${v} cannot be stored in a session: JSON has no NaN or Infinity`);
        }
        return v;
      case "bigint": {
        const text = v.toString();
        if (text.length > MAX_BIGINT_CHARS)
          throw new InvalidArgumentError("bigint too large to store in a session");
        return tag("BigInt", text);
      }
      case "undefined":
        return { [JSON_CODEC_TAG]: "undefined" };
      case "object":
        break;
      default:
        throw new InvalidArgumentError(`${describeValue(v)} cannot be stored in a session`);
    }
    if (v === null) return null;
    if (Array.isArray(v)) {
      if (depth >= maxDepth) throw tooDeep();
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        const ready = prepare(item, depth + 1);
        if (out === undefined && ready !== item) out = v.slice(0, i);
        if (out !== undefined) out.push(ready);
      }
      return out ?? v;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) {
      if (depth >= maxDepth) throw tooDeep();
      const record = v as Record<string, unknown>;
      const keys = Object.keys(record);
      let out: Record<string, unknown> | undefined;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const item = record[key];
        const ready = prepare(item, depth + 1);
        if (out === undefined && ready !== item) {
          out = {};
          for (let j = 0; j < i; j++) setOwn(out, keys[j]!, record[keys[j]!]);
        }
        if (out !== undefined) setOwn(out, key, ready);
      }
      const result = out ?? record;
      return Object.hasOwn(record, JSON_CODEC_TAG) ? tag("Object", result) : result;
    }
    if (v instanceof Date) {
      const time = v.getTime();
      return tag("Date", Number.isNaN(time) ? null : time);
    }
    if (v instanceof Uint8Array) {
      return tag("Uint8Array", Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64"));
    }
    if (v instanceof Map) {
      if (depth >= maxDepth) throw tooDeep();
      const entries: unknown[] = [];
      for (const [key, item] of v) entries.push([prepare(key, depth + 1), prepare(item, depth + 1)]);
      return tag("Map", entries);
    }
    if (v instanceof Set) {
      if (depth >= maxDepth) throw tooDeep();
      const items: unknown[] = [];
      for (const item of v) items.push(prepare(item, depth + 1));
      return tag("Set", items);
    }
    throw new InvalidArgumentError(
      `${describeValue(v)} cannot be stored in a session; convert it to plain data`,
    );
  };

  const corrupt = (what: string): DecodeError => new DecodeError(`session data is corrupt: ${what}`);

  /** Undoes `prepare` on a fresh `JSON.parse` result, in place where it can. */
  const revive = (v: unknown, depth: number): unknown => {
    if (typeof v !== "object" || v === null) return v;
    if (Array.isArray(v)) {
      if (depth >= maxDepth) throw corrupt("nested too deep");
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (typeof item === "object" && item !== null) v[i] = revive(item, depth + 1);
      }
      return v;
    }
    const record = v as Record<string, unknown>;
    if (Object.hasOwn(record, JSON_CODEC_TAG)) return reviveTag(record, depth);
    if (depth >= maxDepth) throw corrupt("nested too deep");
    reviveMembers(record, depth);
    return record;
  };

  const reviveMembers = (record: Record<string, unknown>, depth: number): void => {
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (typeof item === "object" && item !== null) {
        const revived = revive(item, depth + 1);
        if (revived !== item) setOwn(record, key, revived);
      }
    }
  };

  const reviveTag = (record: Record<string, unknown>, depth: number): unknown => {
    const type = record[JSON_CODEC_TAG];
    const keys = Object.keys(record);
    if (type === "undefined") {
      if (keys.length !== 1) throw corrupt("malformed tag");
      return undefined;
    }
    if (keys.length !== 2 || !Object.hasOwn(record, "v")) throw corrupt("malformed tag");
    const payload = record.v;
    switch (type) {
      case "Date": {
        if (payload === null) return new Date(Number.NaN);
        const date = Number.isInteger(payload) ? new Date(payload as number) : null;
        if (date === null || Number.isNaN(date.getTime())) throw corrupt("malformed Date");
        return date;
      }
      case "BigInt":
        if (typeof payload !== "string" || payload.length > MAX_BIGINT_CHARS || !BIGINT_TEXT.test(payload)) {
          throw corrupt("malformed BigInt");
        }
        return BigInt(payload);
      case "Uint8Array": {
        if (typeof payload !== "string") throw corrupt("malformed Uint8Array");
        const bytes = Buffer.from(payload, "base64");
        if (bytes.toString("base64") !== payload) throw corrupt("malformed Uint8Array");
        return new Uint8Array(bytes);
      }
      case "Map": {
        if (depth >= maxDepth) throw corrupt("nested too deep");
        if (!Array.isArray(payload)) throw corrupt("malformed Map");
        const map = new Map<unknown, unknown>();
        for (const entry of payload) {
          if (!Array.isArray(entry) || entry.length !== 2) throw corrupt("malformed Map");
          map.set(revive(entry[0], depth + 1), revive(entry[1], depth + 1));
        }
        return map;
      }
      case "Set": {
        if (depth >= maxDepth) throw corrupt("nested too deep");
        if (!Array.isArray(payload)) throw corrupt("malformed Set");
        const set = new Set<unknown>();
        for (const item of payload) set.add(revive(item, depth + 1));
        return set;
      }
      case "Object": {
        if (depth >= maxDepth) throw corrupt("nested too deep");
        if (!isPlainObject(payload) || !Object.hasOwn(payload, JSON_CODEC_TAG))
          throw corrupt("malformed Object");
        reviveMembers(payload, depth);
        return payload;
      }
      default:
        throw corrupt("unknown tag");
    }
  };

  const checkSize = (text: string): string => {
    const size = utf8Length(text, maxBytes);
    if (size > maxBytes) throw new SessionTooLargeError(size, maxBytes);
    return text;
  };

  const tooLarge = (text: string): boolean => text.length > maxBytes || utf8Length(text, maxBytes) > maxBytes;

  const members: MemberCodec = {
    split(text) {
      if (typeof text !== "string" || tooLarge(text)) return null;
      return splitMembers(text, maxDepth, JSON_CODEC_TAG);
    },
    member(raw) {
      let value: unknown;
      try {
        value = JSON.parse(raw.text);
      } catch (error) {
        throw new DecodeError("session data is not JSON", { cause: error });
      }
      return raw.tagged ? revive(value, 1) : value;
    },
    encodeMembers(entries) {
      // The same text `encode` writes for the same data, member by member; a member that was
      // never decoded is its stored text again.
      let text = "{";
      let first = true;
      for (const [key, value] of entries) {
        if (!first) text += ",";
        first = false;
        text +=
          value instanceof RawMember
            ? `${value.keyText}:${value.text}`
            : `${JSON.stringify(key)}:${JSON.stringify(prepare(value, 1))}`;
      }
      text += "}";
      return checkSize(entries.has(JSON_CODEC_TAG) ? `{"${JSON_CODEC_TAG}":"Object","v":${text}}` : text);
    },
  };

  const codec: SessionCodec & { readonly [MEMBER_CODEC]: MemberCodec } = {
    name: "json",
    [MEMBER_CODEC]: members,
    encode(data: SessionData): string {
      if (!isPlainObject(data)) throw new InvalidArgumentError("session data must be a plain object");
      return checkSize(JSON.stringify(prepare(data, 0)));
    },
    decode(text: string): SessionData {
      if (typeof text !== "string") throw new DecodeError("session data is not a string");
      if (tooLarge(text)) {
        throw new DecodeError(`session data is larger than ${maxBytes} bytes`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw new DecodeError("session data is not JSON", { cause: error });
      }
      if (!isPlainObject(parsed)) throw corrupt("not a JSON object");
      const data = revive(parsed, 0);
      if (!isPlainObject(data)) throw corrupt("not a JSON object");
      return data;
    },
  };
  return codec;
}
