import type { NewUser, UserPatch, UserRecord, UserStore } from "../contracts.js";
import { InvalidArgumentError, UserNotFoundError, UsernameTakenError } from "../errors.js";
import {
  applyUserPatch,
  copyUserRecord,
  validateNewUser,
  validateStringSet,
  validateUserPatch,
} from "../stores/users.js";
import { normalizeUsername } from "./usernames.js";

export interface MemoryUserStoreOptions {
  /** Epoch milliseconds for `dateJoined` defaults. @default Date.now */
  clock?: () => number;
}

export interface MemoryUserStore extends UserStore {
  /** Number of users kept. */
  readonly size: number;
}

/**
 * A `UserStore` in process memory: the reference implementation of the contract, for tests
 * and single-process apps. Ids are `"1"`, `"2"`, … like Django's integer primary keys.
 * Records are copied in and out, so a caller can never change what is stored by mutating a
 * record it holds.
 */
export function createMemoryUserStore(options: MemoryUserStoreOptions = {}): MemoryUserStore {
  const now = options.clock ?? Date.now;
  const byId = new Map<string, UserRecord>();
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
      return user === undefined ? null : copyUserRecord(user);
    },

    async findByUsername(name) {
      const normalized = normalizeUsername(name);
      if (normalized === null) return null;
      const id = idByUsername.get(normalized);
      return id === undefined ? null : copyUserRecord(byId.get(id)!);
    },

    async create(user: NewUser) {
      const fields = validateNewUser(user, now());
      // Checked and claimed in one synchronous step: of two concurrent creates exactly one wins.
      if (idByUsername.has(fields.username)) throw new UsernameTakenError();
      const stored: UserRecord = { id: String(++lastId), ...fields };
      byId.set(stored.id, stored);
      idByUsername.set(stored.username, stored.id);
      return copyUserRecord(stored);
    },

    async update(id, patch: UserPatch) {
      const user = find(id);
      if (user === undefined) throw new UserNotFoundError();
      const next = applyUserPatch(user, validateUserPatch(patch));
      if (next.username !== user.username) {
        if (idByUsername.has(next.username)) throw new UsernameTakenError();
        idByUsername.delete(user.username);
        idByUsername.set(next.username, user.id);
      }
      byId.set(user.id, next);
      return copyUserRecord(next);
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
      groups.set(group, new Set(validateStringSet(permissions, "permissions")));
    },
  };
}
