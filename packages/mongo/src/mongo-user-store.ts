import {
  checkGroupName,
  InvalidArgumentError,
  isRandomUserId,
  normalizeUsername,
  randomUserId,
  UserNotFoundError,
  UsernameTakenError,
  type UserRecord,
  type UserStore,
  validateNewUser,
  validateStringSet,
  validateUserPatch,
} from "@porter/core";
import type { Collection, Document } from "mongodb";
import { decodeText, encodeText, type StoredText, USER_INDEXES } from "./documents.js";
import {
  call,
  checkCollectionName,
  connect,
  isDuplicateKey,
  type MongoConnectionOptions,
} from "./mongo-connection.js";
import { indexConflict } from "./mongo-session-store.js";

export interface MongoUserStoreOptions extends MongoConnectionOptions {
  /** The users collection. @default "porter_users" */
  collection?: string;
  /** The groups collection. @default "porter_groups" */
  groupsCollection?: string;
  /** The clock for `dateJoined` defaults. @default Date.now */
  clock?: () => number;
}

/** A `UserStore` on MongoDB, plus its index management. */
export interface MongoUserStore extends UserStore {
  readonly collectionName: string;
  readonly groupsCollectionName: string;
  /**
   * Creates the unique index on `username`. The store runs it once by itself before its first
   * write, since usernames are only unique with it; call it at deploy time to fail early.
   */
  ensureIndexes(): Promise<void>;
  close(): Promise<void>;
}

/** A user document: `_id` is the id; text that is not well-formed is kept as binary (see `encodeText`). */
export interface UserDocument {
  _id: string;
  username: string;
  passwordHash: StoredText;
  isActive: boolean;
  isSuperuser: boolean;
  permissions: StoredText[];
  groups: StoredText[];
  lastLogin: number | null;
  dateJoined: number;
  email?: StoredText;
}

interface GroupDocument {
  _id: string;
  permissions: StoredText[];
}

/** The document for a checked user record. */
export function userDocument(user: UserRecord): UserDocument {
  const { id, email, ...fields } = user;
  return {
    ...fields,
    _id: id,
    passwordHash: encodeText(fields.passwordHash),
    permissions: fields.permissions.map(encodeText),
    groups: fields.groups.map(encodeText),
    ...(email === undefined ? {} : { email: encodeText(email) }),
  };
}

const decodeTexts = (values: unknown): string[] | undefined => {
  if (!Array.isArray(values)) return undefined;
  const out = values.map(decodeText);
  return out.every((v) => v !== undefined) ? (out as string[]) : undefined;
};

/** The user a document holds, or `undefined` when it is not one this store wrote. */
export function readUser(doc: Document | null): UserRecord | undefined {
  if (doc === null || typeof doc._id !== "string" || typeof doc.username !== "string") return undefined;
  const passwordHash = decodeText(doc.passwordHash);
  const permissions = decodeTexts(doc.permissions);
  const groups = decodeTexts(doc.groups);
  const email = doc.email === undefined ? undefined : decodeText(doc.email);
  if (
    passwordHash === undefined ||
    permissions === undefined ||
    groups === undefined ||
    typeof doc.isActive !== "boolean" ||
    typeof doc.isSuperuser !== "boolean" ||
    (doc.lastLogin !== null && typeof doc.lastLogin !== "number") ||
    typeof doc.dateJoined !== "number" ||
    (doc.email !== undefined && email === undefined)
  ) {
    return undefined;
  }
  return {
    id: doc._id,
    username: doc.username,
    passwordHash,
    isActive: doc.isActive,
    isSuperuser: doc.isSuperuser,
    permissions,
    groups,
    lastLogin: doc.lastLogin as number | null,
    dateJoined: doc.dateJoined,
    ...(email === undefined ? {} : { email }),
  };
}

/**
 * A `UserStore` on MongoDB: usernames are unique through a unique index, so of two concurrent
 * creates (or renames) onto one username the server lets exactly one through. Lookups filter
 * with `$eq` on values that passed a type check, so no operator from input reaches a query.
 */
