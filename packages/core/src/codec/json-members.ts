/**
 * Reading a stored JSON session one top-level member at a time.
 *
 * Most requests read a handful of a session's values (the login, a CSRF token) and write one
 * or none, yet a codec that decodes the whole record pays for every value on every request,
 * and re-encodes every value on every save. `splitMembers` validates the whole record's JSON
 * grammar in one pass but builds no objects: it returns each top-level value as its JSON text.
 * The engine decodes a value when the application first reads it, and on save writes the text
 * of every value the application never read back verbatim.
 */

/** A top-level value of a stored session, still as its JSON text. */
export class RawMember {
  constructor(
    /** The member's key as it appeared in the record: a JSON string token, quotes included. */
    readonly keyText: string,
    /** The value's JSON text. */
    readonly text: string,
    /**
     * The value may hold a codec tag (a Date, a Map, …) and must go through the codec's reviver.
     * A conservative test: the tag key's text, or any `\u` escape (which could spell it).
     */
    readonly tagged: boolean,
  ) {}
}

/** Any control character: none is in what `JSON.stringify` writes. */
const CONTROL = /[\u0000-\u001f]/;

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Index after the escape sequence whose backslash is at `at`, or -1. */
function escapeEnd(text: string, at: number): number {
  const c = text.charCodeAt(at + 1);
  if (c === 117) {
    for (let k = at + 2; k < at + 6; k++) if (!isHex(text.charCodeAt(k))) return -1;
    return at + 6;
  }
  // " \\ / b f n r t
  return c === 34 || c === 92 || c === 47 || c === 98 || c === 102 || c === 110 || c === 114 || c === 116
    ? at + 2
    : -1;
}

/** Index after the JSON number at `i`, or -1. */
function numberEnd(text: string, at: number): number {
  let i = at;
  if (text.charCodeAt(i) === 45) i++;
  const first = text.charCodeAt(i);
  if (first === 48) i++;
  else if (first >= 49 && first <= 57) {
    do i++;
    while (isDigit(text.charCodeAt(i)));
  } else return -1;
  if (text.charCodeAt(i) === 46) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    do i++;
    while (isDigit(text.charCodeAt(i)));
  }
  const e = text.charCodeAt(i);
  if (e === 101 || e === 69) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === 43 || sign === 45) i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    do i++;
    while (isDigit(text.charCodeAt(i)));
  }
  return i;
}

const OBJECT = 0;
const ARRAY = 1;
/** The kind of each open container, reused across scans (a scan never yields, so never overlaps). */
let kindsStack = new Uint8Array(64);

/**
 * The top-level members of a JSON object, in order, each value as its JSON text, after checking
 * the whole text's grammar exactly as `JSON.parse` would (building nothing). `null` — and the
 * caller then decodes the whole text, which decides — when `text` is not one valid JSON object,
 * when a container nests `maxDepth` deep or deeper (the top object is depth 0), when a top-level
 * key is `reservedKey`, or when the text is not in the compact form `JSON.stringify` writes (no
 * whitespace or control character outside string escapes): that form is what makes the scan
 * cheap, as a string needs no check but for its closing quote and its escapes, and those are
 * found with `indexOf` jumps rather than character by character.
 * A repeated key keeps its first position and its last value, as `JSON.parse` does.
 *
 * The scan is iterative, so hostile nesting costs a loop, never the call stack.
 */
