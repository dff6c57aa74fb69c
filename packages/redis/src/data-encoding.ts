import { decodeLossless, isWellFormedText } from "@porter/core";

/**
 * How a session is laid out in Redis: one string value per session, a short ASCII header and
 * then the data,
 *
 *     <version>:<expiresAt>:<format>:<data>
 *
 * with the version and the deadline (epoch ms, also set natively with `PXAT`) in decimal. The
 * data travels as UTF-8 (format `8`) when the string is well-formed — the common case, and the
 * cheapest — and as UTF-16LE code units (format `16`) otherwise: UTF-8 cannot carry a lone
 * surrogate, and ioredis would silently turn one into U+FFFD.
 *
 * One string rather than a hash of fields: a read is a plain `GET` of one bulk reply, and a write
 * is one `SET … PXAT` inside the compare-and-set script.
 */
export type DataFormat = "8" | "16";

export interface StoredRecord {
  readonly version: number;
  readonly expiresAt: number;
  readonly data: string;
}

/** The value to store: the header, then the data in the cheapest format that carries it exactly. */
export function encodeRecord(version: number, expiresAt: number, data: string): string | Buffer {
  if (isWellFormedText(data)) return `${version}:${expiresAt}:8:${data}`;
  return Buffer.concat([Buffer.from(`${version}:${expiresAt}:16:`, "latin1"), Buffer.from(data, "utf16le")]);
}

const COLON = 58;
/** Longest field read (15 digits are always a safe integer); a longer one is not Porter's. */
const MAX_DIGITS = 15;

/** The decimal field at `from` and the index after its colon; `null` when there is none. */
function field(value: Buffer, from: number): { number: number; next: number } | null {
  let n = 0;
  let i = from;
  for (; i < value.length && i - from <= MAX_DIGITS; i++) {
    const c = value[i]!;
    if (c === COLON) break;
    if (c < 48 || c > 57) return null;
    n = n * 10 + (c - 48);
  }
  if (i === from || i - from > MAX_DIGITS || value[i] !== COLON) return null;
  return { number: n, next: i + 1 };
}

/** The record a stored value holds, or `null` when the value is not one this store writes. */
export function decodeRecord(value: Buffer): StoredRecord | null {
  const version = field(value, 0);
  if (version === null) return null;
  const expiresAt = field(value, version.next);
  if (expiresAt === null) return null;
  const at = expiresAt.next;
  let data: string | null = null;
  if (value[at] === 56 && value[at + 1] === COLON) data = decodeLossless(value.subarray(at + 2), "utf8");
  else if (value[at] === 49 && value[at + 1] === 54 && value[at + 2] === COLON) {
    data = decodeLossless(value.subarray(at + 3), "utf16le");
  }
  return data === null ? null : { version: version.number, expiresAt: expiresAt.number, data };
}