export function createMongoUserStore(options: MongoUserStoreOptions): MongoUserStore {
  const collectionName = checkCollectionName(options.collection ?? "porter_users");
  const groupsCollectionName = checkCollectionName(
    options.groupsCollection ?? "porter_groups",
    "groupsCollection",
  );
  const now = options.clock ?? Date.now;
  const conn = connect(options);
  const users: Collection<UserDocument> = conn.db.collection<UserDocument>(collectionName);
  const groupsOf: Collection<GroupDocument> = conn.db.collection<GroupDocument>(groupsCollectionName);

  const ensureIndexes = async () => {
    try {
      await call("createIndexes", () => users.createIndexes([...USER_INDEXES]));
    } catch (err) {
      throw indexConflict(err, collectionName) ?? err;
    }
  };
  let indexed: Promise<void> | undefined;
  const ready = () => {
    indexed ??= ensureIndexes().catch((err: unknown) => {
      indexed = undefined;
      throw err;
    });
    return indexed;
  };

  const byId = async (id: string) =>
    isRandomUserId(id)
      ? readUser(await call("findOne", () => users.findOne({ _id: { $eq: id } })))
      : undefined;

  return {
    contractVersion: 1,
    collectionName,
    groupsCollectionName,
    ensureIndexes: ready,

    async findById(id) {
      return (await byId(id)) ?? null;
    },

    async findByUsername(username) {
      const name = normalizeUsername(username);
      if (name === null) return null;
      return readUser(await call("findOne", () => users.findOne({ username: { $eq: name } }))) ?? null;
    },

    async create(user) {
      const record: UserRecord = { id: randomUserId(), ...validateNewUser(user, now()) };
      await ready();
      try {
        await call("insertOne", () => users.insertOne(userDocument(record)));
      } catch (err) {
        if (isDuplicateKey(err)) throw new UsernameTakenError();
        throw err;
      }
      return record;
    },

    async update(id, patch) {
      const { set, unsetEmail } = validateUserPatch(patch);
      if (!isRandomUserId(id)) throw new UserNotFoundError();
      const $set: Document = { ...set };
      if (set.passwordHash !== undefined) $set.passwordHash = encodeText(set.passwordHash);
      if (set.email !== undefined) $set.email = encodeText(set.email);
      if (set.permissions !== undefined) $set.permissions = set.permissions.map(encodeText);
      if (set.groups !== undefined) $set.groups = set.groups.map(encodeText);
      const change: Document = {};
      if (Object.keys($set).length > 0) change.$set = $set;
      if (unsetEmail) change.$unset = { email: "" };
      if (Object.keys(change).length === 0) {
        const current = await byId(id);
        if (current === undefined) throw new UserNotFoundError();
        return current;
      }
      if (set.username !== undefined) await ready();
      let updated: UserDocument | null;
      try {
        updated = await call("findOneAndUpdate", () =>
          users.findOneAndUpdate({ _id: { $eq: id } }, change, { returnDocument: "after" }),
        );
      } catch (err) {
        if (isDuplicateKey(err)) throw new UsernameTakenError();
        throw err;
      }
      const user = readUser(updated);
      if (user === undefined) throw new UserNotFoundError();
      return user;
    },

    async delete(id) {
      if (!isRandomUserId(id)) return;
      await call("deleteOne", () => users.deleteOne({ _id: { $eq: id } }));
    },

    async groupPermissions(groups) {
      if (!Array.isArray(groups)) throw new InvalidArgumentError("groups must be an array of group names");
      const names = [...new Set(groups.map(checkGroupName).filter((g) => g !== null))];
      const permissions = new Set<string>();
      if (names.length === 0) return permissions;
      const found = await call("find", () => groupsOf.find({ _id: { $in: names } }).toArray());
      for (const group of found) for (const p of decodeTexts(group.permissions) ?? []) permissions.add(p);
      return permissions;
    },

    async setGroupPermissions(group, permissions) {
      const name = checkGroupName(group);
      if (name === null) throw new InvalidArgumentError("group must be 1–150 characters of well-formed text");
      const stored = validateStringSet(permissions, "permissions").map(encodeText);
      await call("updateOne", () =>
        groupsOf.updateOne({ _id: { $eq: name } }, { $set: { permissions: stored } }, { upsert: true }),
      );
    },

    async close() {
      await conn.close();
    },
  };
}
