import { DecodeError, InvalidArgumentError } from "../errors.js";

/** How deep `pythonJsonDumps` and `pythonJsonLoads` nest by default (the root is depth 0). */
export const PYTHON_JSON_MAX_DEPTH = 64;

/**
 * A number that Python would print as a float. JavaScript has one number type, so `1.0` and `1`
 * are the same value and `pythonJsonDumps(1)` prints `1` like a Python int; wrap a value in
 * `pythonFloat(1)` to get Python's `1.0`. Non-integral numbers print as floats either way.
 */
export class PythonFloat {
  constructor(readonly value: number) {}
}

/** Marks `value` to be printed the way Python prints a float (`1.0`, `1e+16`). */
export function pythonFloat(value: number): PythonFloat {
  return new PythonFloat(value);
}

export interface PythonJsonDumpsOptions {
  /**
   * Python's `separators`: `[itemSeparator, keySeparator]`. Django's signing uses the compact
   * `[",", ":"]` (the default here); Python's own default is `[", ", ": "]`.
   */
  readonly separators?: readonly [string, string];
  /** Deeper values throw `InvalidArgumentError` (this also stops cycles). @default 64 */
  readonly maxDepth?: number;
  /**
   * Python's json cannot encode a datetime. `"reject"` (default) throws `InvalidArgumentError`;
   * `"isoformat"` writes the UTC instant as Python's `datetime.isoformat()` does for an aware
   * datetime (`2023-11-14T22:13:20+00:00`, microseconds when non-zero), which is how Django ≥ 4
   * stores datetimes in a session. It reads back as a string.
   */
  readonly dates?: "reject" | "isoformat";
  /** `"object"` (default) writes a `Map` as a JSON object in insertion order; `"reject"` throws. */
  readonly maps?: "object" | "reject";
}

