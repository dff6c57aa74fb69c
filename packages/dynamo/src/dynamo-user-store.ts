import {
  type AttributeValue,
  BatchGetItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  applyUserPatch,
  checkGroupName,
  InvalidArgumentError,
  isRandomUserId,
  normalizeUsername,
  randomUserId,
  StoreUnavailableError,
  UserNotFoundError,
  UsernameTakenError,
  type UserRecord,
  type UserStore,
  validateNewUser,
  validateStringSet,
  validateUserPatch,
} from "@porter/core";
import {
  checkTableName,
  connect,
  type DynamoConnectionOptions,
  type EnsureTableOptions,
  ensureTable,
  isConditionFailed,
} from "./dynamo-client.js";
import { numberAttribute, readNumber, readTextAttribute, textAttribute } from "./text-attribute.js";

export interface DynamoUserStoreOptions extends DynamoConnectionOptions {
  /** The table; `ensureTable()` creates it. 3–255 characters of `[A-Za-z0-9_.-]`. @default "porter_users" */
  table?: string;
  /** The clock for `dateJoined` defaults. @default Date.now */
  clock?: () => number;
}

/** A `UserStore` on DynamoDB, plus its table management. */
export interface DynamoUserStore extends UserStore {
  readonly table: string;
  /** Creates the table if it does not exist (partition key `pk`, on-demand billing). Safe to run twice. */
  ensureTable(options?: EnsureTableOptions): Promise<void>;
  close(): Promise<void>;
}

/**
 * A username claim older than this whose user does not carry the name is left over from a
 * rename that never finished, and may be taken over. A rename gives up well before it.
 */
const STALE_CLAIM_MS = 60_000;
const MAX_ATTEMPTS = 5;

type Item = Record<string, AttributeValue>;

// Every attribute goes through a #placeholder, so no name can collide with a reserved word.
const attributeNames = (names: readonly string[]): Record<string, string> =>
  Object.fromEntries(names.map((n) => [`#${n}`, n]));
