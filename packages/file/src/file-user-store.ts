import { lstatSync, mkdirSync, realpathSync } from "node:fs";
import { rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  applyUserPatch,
  ConfigError,
  copyUserRecord,
  InvalidArgumentError,
  type NewUser,
  normalizeUsername,
  StoreUnavailableError,
  UserNotFoundError,
  UsernameTakenError,
  type UserPatch,
  type UserRecord,
  type UserStore,
  validateNewUser,
  validateStringSet,
  validateUserPatch,
  validateUserRecord,
} from "@porter/core";
import { FileLocker } from "./file-lock.js";
import { DirWriter, errno, openNoFollow, unavailable } from "./fs-util.js";

export interface FileUserStoreOptions {
  /**
   * The JSON file that holds every user and group. Its directory is created (mode 0700) if
   * missing; the file is created (mode 0600) on the first write. A directory or a symlink at
   * this path is a `ConfigError`.
   */
  path: string;
  /** Epoch milliseconds for `dateJoined` defaults. @default Date.now */
  clock?: () => number;
  /** How long a write waits for another writer's lock, ms. @default 5000 */
  lockTimeoutMs?: number;
}

/** A `UserStore` in one JSON file, plus where that file is. */
export interface FileUserStore extends UserStore {
  /** The file's path, its directory resolved once (`realpath`). */
  readonly path: string;
  close(): Promise<void>;
}

interface State {
  nextId: number;
  byId: Map<string, UserRecord>;
  idByUsername: Map<string, string>;
  groups: Map<string, string[]>;
}

const FORMAT = "porter-users";
const ID_PATTERN = /^[1-9][0-9]{0,15}$/;

const emptyState = (): State => ({ nextId: 1, byId: new Map(), idByUsername: new Map(), groups: new Map() });

/** Rebuilds the state from the file's JSON, checking every field: a corrupt file is never "no users". */
function parseState(json: string): State {
  const fail = (why: string): never => {
    throw new StoreUnavailableError(
      `file user store: the user file is corrupt (${why}); restore it from a backup`,
    );
  };
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new StoreUnavailableError("file user store: the user file is not JSON; restore it from a backup", {
      cause: err,
    });
  }
  const d = doc as { format?: unknown; nextId?: unknown; users?: unknown; groups?: unknown };
  if (typeof doc !== "object" || doc === null || d.format !== FORMAT) fail("not a porter user file");
  if (!Number.isSafeInteger(d.nextId) || (d.nextId as number) < 1) fail("nextId");
  if (!Array.isArray(d.users) || !Array.isArray(d.groups)) fail("users/groups");
  const state: State = { ...emptyState(), nextId: d.nextId as number };
  for (const raw of d.users as unknown[]) {
    try {
      const user = validateUserRecord(raw);
      const id = user.id;
      if (!ID_PATTERN.test(id)) throw new InvalidArgumentError("id");
      if (state.byId.has(id) || state.idByUsername.has(user.username))
        throw new InvalidArgumentError("duplicate");
      state.byId.set(id, user);
      state.idByUsername.set(user.username, id);
    } catch {
      fail("a user record");
    }
  }
  for (const raw of d.groups as unknown[]) {
    try {
      const g = raw as Record<string, unknown>;
      if (typeof g.name !== "string") throw new InvalidArgumentError("name");
      state.groups.set(g.name, validateStringSet(g.permissions, "permissions"));
    } catch {
      fail("a group");
    }
  }
  return state;
}

function serialize(state: State): string {
  return JSON.stringify({
    format: FORMAT,
    version: 1,
    nextId: state.nextId,
    users: [...state.byId.values()],
    groups: [...state.groups].map(([name, permissions]) => ({ name, permissions })),
  });
}

function cloneState(state: State): State {
  return {
    nextId: state.nextId,
    byId: new Map(state.byId),
    idByUsername: new Map(state.idByUsername),
    groups: new Map(state.groups),
  };
}

/**
 * The embedded user store: every user and group in one JSON file, for small deployments and
 * the example app.
 * - Each write is atomic and durable (temp file, `fsync`, `rename`, `fsync` of the directory)
 *   and runs under a lock that also works between processes, on the freshest file: two
 *   processes sharing the file never lose each other's writes, and of two concurrent creates
 *   of one username exactly one succeeds.
 * - Reads need no lock: a reader sees the file before or after a write, never in between. The
 *   parsed file is cached and re-read only when it changed (inode, size, times).
 * - Usernames are NFKC-normalized (core's `normalizeUsername`) and matched exactly. Ids are
 *   `"1"`, `"2"`, … like Django's integer keys, never reused.
 * - A corrupt file rejects with `StoreUnavailableError`; it is never taken for "no users".
 */