export function splitMembers(
  text: string,
  maxDepth: number,
  reservedKey: string,
): Map<string, unknown> | null {
  if (text.charCodeAt(0) !== 123 || CONTROL.test(text)) return null;
  const members = new Map<string, unknown>();
  if (text.length === 2 && text.charCodeAt(1) === 125) return members;
  if (kindsStack.length < maxDepth) kindsStack = new Uint8Array(maxDepth);
  const kinds = kindsStack;

  // The next backslash at or after the scan position (Infinity: none left), found lazily so
  // that the whole text is searched once, not once per string.
  let backslash = -1;
  /** Index after the string token at `at` (its opening quote), or -1. */
  const stringEnd = (at: number): number => {
    let from = at + 1;
    for (;;) {
      const quote = text.indexOf('"', from);
      if (quote < 0) return -1;
      if (backslash < from) {
        backslash = text.indexOf("\\", from);
        if (backslash < 0) backslash = Number.POSITIVE_INFINITY;
      }
      if (backslash > quote) return quote + 1;
      from = escapeEnd(text, backslash);
      if (from < 0) return -1;
    }
  };

  let i = 1;
  for (;;) {
    // "key":
    if (text.charCodeAt(i) !== 34) return null;
    const keyStart = i;
    i = stringEnd(i);
    if (i < 0 || text.charCodeAt(i) !== 58) return null;
    const keyText = text.slice(keyStart, i);
    const key = keyText.includes("\\") ? (JSON.parse(keyText) as string) : keyText.slice(1, -1);
    if (key === reservedKey) return null;
    const valueStart = ++i;

    // The value, containers included: `open` counts the containers entered within it.
    let open = 0;
    value: for (;;) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i = stringEnd(i);
      } else if (c === 123 || c === 91) {
        if (1 + open >= maxDepth) return null;
        const close = c === 123 ? 125 : 93;
        if (text.charCodeAt(i + 1) === close) {
          i += 2;
        } else {
          kinds[open++] = c === 123 ? OBJECT : ARRAY;
          i++;
          if (c === 123) {
            if (text.charCodeAt(i) !== 34) return null;
            i = stringEnd(i);
            if (i < 0 || text.charCodeAt(i) !== 58) return null;
            i++;
          }
          continue;
        }
      } else if (c === 116) {
        i = text.startsWith("true", i) ? i + 4 : -1;
      } else if (c === 102) {
        i = text.startsWith("false", i) ? i + 5 : -1;
      } else if (c === 110) {
        i = text.startsWith("null", i) ? i + 4 : -1;
      } else {
        i = numberEnd(text, i);
      }
      if (i < 0) return null;
      // A value is complete: close the containers it completes, or go on to the next element.
      for (;;) {
        if (open === 0) break value;
        const d = text.charCodeAt(i);
        const inObject = kinds[open - 1] === OBJECT;
        if (d === 44) {
          i++;
          if (inObject) {
            if (text.charCodeAt(i) !== 34) return null;
            i = stringEnd(i);
            if (i < 0 || text.charCodeAt(i) !== 58) return null;
            i++;
          }
          continue value;
        }
        if (d !== (inObject ? 125 : 93)) return null;
        i++;
        open--;
      }
    }

    const valueText = text.slice(valueStart, i);
    members.set(
      key,
      new RawMember(keyText, valueText, valueText.includes(reservedKey) || valueText.includes("\\u")),
    );
    const c = text.charCodeAt(i);
    if (c === 44) {
      i++;
      continue;
    }
    return c === 125 && i + 1 === text.length ? members : null;
  }
}

/**
 * What a codec offers, besides `encode`/`decode`, to be read and written member by member.
 * Internal to Porter: the engine looks for it under `MEMBER_CODEC`, and `jsonCodec` has it.
 */
export interface MemberCodec {
  /** The record's members, values still as `RawMember`s; `null`: decode it whole instead. */
  split(text: string): Map<string, unknown> | null;
  /** One member's value, as `decode` would have made it; throws `DecodeError`. */
  member(raw: RawMember): unknown;
  /**
   * The record for these members (`RawMember`s written as they were read), with the same
   * limits and refusals as `encode`.
   */
  encodeMembers(members: ReadonlyMap<string, unknown>): string;
}

export const MEMBER_CODEC: unique symbol = Symbol("porter.memberCodec");

export function memberCodecOf(codec: object): MemberCodec | undefined {
  return (codec as { [MEMBER_CODEC]?: MemberCodec })[MEMBER_CODEC];
}
