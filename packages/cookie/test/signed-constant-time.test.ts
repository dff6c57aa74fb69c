// The signed format compares signatures with crypto.timingSafeEqual (through core's
// constantTimeEqual), once per key tried, and never with an early-exit string comparison.
import { timingSafeEqual } from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { INVALID } from "../src/format.js";
import { signedFormat } from "../src/signed-format.js";
import { OLD_SECRET, OTHER_SECRET, SECRET } from "./helpers.js";

vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const compare = vi.mocked(timingSafeEqual);
const NOW = 1_750_000_000_000;
const format = signedFormat([Buffer.from(SECRET), Buffer.from(OLD_SECRET)], "session");
const data = Buffer.from('{"k":"v"}');

function signedBy(secret: string): string {
  return signedFormat([Buffer.from(secret)], "session").seal(data, NOW, NOW + 60_000);
}

/** The lengths of the two sides of each timingSafeEqual call. */
function calls(): [number, number][] {
  return compare.mock.calls.map(([a, b]) => [a.byteLength, b.byteLength]);
}

describe("signed format: the signature is compared with timingSafeEqual", () => {
  beforeEach(() => {
    compare.mockClear();
  });

  it("once for a value of the current secret", () => {
    expect(format.open(signedBy(SECRET), NOW)).toMatchObject({ ok: true, usedFallback: false });
    expect(calls()).toEqual([[43, 43]]);
  });

  it("once per key for a value of the fallback secret", () => {
    expect(format.open(signedBy(OLD_SECRET), NOW)).toMatchObject({ ok: true, usedFallback: true });
    expect(calls()).toEqual([
      [43, 43],
      [43, 43],
    ]);
  });

  it("against every key for a forged or tampered signature, which is refused", () => {
    const valid = signedBy(SECRET);
    const tampered = `${valid.slice(0, -1)}${valid.endsWith("A") ? "B" : "A"}`;
    for (const value of [signedBy(OTHER_SECRET), tampered]) {
      compare.mockClear();
      expect(format.open(value, NOW)).toEqual(INVALID);
      expect(calls()).toEqual([
        [43, 43],
        [43, 43],
      ]);
    }
  });

  it("a signature of another length is still run through timingSafeEqual, and refused", () => {
    const valid = signedBy(SECRET);
    expect(format.open(`${valid}A`, NOW)).toEqual(INVALID);
    expect(compare).toHaveBeenCalledTimes(2);
  });
});
