/**
 * The field rules every `UserStore` applies, in one place: what `create` accepts and fills in,
 * what `update` may change, and how a stored record is read back. A store adds only what its
 * backend needs (ids, encodings, uniqueness).
 */
import { randomUUID } from "node:crypto";
import { normalizeUsername, USERNAME_MAX_LENGTH } from "../auth/usernames.js";
import type { NewUser, UserPatch, UserRecord } from "../contracts.js";
import { InvalidArgumentError } from "../errors.js";
import { isWellFormedText } from "./text.js";

/** Django's `Group.name` max length. */
export const GROUP_NAME_MAX_LENGTH = 150;

/** A user's fields before the store gives it an id: what `validateNewUser` returns. */
export type NewUserFields = Omit<UserRecord, "id">;

/** The fields a patch changes, each checked: usernames normalized, lists without duplicates. */
export interface UserChanges {
  username?: string;
  passwordHash?: string;
  isActive?: boolean;
  isSuperuser?: boolean;
  permissions?: string[];
  groups?: string[];
  lastLogin?: number | null;
  email?: string;
}

/** A `UserPatch` after `validateUserPatch`. */
export interface CheckedUserPatch {
  /** The fields to set. */
  readonly set: UserChanges;
  /** The patch removes the email: it holds `email: undefined`. */
  readonly unsetEmail: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function username(value: unknown): string {
  const normalized = normalizeUsername(value);
  if (normalized === null) {
    throw new InvalidArgumentError(
      `username must be a non-empty string of at most ${USERNAME_MAX_LENGTH} characters, without control characters or lone surrogates`,
    );
  }
  return normalized;
}

function text(value: unknown, what: string): string {
  if (typeof value !== "string") throw new InvalidArgumentError(`${what} must be a string`);
  return value;
}

function bool(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw new InvalidArgumentError(`${what} must be a boolean`);
  return value;
}

function epochMs(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(`${what} must be epoch milliseconds (an integer)`);
  }
  return value;
}

/**
 * `value` as a list of distinct strings, in the order of their first occurrence: how users'
 * permissions and groups, and a group's permissions, are kept.
 * @throws InvalidArgumentError when `value` is not an array of strings (`what` names it).
 */
export function validateStringSet(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new InvalidArgumentError(`${what} must be an array of strings`);
  }
  return [...new Set(value as string[])];
}

/**
 * The fields of the user `create` makes from `user`, each checked:
 * - `username` through `normalizeUsername` (NFKC, 1–150 characters, no control character or
 *   lone surrogate);
 * - `passwordHash` a string; `email` a string, or absent;
 * - `isActive` (default `true`) and `isSuperuser` (default `false`) booleans;
 * - `permissions` and `groups` arrays of strings (default `[]`), duplicates dropped;
 * - `dateJoined` whole epoch milliseconds (default `now`); `lastLogin` is `null`.
 * A field holding `undefined` is absent. The result shares nothing with `user`.
 * @throws InvalidArgumentError naming the first field that is wrong.
 */
export function validateNewUser(user: NewUser, now: number): NewUserFields {
  if (typeof user !== "object" || user === null) throw new InvalidArgumentError("user must be an object");
  return {
    username: username(user.username),
    passwordHash: text(user.passwordHash, "passwordHash"),
    isActive: user.isActive === undefined ? true : bool(user.isActive, "isActive"),
    isSuperuser: user.isSuperuser === undefined ? false : bool(user.isSuperuser, "isSuperuser"),
    permissions: user.permissions === undefined ? [] : validateStringSet(user.permissions, "permissions"),
    groups: user.groups === undefined ? [] : validateStringSet(user.groups, "groups"),
    lastLogin: null,
    dateJoined: user.dateJoined === undefined ? now : epochMs(user.dateJoined, "dateJoined"),
    ...(user.email === undefined ? {} : { email: text(user.email, "email") }),
  };
}

/**
 * The changes `update` makes for `patch`, each field checked as `validateNewUser` checks it
 * (`lastLogin`: whole epoch milliseconds or `null`). A field holding `undefined` is no change,
 * except `email`: `{ email: undefined }` removes the email.
 * @throws InvalidArgumentError naming the first field that is wrong.
 */
