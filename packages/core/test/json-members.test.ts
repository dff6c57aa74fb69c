/**
 * Reading and writing a stored JSON session member by member (`splitMembers` and the member
 * codec `jsonCodec` carries), and the engine's use of it: a request decodes only what it reads
 * and saves every value it never read exactly as it was stored.
 */
import { describe, expect, it } from "vitest";
import { jsonCodec, JSON_CODEC_TAG as TAG } from "../src/codec/index.js";
import { type MemberCodec, memberCodecOf, RawMember, splitMembers } from "../src/codec/json-members.js";
import type { SessionData } from "../src/contracts.js";
import { DecodeError, SessionTooLargeError } from "../src/errors.js";
import { createSessionEngine, type SessionEvent } from "../src/session/engine.js";
import { hashSessionKey, newSessionKey } from "../src/session/keys.js";
import { createMemorySessionStore } from "../src/stores/memory-session-store.js";
import { badInputs } from "./bad-inputs.js";
import { expectNoForeignPrototypes, randomValues, same } from "./codec-helpers.js";
import { prng } from "./prng.js";

const codec = jsonCodec();
const members = memberCodecOf(codec) as MemberCodec;

/** Every member decoded, as an object in the record's order. */
function decodeAll(split: Map<string, unknown>): SessionData {
  const out: SessionData = {};
  for (const [key, value] of split) {
    Object.defineProperty(out, key, {
      value: value instanceof RawMember ? members.member(value) : value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Random data as the codec writes it: a few top-level members of every kind. */
function randomRecords(seed: number, count: number): string[] {
  const random = prng(seed);
  const { value, keys, pick } = randomValues(random);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const data: SessionData = {};
    const size = 1 + Math.floor(random() * 6);
    for (let m = 0; m < size; m++) {
      const key = random() < 0.5 ? pick(keys.filter((k) => k !== TAG)) : `k${m}`;
      Object.defineProperty(data, key, {
        value: value(1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    texts.push(codec.encode(data));
  }
  return texts;
}

describe("jsonCodec, member by member", () => {
  it("a member codec is offered by jsonCodec only", () => {
    expect(members).toBeDefined();
    expect(memberCodecOf({ name: "other", encode: () => "", decode: () => ({}) })).toBeUndefined();
  });

  it("property: 1000 random records split into members that decode to exactly what decode gives, and re-encode to the same text", () => {
    for (const text of randomRecords(11, 1000)) {
      const split = members.split(text);
      expect(split, text).not.toBeNull();
      const whole = codec.decode(text);
      const parts = decodeAll(split!);
      // Same values, same prototypes, same key order.
      expect(same(parts, whole), text).toBe(true);
      expectNoForeignPrototypes(parts);
      // Nothing read: the record is written back byte for byte.
      expect(members.encodeMembers(members.split(text)!)).toBe(text);
    }
  });

  it("property: after reading, changing and deleting some members, the record decodes to what encode would have written", () => {
    const random = prng(12);
    const { value } = randomValues(random);
    for (const text of randomRecords(13, 500)) {
      const split = members.split(text)!;
      const model = new Map<string, unknown>(Object.entries(codec.decode(text)));
      for (const key of [...split.keys()]) {
        const roll = random();
        if (roll < 0.25) {
          split.set(key, members.member(split.get(key) as RawMember));
        } else if (roll < 0.45) {
          const next = value(1);
          split.set(key, next);
          model.set(key, next);
        } else if (roll < 0.55) {
          split.delete(key);
          model.delete(key);
        }
      }
      if (random() < 0.3) {
        split.set("added", 1);
        model.set("added", 1);
      }
      const written = members.encodeMembers(split);
      const expected: SessionData = {};
      for (const [key, v] of model) {
        Object.defineProperty(expected, key, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      expect(same(codec.decode(written), codec.decode(codec.encode(expected))), written).toBe(true);
    }
  });

  it("the grammar is JSON.parse's: 20 000 mutated records are split only when JSON.parse reads them, into the same members", () => {
    const random = prng(14);
    const alphabet = [
      '"',
      "\\",
      "{",
      "}",
      "[",
      "]",
      ",",
      ":",
      "0",
      "1",
      "-",
      ".",
      "e",
      "+",
      "u",
      "a",
      "t",
      "n",
      " ",
      "\n",
      "\u0000",
      "\u2028",
    ];
    const texts = randomRecords(15, 400);
    let split = 0;
    for (let n = 0; n < 20_000; n++) {
      let text = texts[n % texts.length]!;
      const edits = 1 + Math.floor(random() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * (text.length + 1));
        const roll = random();
        const ch = alphabet[Math.floor(random() * alphabet.length)]!;
        if (roll < 0.35) text = text.slice(0, at) + text.slice(at + 1);
        else if (roll < 0.7) text = text.slice(0, at) + ch + text.slice(at);
        else if (roll < 0.9) text = text.slice(0, at) + ch + text.slice(at + 1);
        else text = text.slice(0, at);
      }
      let parsed: unknown;
      let parses = true;
      try {
        parsed = JSON.parse(text);
      } catch {
        parses = false;
      }
      const result = splitMembers(text, 64, TAG);
      if (result === null) {
        // Refusing is always safe (the whole text is then decoded), but a compact object that
        // parses, has no tag key on top and no control character must be split.
        if (parses && typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
          const compact = JSON.stringify(parsed) === text && !Object.hasOwn(parsed, TAG);
          expect(compact && !/[\u0000-\u001f]/.test(text), text).toBe(false);
        }
        continue;
      }
      split++;
      expect(parses, text).toBe(true);
      const object = parsed as Record<string, unknown>;
      expect([...result.keys()].sort(), text).toEqual(Object.keys(object).sort());
      for (const [key, raw] of result) {
        expect(JSON.parse((raw as RawMember).text), text).toEqual(object[key]);
        expect(JSON.parse((raw as RawMember).keyText)).toBe(key);
      }
    }
    // The corpus is not all refusals.
    expect(split).toBeGreaterThan(1000);
  });

  it("edge cases: numbers, literals, escapes, nesting, spacing and trailing text", () => {
    const ok = [
      "{}",
      '{"a":-0.5e+10,"b":0,"c":[1E2,-1,0.25],"d":true,"e":false,"f":null}',
      '{"a":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud800"}',
      '{"a\\u0062":{"b":[{},[],{"c":[[]]}]}}',
      '{"a":1,"a":2}',
      '{"__proto__":{"x":1}}',
      '{"":""}',
    ];
    for (const text of ok) {
      const result = splitMembers(text, 64, TAG);
      expect(result, text).not.toBeNull();
      expect(same(decodeAll(result!), codec.decode(text)), text).toBe(true);
    }
    const refused = [
      "",
      "{",
      "}",
      "[]",
      "null",
      '"x"',
      "{} ",
      " {}",
      '{"a":1} ',
      '{"a": 1}',
      '{"a":1}x',
      '{"a":1,}',
      '{"a"}',
      '{"a":}',
      "{a:1}",
      '{"a":01}',
      '{"a":1.}',
      '{"a":.5}',
      '{"a":-}',
      '{"a":1e}',
      '{"a":+1}',
      '{"a":tru}',
      '{"a":nul}',
      '{"a":NaN}',
      '{"a":Infinity}',
      '{"a":"\\x"}',
      '{"a":"\\u12"}',
      '{"a":"\\u12g4"}',
      '{"a":"x',
      '{"a":"x\\',
      '{"a":"\u0001"}',
      '{"a":"\n"}',
      '{"a":[1,]}',
      '{"a":[1 2]}',
      '{"a":{"b":1,}}',
      '{"a":{"b" 1}}',
      '{"a":[}',
      '{"a":{]}',
      '{"a":[[1]}',
      '\ufeff{"a":1}',
      `{"${TAG}":"Object","v":{}}`,
      '{"\\u007eporter":"Object","v":{}}',
    ];
    for (const text of refused) expect(splitMembers(text, 64, TAG), JSON.stringify(text)).toBeNull();
  });

  it("repeated keys resolve as JSON.parse does: first position, last value", () => {
    const result = splitMembers('{"a":1,"b":2,"a":3}', 64, TAG)!;
    expect([...result.keys()]).toEqual(["a", "b"]);
    expect((result.get("a") as RawMember).text).toBe("3");
  });

  it("nesting at the depth limit goes to the whole-text decode, which decides; hostile depth costs no stack", () => {
    const nested = (depth: number) => `{"a":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    // The member is depth 1: a container at depth d needs d < maxDepth.
    expect(splitMembers(nested(7), 8, TAG)).not.toBeNull();
    expect(splitMembers(nested(8), 8, TAG)).toBeNull();
    expect(() => jsonCodec({ maxDepth: 8 }).decode(nested(8))).toThrow(DecodeError);
    const deep = `{"a":${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}}`;
    expect(splitMembers(deep, 64, TAG)).toBeNull();
    expect(splitMembers(`{"a":${"[".repeat(100_000)}`, 64, TAG)).toBeNull();
  });

  it("a member decodes as decode would: tags revived, prototypes inert", () => {
    const text = codec.encode({
      d: new Date(5),
      m: new Map([[1, new Set([2])]]),
      p: JSON.parse('{"__proto__":{"x":1}}'),
    });
    const split = members.split(text)!;
    expect(members.member(split.get("d") as RawMember)).toEqual(new Date(5));
    expect(members.member(split.get("m") as RawMember)).toEqual(new Map([[1, new Set([2])]]));
    const p = members.member(split.get("p") as RawMember) as Record<string, unknown>;
    expect(Object.getPrototypeOf(p)).toBe(Object.prototype);
    expect(Object.hasOwn(p, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it("a malformed tag fails only its own member, with DecodeError", () => {
    const split = members.split('{"a":1,"d":{"~porter":"Date","v":"x"},"u":"\\u007eporter"}')!;
    expect(members.member(split.get("a") as RawMember)).toBe(1);
    expect(() => members.member(split.get("d") as RawMember)).toThrow(DecodeError);
    expect(members.member(split.get("u") as RawMember)).toBe(TAG);
  });

  it("encodeMembers keeps encode's refusals and limits, and wraps a top-level tag key as encode does", () => {
    const small = jsonCodec({ maxBytes: 50 });
    const smallMembers = memberCodecOf(small)!;
    const split = smallMembers.split('{"a":"xxxxxxxxxx"}')!;
    split.set("b", "y".repeat(40));
    expect(() => smallMembers.encodeMembers(split)).toThrow(SessionTooLargeError);
    expect(() => members.encodeMembers(new Map([["n", Number.NaN]]))).toThrow(/NaN/);
    const withTag = members.split('{"a":1}')!;
    withTag.set(TAG, "mine");
    const text = members.encodeMembers(withTag);
    expect(text).toBe(codec.encode(JSON.parse(`{"a":1,"${TAG}":"mine"}`)));
    expect(codec.decode(text)).toEqual({ a: 1, [TAG]: "mine" });
  });
});

describe("the engine reads and writes members", () => {
  function setup() {
    const memory = createMemorySessionStore();
    const events: SessionEvent[] = [];
    const engine = createSessionEngine({
      store: memory,
      cookie: { secure: false },
      onEvent: (e) => events.push(e),
    });
    return { memory, engine, events };
  }

  async function stored(text: string) {
    const ctx = setup();
    const key = newSessionKey();
    // The default two-week expiry, so that a request that changes nothing has nothing to touch.
    await ctx.memory.create(hashSessionKey(key), text, Date.now() + 1_209_600_000);
    const read = async () => (await ctx.memory.get(hashSessionKey(key)))!.data;
    return { ...ctx, key, read };
  }

  it("a request that reads one value and sets another writes the values it never read back byte for byte", async () => {
    const profile = codec
      .encode({ p: { joined: new Date(1), tags: ["a", "b"], note: 'q"\\u' } })
      .slice(5, -1);
    // `1E2` and `\u0041` are what a re-encode would have rewritten (as 100 and "A").
    const { engine, key, read } = await stored(`{"user":"42","profile":${profile},"x":[1E2,"\u0041"],"n":1}`);
    const s = await engine.load(key);
    expect(s.get("user")).toBe("42");
    s.set("n", 2);
    await engine.commit(s);
    expect(await read()).toBe(`{"user":"42","profile":${profile},"x":[1E2,"\u0041"],"n":2}`);
  });

  it("a value changed in place after being read is saved", async () => {
    const { engine, key, read } = await stored(
      codec.encode({ cart: { items: [1] }, when: new Date(3), n: 0 }),
    );
    const s = await engine.load(key);
    s.get<{ items: number[] }>("cart")!.items.push(2);
    s.set("n", 1);
    await engine.commit(s);
    expect(codec.decode(await read())).toEqual({ cart: { items: [1, 2] }, when: new Date(3), n: 1 });
  });

  it("a member with a malformed tag reads as absent and is reported; the rest of the session stands", async () => {
    const { engine, key, read, events } = await stored('{"a":1,"d":{"~porter":"Date","v":"x"},"b":[2]}');
    const s = await engine.load(key);
    expect(s.key).toBe(key);
    expect(s.get("a")).toBe(1);
    expect(events.filter((e) => e.type === "corrupt-record")).toHaveLength(0);
    expect(s.has("d")).toBe(false);
    expect(s.get("d")).toBeUndefined();
    expect(events.filter((e) => e.type === "corrupt-record")).toHaveLength(1);
    expect(s.keys()).toEqual(["a", "b"]);
    s.set("c", 3);
    await engine.commit(s);
    expect(await read()).toBe('{"a":1,"b":[2],"c":3}');
  });

  it("pop and setdefault treat a member that fails to decode as absent", async () => {
    const bad =
      '{"d":{"~porter":"Date","v":"x"},"e":{"~porter":"Date","v":"y"},"f":{"~porter":"Date","v":"z"}}';
    const { engine, key } = await stored(bad);
    const s = await engine.load(key);
    expect(s.pop("d", 5)).toBe(5);
    expect(() => s.pop("e")).toThrow(/no session value/);
    expect(s.setdefault("f", 6)).toBe(6);
    expect(s.get("f")).toBe(6);
  });

  it("keys(), entries() and values() decode every member; reading nothing writes nothing", async () => {
    const { engine, key, memory } = await stored(codec.encode({ a: new Date(7), b: new Set([1]) }));
    const s = await engine.load(key);
    expect(s.entries()).toEqual([
      ["a", new Date(7)],
      ["b", new Set([1])],
    ]);
    const before = await memory.get(hashSessionKey(key));
    await engine.commit(s);
    expect(await memory.get(hashSessionKey(key))).toEqual(before);
  });

  it("a record that is not compact JSON is decoded whole, as before", async () => {
    const { engine, key } = await stored('{ "a": 1,\n "b": {"~porter": "Date", "v": 9} }');
    const s = await engine.load(key);
    expect(s.get("b")).toEqual(new Date(9));
    const corrupt = await stored('{"a":1,"b":tru}');
    const t = await corrupt.engine.load(corrupt.key);
    expect(t.key).toBeNull();
    expect(corrupt.events.map((e) => e.type)).toContain("corrupt-record");
  });

  it("a version conflict replays this request's change on the other writer's record, whose members stay as written", async () => {
    const { engine, key, memory, read } = await stored(codec.encode({ a: 1, b: new Date(2) }));
    const s = await engine.load(key);
    s.set("mine", true);
    const hashed = hashSessionKey(key);
    const current = (await memory.get(hashed))!;
    const theirs = codec.encode({ a: 10, b: new Date(20), theirs: [1] });
    await memory.update(hashed, { ...current, data: theirs });
    await engine.commit(s);
    expect(await read()).toBe(`${theirs.slice(0, -1)},"mine":true}`);
  });

  it("every session-data entry of the hostile corpus loads without an exception and pollutes nothing", async () => {
    for (const entry of badInputs("session-data")) {
      expect(typeof entry.value, entry.id).toBe("string");
      const { engine, key } = await stored(entry.value as string);
      const s = await engine.load(key);
      s.keys();
      s.entries();
      expect(({} as Record<string, unknown>).polluted, entry.id).toBeUndefined();
      expect(({} as Record<string, unknown>).isAdmin, entry.id).toBeUndefined();
    }
  });
});