const NEEDS_ESCAPE = /[\u0000-\u001f"\\\u007f-\uffff]/;
const ESCAPABLE = /[\u0000-\u001f"\\\u007f-\uffff]/g;
const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

function escapeChar(c: string): string {
  return SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** Python's `json.encoder.py_encode_basestring_ascii`, code unit by code unit (astral chars are already pairs). */
function pythonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? `"${s.replace(ESCAPABLE, escapeChar)}"` : `"${s}"`;
}

/** Python's `float.__repr__` for a finite number: shortest round-trip digits, Python's layout. */
function pythonFloatRepr(x: number): string {
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  // toExponential() without an argument gives the same shortest round-trip digits as Python's repr.
  const [mantissa = "", expText = "0"] = x.toExponential().split("e");
  const exp = Number(expText);
  const sign = x < 0 ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const intLength = exp + 1;
  if (digits.length <= intLength) return `${sign}${digits}${"0".repeat(intLength - digits.length)}.0`;
  return `${sign}${digits.slice(0, intLength)}.${digits.slice(intLength)}`;
}

function pythonNumber(x: number): string {
  if (!Number.isFinite(x)) {
    throw new InvalidArgumentError(`${x} cannot be stored: JSON has no NaN or Infinity`);
  }
  if (Number.isSafeInteger(x)) return Object.is(x, -0) ? "0" : String(x);
  if (Number.isInteger(x)) return BigInt(x).toString();
  return pythonFloatRepr(x);
}

function pythonKey(key: unknown): string {
  switch (typeof key) {
    case "string":
      return pythonString(key);
    case "number":
      return `"${pythonNumber(key)}"`;
    case "bigint":
      return `"${key}"`;
    case "boolean":
      return key ? '"true"' : '"false"';
    default:
      if (key === null) return '"null"';
      if (key instanceof PythonFloat) return `"${pythonFloatRepr(finite(key.value))}"`;
      throw new InvalidArgumentError(`a ${typeof key} cannot be a JSON object key`);
  }
}

/** Python's `datetime.isoformat()` of an aware UTC datetime. */
function pythonIsoformat(date: Date): string {
  const ms = date.getTime();
  const year = date.getUTCFullYear();
  if (Number.isNaN(ms) || year < 1 || year > 9999) {
    throw new InvalidArgumentError(
      "a Date outside Python's datetime range (years 1 to 9999) cannot be stored",
    );
  }
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ for years 1..9999
  const millis = ms - Math.floor(ms / 1000) * 1000;
  const fraction = millis === 0 ? "" : `.${String(millis).padStart(3, "0")}000`;
  return `${iso.slice(0, 19)}${fraction}+00:00`;
}

/**
 * Python's `json.dumps(value, separators=(",", ":"))` with its defaults (`ensure_ascii=True`),
 * byte for byte: every character outside U+0020–U+007E as a lowercase `\uXXXX` escape (astral
 * characters as surrogate pairs, DEL as `\u007f`), Python's short escapes for `\n \r \t \b \f`,
 * keys in insertion order.
 *
 * Accepted values: `null`, booleans, strings, finite numbers, bigints (Python ints of any size),
 * `PythonFloat`, arrays, plain objects and `Map`s (see `maps`), `Date` only with `dates: "isoformat"`.
 * Anything else (undefined, functions, symbols, `Set`, typed arrays, class instances, NaN,
 * ±Infinity, cycles, nesting past `maxDepth`) throws `InvalidArgumentError`: Python's json either
 * cannot represent it or would write a non-standard token, and Porter never rewrites data silently.
 *
 * Known limits of a JavaScript source: a plain object lists integer-like keys (`"10"`) first, in
 * ascending order, whatever order they were added in (use a `Map` to keep Python's order); an
 * integral number prints as a Python int (`1`, never `1.0`; use `pythonFloat`); numbers beyond
 * 2^53 have already lost precision (use a bigint).
 */
export function pythonJsonDumps(value: unknown, options: PythonJsonDumpsOptions = {}): string {
  const [itemSep, keySep] = options.separators ?? [",", ":"];
  const maxDepth = options.maxDepth ?? PYTHON_JSON_MAX_DEPTH;
  const isoDates = options.dates === "isoformat";
  const mapsAsObjects = options.maps !== "reject";

  const encode = (v: unknown, depth: number): string => {
    switch (typeof v) {
      case "string":
        return pythonString(v);
      case "number":
        return pythonNumber(v);
      case "boolean":
        return v ? "true" : "false";
      case "bigint":
        return v.toString();
      case "object": {
        if (v === null) return "null";
        if (v instanceof PythonFloat) return pythonFloatRepr(finite(v.value));
        if (depth >= maxDepth) {
          throw new InvalidArgumentError(`value nests deeper than ${maxDepth} levels (or refers to itself)`);
        }
        if (Array.isArray(v)) {
          const parts: string[] = [];
          for (let i = 0; i < v.length; i++) parts.push(encode(v[i], depth + 1));
          return `[${parts.join(itemSep)}]`;
        }
        const proto = Object.getPrototypeOf(v);
        if (proto === Object.prototype || proto === null) {
          const parts: string[] = [];
          for (const key of Object.keys(v)) {
            parts.push(
              `${pythonString(key)}${keySep}${encode((v as Record<string, unknown>)[key], depth + 1)}`,
            );
          }
          return `{${parts.join(itemSep)}}`;
        }
        if (v instanceof Map && mapsAsObjects) {
          const parts: string[] = [];
          for (const [key, item] of v) {
            parts.push(`${pythonKey(key)}${keySep}${encode(item, depth + 1)}`);
          }
          return `{${parts.join(itemSep)}}`;
        }
        if (v instanceof Date && isoDates) return pythonString(pythonIsoformat(v));
        throw new InvalidArgumentError(`${describeValue(v)} cannot be written as Python-compatible JSON`);
      }
      default:
        throw new InvalidArgumentError(`${describeValue(v)} cannot be written as Python-compatible JSON`);
    }
  };
  return encode(value, 0);
}

function finite(x: number): number {
  if (!Number.isFinite(x)) {
    throw new InvalidArgumentError(`${x} cannot be stored: JSON has no NaN or Infinity`);
  }
  return x;
}

/** A short, data-free description of a value for an error message. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return `a value of type ${typeof value}`;
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor
    ?.name;
  return typeof name === "string" && name !== "" ? `an instance of ${name}` : "an object";
}

export interface PythonJsonLoadsOptions {
  /** Deeper documents throw `DecodeError`. @default 64 */
  readonly maxDepth?: number;
}

/**
 * Parses JSON the way Django reads a signed payload (`json.loads`), safely:
 * - duplicate keys: the last one wins, as in Python;
 * - keys named `__proto__`, `constructor` or `prototype` stay ordinary own data properties (as
 *   `JSON.parse` defines them): they never set a prototype, and every loaded object has
 *   `Object.prototype` as its prototype. Copy such data with `Object.entries`/spread or a `Map`,
 *   never with `Object.assign` or a deep merge, which would invoke the `__proto__` setter;
 * - nesting deeper than `maxDepth` (the root is depth 0) is refused, whatever the size;
 * - `NaN`, `Infinity` and `-Infinity`, which Python would accept, are refused like any other
 *   malformed JSON; integers beyond 2^53 lose precision (JavaScript numbers).
 * Anything unreadable throws `DecodeError`.
 */
export function pythonJsonLoads(text: string, options: PythonJsonLoadsOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? PYTHON_JSON_MAX_DEPTH;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DecodeError("payload is not valid JSON", { cause: error });
  }
  checkParsedDepth(parsed, 0, maxDepth);
  return parsed;
}

/**
 * Enforces the depth bound on a fresh `JSON.parse` result. `JSON.parse` itself builds deep
 * documents iteratively, so the bound is checked here before any later recursion could run out of
 * stack.
 */
export function checkParsedDepth(value: unknown, depth: number, maxDepth: number): void {
  if (typeof value !== "object" || value === null) return;
  if (depth >= maxDepth) throw new DecodeError(`JSON nests deeper than ${maxDepth} levels`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === "object" && item !== null) checkParsedDepth(item, depth + 1, maxDepth);
    }
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (typeof item === "object" && item !== null) checkParsedDepth(item, depth + 1, maxDepth);
  }
}
