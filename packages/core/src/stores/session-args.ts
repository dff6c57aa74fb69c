/**
 * The argument checks a `SessionStore` runs before it builds a key, a query or a command: the
 * same for every store, so a bad argument gets the same `InvalidArgumentError` from each.
 */
import { isStoreKey, type SessionRecord } from "../contracts.js";
import { InvalidArgumentError } from "../errors.js";

/**
 * `key` when it passes `isStoreKey` (`^[a-z0-9]{8,64}$`).
 * @throws InvalidArgumentError otherwise; the message never repeats the key.
 */
export function checkStoreKey(key: unknown): string {
  if (!isStoreKey(key)) throw new InvalidArgumentError("not a valid store key");
  return key;
}

/**
 * `expiresAt` when it is whole epoch milliseconds (a safe integer).
 * @throws InvalidArgumentError otherwise.
 */
export function checkExpiresAt(expiresAt: unknown): number {
  if (typeof expiresAt !== "number" || !Number.isSafeInteger(expiresAt)) {
    throw new InvalidArgumentError("expiresAt must be an integer number of epoch milliseconds");
  }
  return expiresAt;
}

/**
 * `data` when it is a string (what a codec produced).
 * @throws InvalidArgumentError otherwise.
 */
export function checkSessionData(data: unknown): string {
  if (typeof data !== "string") throw new InvalidArgumentError("session data must be a string");
  return data;
}

/**
 * The record `update` was given, checked: string `data`, `expiresAt` as `checkExpiresAt`
 * takes it, and `version` a non-negative safe integer. A new object, so a caller that changes
 * its record afterwards changes nothing the store holds.
 * @throws InvalidArgumentError naming what is wrong.
 */
export function checkSessionRecord(record: unknown): SessionRecord {
  if (typeof record !== "object" || record === null) {
    throw new InvalidArgumentError("update needs a session record with string data");
  }
  const { data, expiresAt, version } = record as Partial<Record<keyof SessionRecord, unknown>>;
  if (typeof data !== "string")
    throw new InvalidArgumentError("update needs a session record with string data");
  checkExpiresAt(expiresAt);
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 0) {
    throw new InvalidArgumentError("record.version must be a non-negative integer");
  }
  return { data, expiresAt: expiresAt as number, version };
}