export function createFileUserStore(options: FileUserStoreOptions): FileUserStore {
  const { clock = Date.now } = options;
  if (typeof options.path !== "string" || options.path.length === 0 || options.path.includes("\0")) {
    throw new ConfigError("file user store: path must be a non-empty file path");
  }
  if (typeof clock !== "function") throw new ConfigError("file user store: clock must be a function");
  const lockTimeoutMs = options.lockTimeoutMs ?? 5000;
  if (!Number.isSafeInteger(lockTimeoutMs) || lockTimeoutMs < 1 || lockTimeoutMs > 600_000) {
    throw new ConfigError("file user store: lockTimeoutMs must be an integer between 1 and 600000");
  }
  const name = basename(options.path);
  let dir: string;
  try {
    mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
    dir = realpathSync(dirname(options.path));
  } catch (err) {
    throw new ConfigError(
      `file user store: cannot use the directory of path (${errno(err) ?? "not a directory"})`,
    );
  }
  const path = join(dir, name);
  try {
    const existing = lstatSync(path);
    if (!existing.isFile()) throw new ConfigError("file user store: path exists but is not a regular file");
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if (errno(err) !== "ENOENT") throw new ConfigError(`file user store: cannot use path (${errno(err)})`);
  }
  const locker = new FileLocker(dir, { timeoutMs: lockTimeoutMs, staleMs: 30_000 });
  const files = new DirWriter(dir);
  const lockPath = join(dir, `.${name}.lock`);

  let cache: { stamp: string; state: State } | undefined;

  /** The file as it is now; parsed again only when its inode, size or times moved. */
  async function load(): Promise<State> {
    let stamp: string;
    try {
      const s = await stat(path, { bigint: true });
      stamp = `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
    } catch (err) {
      if (errno(err) === "ENOENT") return emptyState();
      throw err;
    }
    if (cache?.stamp === stamp) return cache.state;
    let json: string;
    try {
      const handle = await openNoFollow(path);
      try {
        json = await handle.readFile("utf8");
      } finally {
        await handle.close();
      }
    } catch (err) {
      if (errno(err) === "ENOENT") return emptyState();
      throw err;
    }
    const state = parseState(json);
    cache = { stamp, state };
    return state;
  }

  async function read<T>(what: string, fn: (state: State) => T): Promise<T> {
    try {
      return fn(await load());
    } catch (err) {
      throw unavailable(`user store ${what}`, err);
    }
  }

  /** Applies `change` to the freshest state under the lock and writes the result atomically. */
  async function write<T>(what: string, change: (state: State) => T): Promise<T> {
    try {
      return await locker.withLock(lockPath, async () => {
        const next = cloneState(await load());
        const result = change(next);
        const tmp = await files.writeTemp(name, Buffer.from(serialize(next), "utf8"));
        try {
          await rename(tmp, path);
        } catch (err) {
          await unlink(tmp).catch(() => {});
          throw err;
        }
        await files.sync();
        return result;
      });
    } catch (err) {
      throw unavailable(`user store ${what}`, err);
    }
  }

  const find = (state: State, id: unknown): UserRecord | undefined =>
    typeof id === "string" && ID_PATTERN.test(id) ? state.byId.get(id) : undefined;

  return {
    contractVersion: 1,
    path,

    findById(id) {
      return read("findById", (state) => {
        const user = find(state, id);
        return user === undefined ? null : copyUserRecord(user);
      });
    },

    findByUsername(value) {
      const normalized = normalizeUsername(value);
      if (normalized === null) return Promise.resolve(null);
      return read("findByUsername", (state) => {
        const id = state.idByUsername.get(normalized);
        const user = id === undefined ? undefined : state.byId.get(id);
        return user === undefined ? null : copyUserRecord(user);
      });
    },

    async create(user: NewUser) {
      const fields = validateNewUser(user, clock());
      return write("create", (state) => {
        if (state.idByUsername.has(fields.username)) throw new UsernameTakenError();
        const stored: UserRecord = { id: String(state.nextId++), ...fields };
        state.byId.set(stored.id, stored);
        state.idByUsername.set(stored.username, stored.id);
        return copyUserRecord(stored);
      });
    },

    async update(id, patch: UserPatch) {
      const checked = validateUserPatch(patch);
      if (typeof id !== "string" || !ID_PATTERN.test(id)) throw new UserNotFoundError();
      return write("update", (state) => {
        const user = find(state, id);
        if (user === undefined) throw new UserNotFoundError();
        const next = applyUserPatch(user, checked);
        if (next.username !== user.username) {
          if (state.idByUsername.has(next.username)) throw new UsernameTakenError();
          state.idByUsername.delete(user.username);
          state.idByUsername.set(next.username, user.id);
        }
        state.byId.set(user.id, next);
        return copyUserRecord(next);
      });
    },

    async delete(id) {
      if (typeof id !== "string" || !ID_PATTERN.test(id)) return;
      if ((await read("delete", (state) => find(state, id))) === undefined) return;
      await write("delete", (state) => {
        const user = find(state, id);
        if (user === undefined) return;
        state.byId.delete(user.id);
        state.idByUsername.delete(user.username);
      });
    },

    groupPermissions(names) {
      return read("groupPermissions", (state) => {
        const union = new Set<string>();
        if (!Array.isArray(names)) return union;
        for (const group of names) {
          if (typeof group !== "string") continue;
          for (const permission of state.groups.get(group) ?? []) union.add(permission);
        }
        return union;
      });
    },

    async setGroupPermissions(group, permissions) {
      if (typeof group !== "string" || group.length === 0) {
        throw new InvalidArgumentError("group must be a non-empty string");
      }
      const list = validateStringSet(permissions, "permissions");
      await write("setGroupPermissions", (state) => {
        state.groups.set(group, list);
      });
    },

    async close() {
      await locker.close();
    },
  };
}
