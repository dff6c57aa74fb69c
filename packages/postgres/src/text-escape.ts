import { isWellFormedText } from "@porter/core";

/**
 * PostgreSQL `text` cannot hold NUL, and a lone UTF-16 surrogate has no UTF-8 encoding (the
 * driver would send U+FFFD). Such strings, and strings that begin with the marker, are stored
 * as the marker followed by an escaped body; every other string is stored as is, so
 * Django-format data and ordinary JSON stay readable and byte-identical in the table.
 */
const MARKER = "\u0001porter:";
const ESCAPED_CHARS = /[\\\u0000\p{Cs}]/gu;
const ESCAPE_SEQUENCE = /\\(?:\\|0|u([0-9a-f]{4}))/g;

export function encodeStoredText(value: string): string {
  if (isStorableText(value) && !value.startsWith(MARKER)) return value;
  return (
    MARKER +
    value.replace(ESCAPED_CHARS, (c) => {
      if (c === "\\") return "\\\\";
      if (c === "\u0000") return "\\0";
      return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
    })
  );
}

export function decodeStoredText(stored: string): string {
  if (!stored.startsWith(MARKER)) return stored;
  return stored
    .slice(MARKER.length)
    .replace(ESCAPE_SEQUENCE, (seq, hex: string | undefined) =>
      hex !== undefined ? String.fromCharCode(Number.parseInt(hex, 16)) : seq === "\\0" ? "\u0000" : "\\",
    );
}

/** Whether PostgreSQL `text` can hold `value` exactly (no NUL, no lone surrogate). */
export function isStorableText(value: string): boolean {
  return isWellFormedText(value) && !value.includes("\u0000");
}
