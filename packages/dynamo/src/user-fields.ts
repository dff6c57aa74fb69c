import { randomUUID } from "node:crypto";
import { InvalidArgumentError, type NewUser, type UserPatch, type UserRecord } from "@porter/core";

/** The longest username accepted, after NFKC (Django's `max_length`). */
export const MAX_USERNAME_LENGTH = 150;
/** The longest group name accepted. */
export const MAX_GROUP_LENGTH = 150;

const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** A new user id: a random UUID. */
export const newUserId = (): string => randomUUID();

/** Whether `id` has the shape of an id this store issues; anything else is never looked up. */
export const isUserId = (id: unknown): id is string => typeof id === "string" && ID_PATTERN.test(id);

/**
 * The username as stored and matched: NFKC-normalized, then exact (no case folding, no trim).
 * `undefined` for anything that cannot be a username: not a string, empty, longer than 150
 * characters, or not well-formed UTF-16 (a lone surrogate cannot be stored faithfully).
 */
export function normalizeUsername(username: unknown): string | undefined {
  if (typeof username !== "string" || username.length === 0 || username.length > 4 * MAX_USERNAME_LENGTH) {
    return undefined;
  }
  if (!isWellFormed(username)) return undefined;
  const normalized = username.normalize("NFKC");
  return normalized.length > 0 && normalized.length <= MAX_USERNAME_LENGTH ? normalized : undefined;
}

/** A group name, or `undefined` when it cannot be one (same rules as usernames, without normalization). */
export function checkGroupName(group: unknown): string | undefined {
  return typeof group === "string" &&
    group.length > 0 &&
    group.length <= MAX_GROUP_LENGTH &&
    isWellFormed(group)
    ? group
    : undefined;
}

function requireUsername(username: unknown): string {
  const normalized = normalizeUsername(username);
  if (normalized === undefined) {
    throw new InvalidArgumentError(
      `username must be 1–${MAX_USERNAME_LENGTH} characters of well-formed text`,
    );
  }
  return normalized;
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== "string") throw new InvalidArgumentError(`${what} must be a string`);
  return value;
}

function requireBoolean(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw new InvalidArgumentError(`${what} must be a boolean`);
  return value;
}

function requireStrings(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new InvalidArgumentError(`${what} must be an array of strings`);
  }
  return [...value];
}

function requireTime(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(`${what} must be epoch milliseconds`);
  }
  return value;
}

/** A complete record for a new user, from a `NewUser` whose every field was checked. */
export function newUserRecord(user: NewUser, id: string, now: number): UserRecord {
  if (typeof user !== "object" || user === null) throw new InvalidArgumentError("user must be an object");
  return {
    id,
    username: requireUsername(user.username),
    passwordHash: requireString(user.passwordHash, "passwordHash"),
    isActive: user.isActive === undefined ? true : requireBoolean(user.isActive, "isActive"),
    isSuperuser: user.isSuperuser === undefined ? false : requireBoolean(user.isSuperuser, "isSuperuser"),
    permissions: user.permissions === undefined ? [] : requireStrings(user.permissions, "permissions"),
    groups: user.groups === undefined ? [] : requireStrings(user.groups, "groups"),
    lastLogin: null,
    dateJoined: user.dateJoined === undefined ? now : requireTime(user.dateJoined, "dateJoined"),
    ...(user.email === undefined ? {} : { email: requireString(user.email, "email") }),
  };
}

/** The fields a patch sets, each checked; `unsetEmail` when the patch removes the email (`email: undefined`). */
export function checkUserPatch(patch: UserPatch): {
  set: Partial<Omit<UserRecord, "email">> & { email?: string };
  unsetEmail: boolean;
} {
  if (typeof patch !== "object" || patch === null) throw new InvalidArgumentError("patch must be an object");
  const set: { -readonly [K in keyof UserRecord]?: UserRecord[K] } = {};
  if (patch.username !== undefined) set.username = requireUsername(patch.username);
  if (patch.passwordHash !== undefined) set.passwordHash = requireString(patch.passwordHash, "passwordHash");
  if (patch.isActive !== undefined) set.isActive = requireBoolean(patch.isActive, "isActive");
  if (patch.isSuperuser !== undefined) set.isSuperuser = requireBoolean(patch.isSuperuser, "isSuperuser");
  if (patch.permissions !== undefined) set.permissions = requireStrings(patch.permissions, "permissions");
  if (patch.groups !== undefined) set.groups = requireStrings(patch.groups, "groups");
  if (patch.lastLogin !== undefined) {
    set.lastLogin = patch.lastLogin === null ? null : requireTime(patch.lastLogin, "lastLogin");
  }
  const unsetEmail = "email" in patch && patch.email === undefined;
  if (patch.email !== undefined) set.email = requireString(patch.email, "email");
  return { set: set as Partial<Omit<UserRecord, "email">> & { email?: string }, unsetEmail };
}

/** `current` with `patch` applied; every patched field is checked. `email: undefined` removes the email. */
export function patchedUserRecord(current: UserRecord, patch: UserPatch): UserRecord {
  const { set, unsetEmail } = checkUserPatch(patch);
  const next: { -readonly [K in keyof UserRecord]?: UserRecord[K] } = { ...current, ...set };
  if (unsetEmail) delete next.email;
  return next as UserRecord;
}
