import { decodeLossless, type LosslessEncoding, losslessEncoding, type SessionRecord } from "@porter/core";

/**
 * One session file: a 32-byte header, then the data.
 *
 * ```
 * 0..3    magic "PRTS"
 * 4       format version (1)
 * 5       data encoding: 0 = UTF-8 (well-formed strings), 1 = UTF-16LE code units (strings
 *         with lone surrogates, which UTF-8 cannot carry)
 * 6..7    zero
 * 8..15   version, float64 big-endian (an integer)
 * 16..23  expiresAt, epoch ms, float64 big-endian (an integer)
 * 24..31  bitwise NOT of bytes 16..23
 * 32..    data
 * ```
 *
 * `touch` rewrites bytes 16..31 in place, so the data is never rewritten to move an expiry.
 * The complement lets a reader that raced such a write notice a torn expiry and read again.
 */
export const HEADER_SIZE = 32;
const MAGIC = Buffer.from("PRTS", "latin1");
const FORMAT_VERSION = 1;
export const EXPIRY_OFFSET = 16;

/** The bytes of a session file holding `data`, `version` and `expiresAt`. */
export function encodeSessionFile(data: string, version: number, expiresAt: number): Buffer {
  const encoding = losslessEncoding(data);
  const length = Buffer.byteLength(data, encoding);
  const buf = Buffer.allocUnsafe(HEADER_SIZE + length);
  MAGIC.copy(buf, 0);
  buf[4] = FORMAT_VERSION;
  buf[5] = encoding === "utf8" ? 0 : 1;
  buf[6] = 0;
  buf[7] = 0;
  buf.writeDoubleBE(version, 8);
  writeExpiry(buf, expiresAt, EXPIRY_OFFSET);
  buf.write(data, HEADER_SIZE, length, encoding);
  return buf;
}

/** The 16 bytes `touch` writes at `EXPIRY_OFFSET`: the expiry and its complement. */
export function encodeExpiry(expiresAt: number): Buffer {
  const buf = Buffer.allocUnsafe(16);
  writeExpiry(buf, expiresAt, 0);
  return buf;
}

function writeExpiry(buf: Buffer, expiresAt: number, offset: number): void {
  buf.writeDoubleBE(expiresAt, offset);
  for (let i = 0; i < 8; i++) buf[offset + 8 + i] = ~(buf[offset + i] as number) & 0xff;
}

export interface SessionHeader {
  readonly version: number;
  readonly expiresAt: number;
  readonly encoding: LosslessEncoding;
}

export type HeaderResult = SessionHeader | "not-ours" | "torn";

/** Reads a header: "not-ours" for anything this store did not write, "torn" for a raced expiry. */
export function decodeHeader(buf: Buffer): HeaderResult {
  if (buf.length < HEADER_SIZE || !MAGIC.equals(buf.subarray(0, 4)) || buf[4] !== FORMAT_VERSION) {
    return "not-ours";
  }
  const encoding = buf[5] === 0 ? "utf8" : buf[5] === 1 ? "utf16le" : undefined;
  if (encoding === undefined) return "not-ours";
  for (let i = 0; i < 8; i++) {
    if (((buf[EXPIRY_OFFSET + i] as number) ^ (buf[EXPIRY_OFFSET + 8 + i] as number)) !== 0xff) return "torn";
  }
  const version = buf.readDoubleBE(8);
  const expiresAt = buf.readDoubleBE(EXPIRY_OFFSET);
  if (!Number.isSafeInteger(version) || !Number.isSafeInteger(expiresAt)) return "not-ours";
  return { version, expiresAt, encoding };
}

/** The record in a whole session file, or a reason it has none. */
export function decodeSessionFile(buf: Buffer): SessionRecord | "not-ours" | "torn" {
  const header = decodeHeader(buf);
  if (typeof header === "string") return header;
  const data = decodeLossless(buf.subarray(HEADER_SIZE), header.encoding);
  if (data === null) return "not-ours";
  return { data, expiresAt: header.expiresAt, version: header.version };
}
