import { describe, expect, it } from "vitest";
import { bytesToText, textToBytes } from "../src/text.js";

describe("session text ⇄ bytes", () => {
  it.each([
    ["ASCII", '{"a":1}'],
    ["astral and RTL", "😀 ‮x"],
    ["NUL", "a\u0000b"],
    ["a lone high surrogate", "a\ud800b"],
    ["a lone low surrogate at the end", "ab\udc00"],
    ["a low then a high surrogate (not a pair)", "\udc00\ud800"],
  ])("round-trips %s exactly", (_name, text) => {
    expect(bytesToText(textToBytes(text))).toBe(text);
  });

  it("well-formed text is plain UTF-8", () => {
    expect(textToBytes("héllo 😀").equals(Buffer.from("héllo 😀", "utf8"))).toBe(true);
  });

  it.each([
    ["invalid UTF-8 (CSV-041's bytes)", [0xff, 0xfe, 0x7b, 0x7d]],
    ["an overlong slash", [0xc0, 0xaf]],
    ["an overlong three-byte form", [0xe0, 0x80, 0xaf]],
    ["a code point past U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
    ["a truncated sequence", [0xe2, 0x82]],
    ["a surrogate pair spelled as two three-byte sequences", [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]],
  ])("refuses %s instead of substituting U+FFFD", (_name, bytes) => {
    expect(bytesToText(Uint8Array.from(bytes))).toBeNull();
  });
});
