/**
 * The pure half of the Mongo stores: filters, documents and index definitions. Nothing here
 * talks to a server, so every rule about what may reach a query is tested without one.
 */
import {
  checkExpiresAt,
  checkSessionData,
  checkStoreKey,
  decodeLossless,
  InvalidArgumentError,
  isWellFormedText,
  losslessByteLength,
  type SessionRecord,
  SessionTooLargeError,
} from "@porter/core";
import { Binary, type Document, type IndexDescription } from "mongodb";

/** A string as a BSON value, losslessly: BSON strings are UTF-8, which cannot carry a lone surrogate. */
export type StoredText = string | Binary;

/** `text` as stored: itself when well-formed, else a binary of its UTF-16LE code units. */
export function encodeText(text: string): StoredText {
  return isWellFormedText(text) ? text : new Binary(Buffer.from(text, "utf16le"));
}

/** The string `encodeText` stored, or `undefined` for a value it does not write. */
export function decodeText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value instanceof Binary && value.sub_type === Binary.SUBTYPE_DEFAULT) {
    return decodeLossless(value.buffer, "utf16le") ?? undefined;
  }
  return undefined;
}

/** The fields of a session document. */
export interface SessionDocument {
  /** The store key, exactly as validated. */
  _id: string;
  /** The data (see `encodeText`). */
  d: StoredText;
  /** The version. */
  v: number;
  /** `expiresAt`, as a `Date` so the TTL index can read it. */
  x: Date;
}

/** The largest session document the store writes; BSON documents stop at 16 MiB. */
export const MAX_SESSION_BYTES = 16 * 1024 * 1024 - 16 * 1024;

function checkVersion(version: unknown): number {
  if (typeof version !== "number" || !Number.isSafeInteger(version)) {
    throw new InvalidArgumentError("version must be an integer");
  }
  return version;
}

/** The one filter that names a session: `_id` equal to a checked string, never an operator. */
export function sessionFilter(key: string): { _id: { $eq: string } } {
  return { _id: { $eq: checkStoreKey(key) } };
}

/** A live session of exactly this version: what a versioned update may replace. */
export function liveVersionFilter(key: string, version: number, now: number): Document {
  return { ...sessionFilter(key), v: { $eq: checkVersion(version) }, x: { $gt: new Date(now) } };
}

/** A live session: what `touch` may move. */
export function liveFilter(key: string, now: number): Document {
  return { ...sessionFilter(key), x: { $gt: new Date(now) } };
}

/** An expired session under this key: what `create` may replace. */
export function expiredFilter(key: string, now: number): Document {
  return { ...sessionFilter(key), x: { $lte: new Date(now) } };
}

/** Every expired session: what `clearExpired` looks for. */
export const allExpiredFilter = (now: number): Document => ({ x: { $lte: new Date(now) } });

/** A full session document; `SessionTooLargeError` when it cannot be stored. */
export function sessionDocument(
  key: string,
  data: string,
  expiresAt: number,
  version: number,
  maxBytes = MAX_SESSION_BYTES,
): SessionDocument {
  checkStoreKey(key);
  checkSessionData(data);
  const size = losslessByteLength(data) + key.length + 64;
  if (size > maxBytes) throw new SessionTooLargeError(size, maxBytes);
  return { _id: key, d: encodeText(data), v: checkVersion(version), x: new Date(checkExpiresAt(expiresAt)) };
}

/** The update of a versioned write: new data and expiry, version + 1. */
export function sessionUpdate(data: string, expiresAt: number, maxBytes = MAX_SESSION_BYTES): Document {
  checkSessionData(data);
  const size = losslessByteLength(data) + 64;
  if (size > maxBytes) throw new SessionTooLargeError(size, maxBytes);
  return { $set: { d: encodeText(data), x: new Date(checkExpiresAt(expiresAt)) }, $inc: { v: 1 } };
}

/** `touch`: the expiry only. */
export const touchUpdate = (expiresAt: number): Document => ({
  $set: { x: new Date(checkExpiresAt(expiresAt)) },
});

/** The record a document holds if it is live at `now`; `null` when absent, expired or not one this store wrote. */
export function liveRecord(doc: Document | null | undefined, now: number): SessionRecord | null {
  if (doc === null || doc === undefined) return null;
  const { x, v } = doc as Partial<SessionDocument>;
  if (!(x instanceof Date) || typeof v !== "number") return null;
  const expiresAt = x.getTime();
  if (!(expiresAt > now)) return null;
  const data = decodeText(doc.d);
  return data === undefined ? null : { data, expiresAt, version: v };
}

/** The session collection's indexes: TTL on `x`, so MongoDB removes expired sessions by itself. */
export const SESSION_INDEXES: readonly IndexDescription[] = [
  { key: { x: 1 }, name: "porter_expires_ttl", expireAfterSeconds: 0 },
];

/** The user collection's indexes: usernames are unique. */
export const USER_INDEXES: readonly IndexDescription[] = [
  { key: { username: 1 }, name: "porter_username_unique", unique: true },
];
