/** Helpers shared by the codec tests. */
import { expect } from "vitest";
import { JSON_CODEC_TAG as TAG } from "../src/codec/index.js";

/**
 * Random session values for property tests: nested arrays, Maps, Sets, plain objects with
 * adversarial keys (the tag key, `__proto__`, integer-like, empty), objects shaped like tags,
 * and every leaf type the JSON codec round-trips.
 */
export function randomValues(random: () => number) {
  const keys = [TAG, "v", "__proto__", "constructor", "prototype", "a", "10", "", "$x", "\u0000", "é"];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const leaf = (): unknown =>
    pick([
      () => Math.floor(random() * 1e6) - 5e5,
      () => random() * 1e3,
      () => pick(["", "x", "\u0000", "\ud800", "😀", TAG, "Date"]),
      () => random() < 0.5,
      () => null,
      () => undefined,
      () => BigInt(Math.floor(random() * 1e9)) ** 3n,
      () => new Date(Math.floor(random() * 4e12)),
      () => Uint8Array.from({ length: Math.floor(random() * 6) }, () => Math.floor(random() * 256)),
    ])();
  const value = (depth: number): unknown => {
    if (depth > 4 || random() < 0.35) return leaf();
    const size = Math.floor(random() * 4);
    switch (Math.floor(random() * 5)) {
      case 0:
        return Array.from({ length: size }, () => value(depth + 1));
      case 1:
        return new Map(Array.from({ length: size }, () => [value(depth + 1), value(depth + 1)] as const));
      case 2:
        return new Set(Array.from({ length: size }, () => value(depth + 1)));
      case 3: {
        const tag = { [TAG]: pick(["Date", "Map", "Object", "undefined", "nope"]) } as Record<
          string,
          unknown
        >;
        if (random() < 0.7) tag.v = value(depth + 1);
        return tag;
      }
      default: {
        const out: Record<string, unknown> = {};
        for (let i = 0; i < size; i++) {
          Object.defineProperty(out, pick(keys), {
            value: value(depth + 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return out;
      }
    }
  };
  return { value, keys, pick };
}

/** Every object reachable from `value` (through Map/Set too) has Object.prototype, Array.prototype or null as prototype. */
export function expectNoForeignPrototypes(value: unknown, seen = new Set<unknown>()): void {
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Map) {
    for (const [k, v] of value) {
      expectNoForeignPrototypes(k, seen);
      expectNoForeignPrototypes(v, seen);
    }
    return;
  }
  if (value instanceof Set) {
    for (const v of value) expectNoForeignPrototypes(v, seen);
    return;
  }
  if (value instanceof Date || value instanceof Uint8Array) return;
  const proto = Object.getPrototypeOf(value);
  expect(proto === Object.prototype || proto === Array.prototype || proto === null).toBe(true);
  for (const key of Object.keys(value))
    expectNoForeignPrototypes((value as Record<string, unknown>)[key], seen);
}

/** Structural equality that also compares prototypes, own-key order, Map/Set order and binary contents. */
export function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b as Uint8Array));
  if (a instanceof Map || a instanceof Set) {
    const x = [...a.entries()];
    const y = [...(b as Map<unknown, unknown>).entries()];
    return x.length === y.length && x.every(([k, v], i) => same(k, y[i]![0]) && same(v, y[i]![1]));
  }
  const keysA = Reflect.ownKeys(a);
  const keysB = Reflect.ownKeys(b);
  return (
    keysA.length === keysB.length &&
    keysA.every(
      (key, i) =>
        key === keysB[i] &&
        same((a as Record<PropertyKey, unknown>)[key], (b as Record<PropertyKey, unknown>)[key]),
    )
  );
}