const placeholders = (expression: string): string[] => [
  ...new Set([...expression.matchAll(/#([a-z]+)/g)].map((m) => m[1] as string)),
];

const userPk = (id: string) => `user#${id}`;
const claimPk = (username: string) => `username#${username}`;
const groupPk = (group: string) => `group#${group}`;

// A user item: pk = user#<id>, un = username, then one attribute per field. Lists are JSON
// strings (JSON escapes lone surrogates, so they stay well-formed); other text goes through
// textAttribute, which keeps any string exactly.
function userItem(user: UserRecord): Item {
  return {
    pk: { S: userPk(user.id) },
    un: { S: user.username },
    ...userAttributes(user),
  };
}

function userAttributes(user: UserRecord): Item {
  return {
    ph: textAttribute(user.passwordHash),
    ia: { BOOL: user.isActive },
    su: { BOOL: user.isSuperuser },
    pm: { S: JSON.stringify(user.permissions) },
    gr: { S: JSON.stringify(user.groups) },
    ll: user.lastLogin === null ? { NULL: true } : numberAttribute(user.lastLogin),
    dj: numberAttribute(user.dateJoined),
    ...(user.email === undefined ? {} : { em: textAttribute(user.email) }),
  };
}

function parseStrings(value: AttributeValue | undefined): string[] | undefined {
  if (typeof value?.S !== "string") return undefined;
  try {
    const parsed: unknown = JSON.parse(value.S);
    return Array.isArray(parsed) && parsed.every((p) => typeof p === "string") ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The user an item holds, or `undefined` when it is not a user item this store wrote. */
function readUser(item: Item | undefined): UserRecord | undefined {
  const pk = item?.pk?.S;
  if (item === undefined || pk === undefined || !pk.startsWith("user#")) return undefined;
  const id = pk.slice("user#".length);
  const username = item.un?.S;
  const passwordHash = readTextAttribute(item.ph);
  const permissions = parseStrings(item.pm);
  const groups = parseStrings(item.gr);
  const dateJoined = readNumber(item.dj);
  const lastLogin = item.ll?.NULL === true ? null : readNumber(item.ll);
  const email = readTextAttribute(item.em);
  if (
    username === undefined ||
    passwordHash === undefined ||
    typeof item.ia?.BOOL !== "boolean" ||
    typeof item.su?.BOOL !== "boolean" ||
    permissions === undefined ||
    groups === undefined ||
    dateJoined === undefined ||
    lastLogin === undefined
  ) {
    return undefined;
  }
  return {
    id,
    username,
    passwordHash,
    isActive: item.ia.BOOL,
    isSuperuser: item.su.BOOL,
    permissions,
    groups,
    lastLogin,
    dateJoined,
    ...(email === undefined ? {} : { email }),
  };
}

/**
 * A `UserStore` on DynamoDB. A user lives in one item (`user#<id>`); its username is held by a
 * claim item (`username#<name>` → id) written with `attribute_not_exists`, so of two
 * concurrent creates or renames onto one username exactly one wins. The protocol needs no
 * transactions (which DynamoDB emulators lack); see the README for its crash behaviour.
 */
export function createDynamoUserStore(options: DynamoUserStoreOptions = {}): DynamoUserStore {
  const table = checkTableName(options.table ?? "porter_users");
  const now = options.clock ?? Date.now;
  const conn = connect(options, table);

  const get = async (pk: string): Promise<Item | undefined> => {
    const { Item } = await conn.send("GetItem", (c) =>
      c.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true })),
    );
    return Item;
  };

  /** Runs a conditional write; resolves false when its condition does not hold. */
  const whenCondition = async (write: Promise<unknown>): Promise<boolean> => {
    try {
      await write;
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  };

  /** Puts `item` if `condition` holds; resolves false when it does not. */
  const putIf = (item: Item, condition: string, values?: Item): Promise<boolean> =>
    whenCondition(
      conn.send("PutItem", (c) =>
        c.send(
          new PutItemCommand({
            TableName: table,
            Item: item,
            ConditionExpression: condition,
            ExpressionAttributeNames: attributeNames(placeholders(condition)),
            ...(values === undefined ? {} : { ExpressionAttributeValues: values }),
          }),
        ),
      ),
    );

  /** Deletes `pk` (if `condition` holds, when given); resolves false when it does not. */
  const deleteIf = (pk: string, condition?: string, values?: Item): Promise<boolean> =>
    whenCondition(
      conn.send("DeleteItem", (c) =>
        c.send(
          new DeleteItemCommand({
            TableName: table,
            Key: { pk: { S: pk } },
            ...(condition === undefined
              ? {}
              : {
                  ConditionExpression: condition,
                  ExpressionAttributeNames: attributeNames(placeholders(condition)),
                }),
            ...(values === undefined ? {} : { ExpressionAttributeValues: values }),
          }),
        ),
      ),
    );

  /**
   * Claims `username` for user `id`. Resolves the claim's time, or `undefined` when another
   * user holds the name. A claim is taken over only when it is provably left over: its user
   * is gone, or it is old and its user does not carry the name (an unfinished rename).
   */
  const claim = async (username: string, id: string): Promise<number | undefined> => {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const at = Date.now();
      const item = { pk: { S: claimPk(username) }, uid: { S: id }, at: numberAttribute(at) };
      if (await putIf(item, "attribute_not_exists(#pk) OR #uid = :id", { ":id": { S: id } })) return at;
      const held = await get(claimPk(username));
      if (held === undefined) continue;
      const holder = held.uid?.S;
      const heldAt = readNumber(held.at);
      if (holder === undefined || heldAt === undefined) return undefined;
      const owner = readUser(await get(userPk(holder)));
      const leftOver =
        owner === undefined || (owner.username !== username && Date.now() - heldAt > STALE_CLAIM_MS);
      if (!leftOver) return undefined;
      await deleteIf(claimPk(username), "#uid = :uid AND #at = :at", {
        ":uid": { S: holder },
        ":at": numberAttribute(heldAt),
      }).catch(() => false);
    }
    return undefined;
  };

  const release = (username: string, id: string) =>
    deleteIf(claimPk(username), "#uid = :id", { ":id": { S: id } });

  const findById = async (id: string): Promise<UserRecord | undefined> =>
    isRandomUserId(id) ? readUser(await get(userPk(id))) : undefined;

  return {
    contractVersion: 1,
    table,

    ensureTable: (opts) => ensureTable(conn, table, undefined, opts),

    async findById(id) {
      return (await findById(id)) ?? null;
    },

    async findByUsername(username) {
      const name = normalizeUsername(username);
      if (name === null) return null;
      const held = await get(claimPk(name));
      const holder = held?.uid?.S;
      if (holder === undefined) return null;
      const user = await findById(holder);
      // During a rename the claim exists before the user carries the name.
      return user?.username === name ? user : null;
    },

    async create(user) {
      const record: UserRecord = { id: randomUserId(), ...validateNewUser(user, now()) };
      if (!(await putIf(userItem(record), "attribute_not_exists(#pk)"))) {
        throw new StoreUnavailableError("a freshly generated user id already exists");
      }
      let claimed: number | undefined;
      try {
        claimed = await claim(record.username, record.id);
      } finally {
        if (claimed === undefined) await deleteIf(userPk(record.id)).catch(() => false);
      }
      if (claimed === undefined) throw new UsernameTakenError();
      return record;
    },

    async update(id, patch) {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const current = await findById(id);
        if (current === undefined) throw new UserNotFoundError();
        const next = applyUserPatch(current, validateUserPatch(patch));
        const renamed = next.username !== current.username;
        if (renamed) {
          const claimedAt = await claim(next.username, id);
          if (claimedAt === undefined) throw new UsernameTakenError();
          if (Date.now() - claimedAt > STALE_CLAIM_MS / 2) {
            await release(next.username, id).catch(() => false);
            throw new StoreUnavailableError("the rename took too long and was abandoned; try again");
          }
        }
        const attributes = userAttributes(next);
        const names = Object.keys(attributes);
        const remove = next.email === undefined ? " REMOVE #em" : "";
        try {
          await conn.send("UpdateItem", (c) =>
            c.send(
              new UpdateItemCommand({
                TableName: table,
                Key: { pk: { S: userPk(id) } },
                UpdateExpression: `SET #un = :un, ${names.map((n) => `#${n} = :${n}`).join(", ")}${remove}`,
                ConditionExpression: "attribute_exists(#pk) AND #un = :was",
                ExpressionAttributeNames: attributeNames(["pk", "un", "em", ...names]),
                ExpressionAttributeValues: {
                  ":un": { S: next.username },
                  ":was": { S: current.username },
                  ...Object.fromEntries(names.map((n) => [`:${n}`, attributes[n] as AttributeValue])),
                },
              }),
            ),
          );
        } catch (err) {
          if (!isConditionFailed(err)) throw err;
          // Deleted or renamed concurrently: give back the new name unless a concurrent
          // rename to the same name now carries it, then start over from a fresh read.
          if (renamed && (await findById(id))?.username !== next.username) {
            await release(next.username, id).catch(() => false);
          }
          continue;
        }
        if (renamed) await release(current.username, id).catch(() => false);
        return next;
      }
      throw new StoreUnavailableError("the user kept changing concurrently; try again");
    },

    async delete(id) {
      const user = await findById(id);
      if (user === undefined) return;
      // The user first, then its claim: a claim left behind names a missing user, and the
      // next claim of that username takes it over.
      await deleteIf(userPk(id));
      await release(user.username, id);
    },

    async groupPermissions(groups) {
      if (!Array.isArray(groups)) throw new InvalidArgumentError("groups must be an array of group names");
      const names = [...new Set(groups.map(checkGroupName).filter((g) => g !== null))];
      const permissions = new Set<string>();
      for (let i = 0; i < names.length; i += 100) {
        let keys: Item[] = names.slice(i, i + 100).map((g) => ({ pk: { S: groupPk(g) } }));
        for (let round = 0; keys.length > 0; round++) {
          if (round > 0) await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** round, 1000)));
          if (round === MAX_ATTEMPTS) {
            throw new StoreUnavailableError("DynamoDB left group reads unprocessed");
          }
          const batch = keys;
          const out = await conn.send("BatchGetItem", (c) =>
            c.send(
              new BatchGetItemCommand({ RequestItems: { [table]: { Keys: batch, ConsistentRead: true } } }),
            ),
          );
          for (const item of out.Responses?.[table] ?? []) {
            for (const p of parseStrings(item.pm) ?? []) permissions.add(p);
          }
          keys = out.UnprocessedKeys?.[table]?.Keys ?? [];
        }
      }
      return permissions;
    },

    async setGroupPermissions(group, permissions) {
      const name = checkGroupName(group);
      if (name === null) throw new InvalidArgumentError("group must be 1–150 characters of well-formed text");
      const list = validateStringSet(permissions, "permissions");
      await conn.send("PutItem", (c) =>
        c.send(
          new PutItemCommand({
            TableName: table,
            Item: { pk: { S: groupPk(name) }, pm: { S: JSON.stringify(list) } },
          }),
        ),
      );
    },

    async close() {
      conn.destroy();
    },
  };
}
