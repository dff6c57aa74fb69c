import type { NewUser, UserPatch, UserRecord, UserStore } from "../contracts.js";
import { InvalidArgumentError, UserNotFoundError, UsernameTakenError } from "../errors.js";
import { normalizeUsername } from "./usernames.js";

export interface MemoryUserStoreOptions {
  /** Epoch milliseconds for `dateJoined` defaults. @default Date.now */
  clock?: () => number;
}

export interface MemoryUserStore extends UserStore {
  /** Number of users kept. */
  readonly size: number;
}

interface StoredUser {
  id: string;
  username: string;
  passwordHash: string;
  isActive: boolean;
  isSuperuser: boolean;
  permissions: string[];
  groups: string[];
  lastLogin: number | null;
  dateJoined: number;
  email: string | undefined;
}

function copyOut(user: StoredUser): UserRecord {
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

function username(value: unknown): string {
  const normalized = normalizeUsername(value);
  if (normalized === null) {
    throw new InvalidArgumentError(
      "username must be a non-empty string of at most 150 characters without control characters",
    );
  }
  return normalized;
}

function strings(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new InvalidArgumentError(`${what} must be an array of strings`);
  }
  return [...new Set(value as string[])];
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

function text(value: unknown, what: string): string {
  if (typeof value !== "string") throw new InvalidArgumentError(`${what} must be a string`);
  return value;
}

function optionalEmail(value: unknown): string | undefined {
  return value === undefined ? undefined : text(value, "email");
}

/**
 * A `UserStore` in process memory: the reference implementation of the contract, for tests
 * and single-process apps. Ids are `"1"`, `"2"`, … like Django's integer primary keys.
 * Records are copied in and out, so a caller can never change what is stored by mutating a
 * record it holds.
 */
export function createMemoryUserStore(options: MemoryUserStoreOptions = {}): MemoryUserStore {
  const now = options.clock ?? Date.now;
  const byId = new Map<string, StoredUser>();
  const idByUsername = new Map<string, string>();
  const groups = new Map<string, ReadonlySet<string>>();
  let lastId = 0;

  const find = (id: unknown) => (typeof id === "string" ? byId.get(id) : undefined);

  return {
    contractVersion: 1,
    get size() {
      return byId.size;
    },

    async findById(id) {
      const user = find(id);
      return user === undefined ? null : copyOut(user);
    },

    async findByUsername(name) {
      const normalized = normalizeUsername(name);
      if (normalized === null) return null;
      const id = idByUsername.get(normalized);
      return id === undefined ? null : copyOut(byId.get(id)!);
    },

    async create(user: NewUser) {
      if (typeof user !== "object" || user === null) throw new InvalidArgumentError("user must be an object");
      const name = username(user.username);
      const stored: StoredUser = {
        id: "",
        username: name,
        passwordHash: text(user.passwordHash, "passwordHash"),
        isActive: user.isActive === undefined ? true : bool(user.isActive, "isActive"),
        isSuperuser: user.isSuperuser === undefined ? false : bool(user.isSuperuser, "isSuperuser"),
        permissions: user.permissions === undefined ? [] : strings(user.permissions, "permissions"),
        groups: user.groups === undefined ? [] : strings(user.groups, "groups"),
        lastLogin: null,
        dateJoined: user.dateJoined === undefined ? now() : epochMs(user.dateJoined, "dateJoined"),
        email: optionalEmail(user.email),
      };
      // Checked and claimed in one synchronous step: of two concurrent creates exactly one wins.
      if (idByUsername.has(name)) throw new UsernameTakenError();
      stored.id = String(++lastId);
      byId.set(stored.id, stored);
      idByUsername.set(name, stored.id);
      return copyOut(stored);
    },

    async update(id, patch: UserPatch) {
      const user = find(id);
      if (user === undefined) throw new UserNotFoundError();
      if (typeof patch !== "object" || patch === null)
        throw new InvalidArgumentError("patch must be an object");
      const next: StoredUser = { ...user };
      if (patch.username !== undefined) next.username = username(patch.username);
      if (patch.passwordHash !== undefined) next.passwordHash = text(patch.passwordHash, "passwordHash");
      if (patch.isActive !== undefined) next.isActive = bool(patch.isActive, "isActive");
      if (patch.isSuperuser !== undefined) next.isSuperuser = bool(patch.isSuperuser, "isSuperuser");
      if (patch.permissions !== undefined) next.permissions = strings(patch.permissions, "permissions");
      if (patch.groups !== undefined) next.groups = strings(patch.groups, "groups");
      if (patch.lastLogin !== undefined) {
        next.lastLogin = patch.lastLogin === null ? null : epochMs(patch.lastLogin, "lastLogin");
      }
      if ("email" in patch) next.email = optionalEmail(patch.email);
      if (next.username !== user.username) {
        if (idByUsername.has(next.username)) throw new UsernameTakenError();
        idByUsername.delete(user.username);
        idByUsername.set(next.username, user.id);
      }
      byId.set(user.id, next);
      return copyOut(next);
    },

    async delete(id) {
      const user = find(id);
      if (user === undefined) return;
      byId.delete(user.id);
      idByUsername.delete(user.username);
    },

    async groupPermissions(names) {
      const union = new Set<string>();
      if (!Array.isArray(names)) return union;
      for (const name of names) {
        if (typeof name !== "string") continue;
        for (const permission of groups.get(name) ?? []) union.add(permission);
      }
      return union;
    },

    async setGroupPermissions(group, permissions) {
      if (typeof group !== "string" || group.length === 0)
        throw new InvalidArgumentError("group must be a non-empty string");
      groups.set(group, new Set(strings(permissions, "permissions")));
    },
  };
}