export function validateUserPatch(patch: UserPatch): CheckedUserPatch {
  if (typeof patch !== "object" || patch === null) throw new InvalidArgumentError("patch must be an object");
  const set: UserChanges = {};
  if (patch.username !== undefined) set.username = username(patch.username);
  if (patch.passwordHash !== undefined) set.passwordHash = text(patch.passwordHash, "passwordHash");
  if (patch.isActive !== undefined) set.isActive = bool(patch.isActive, "isActive");
  if (patch.isSuperuser !== undefined) set.isSuperuser = bool(patch.isSuperuser, "isSuperuser");
  if (patch.permissions !== undefined) set.permissions = validateStringSet(patch.permissions, "permissions");
  if (patch.groups !== undefined) set.groups = validateStringSet(patch.groups, "groups");
  if (patch.lastLogin !== undefined) {
    set.lastLogin = patch.lastLogin === null ? null : epochMs(patch.lastLogin, "lastLogin");
  }
  if (patch.email !== undefined) set.email = text(patch.email, "email");
  return { set, unsetEmail: "email" in patch && patch.email === undefined };
}

/** `current` with a checked patch applied, as a new record; `current` is left as it was. */
export function applyUserPatch(current: UserRecord, patch: CheckedUserPatch): UserRecord {
  const next: Mutable<UserRecord> = { ...current, ...patch.set };
  if (patch.unsetEmail) delete next.email;
  return next;
}

/** A copy of `user` that shares no array with it, without an `email` key when it has none. */
export function copyUserRecord(user: UserRecord): UserRecord {
  return {
    id: user.id,
    username: user.username,
    passwordHash: user.passwordHash,
    isActive: user.isActive,
    isSuperuser: user.isSuperuser,
    permissions: [...user.permissions],
    groups: [...user.groups],
    lastLogin: user.lastLogin,
    dateJoined: user.dateJoined,
    ...(user.email === undefined ? {} : { email: user.email }),
  };
}

/**
 * A complete user record read back from storage, every field checked as on `create` and none
 * defaulted (`lastLogin` may be `null`; `email` may be absent); `id` must be a string, whose
 * shape is the store's to check.
 * @throws InvalidArgumentError naming the first field that is wrong.
 */
export function validateUserRecord(value: unknown): UserRecord {
  if (typeof value !== "object" || value === null) throw new InvalidArgumentError("user must be an object");
  const u = value as Record<string, unknown>;
  return {
    id: text(u.id, "id"),
    username: username(u.username),
    passwordHash: text(u.passwordHash, "passwordHash"),
    isActive: bool(u.isActive, "isActive"),
    isSuperuser: bool(u.isSuperuser, "isSuperuser"),
    permissions: validateStringSet(u.permissions, "permissions"),
    groups: validateStringSet(u.groups, "groups"),
    lastLogin: u.lastLogin === null ? null : epochMs(u.lastLogin, "lastLogin"),
    dateJoined: epochMs(u.dateJoined, "dateJoined"),
    ...(u.email === undefined ? {} : { email: text(u.email, "email") }),
  };
}

const RANDOM_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A new user id for stores without a sequence: a random (v4) UUID, lower-case. */
export function randomUserId(): string {
  return randomUUID();
}

/** Whether `value` has the shape of a `randomUserId()`; a store never looks anything else up. */
export function isRandomUserId(value: unknown): value is string {
  return typeof value === "string" && RANDOM_ID.test(value);
}

/**
 * `value` when it can be a group name that a store also uses as a key: 1–150 UTF-16 code units
 * of well-formed text (keys in UTF-8 backends cannot carry a lone surrogate); `null` otherwise.
 */
export function checkGroupName(value: unknown): string | null {
  return typeof value === "string" &&
    value.length > 0 &&
    value.length <= GROUP_NAME_MAX_LENGTH &&
    isWellFormedText(value)
    ? value
    : null;
}
