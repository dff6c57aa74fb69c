import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { opendir } from "node:fs/promises";
import { join } from "node:path";
import {
  ConfigError,
  checkExpiresAt,
  checkSessionData,
  checkSessionRecord,
  checkStoreKey,
  SessionConflictError,
  SessionExistsError,
  SessionMissingError,
  type SessionRecord,
  type SessionStore,
} from "@porter/core";
import {
  decodeHeader,
  decodeSessionFile,
  EXPIRY_OFFSET,
  encodeExpiry,
  encodeSessionFile,
  HEADER_SIZE,
} from "./file-format.js";
import { FileLocker, ownerGoneSync, TEMPLATE_NAME } from "./file-lock.js";
import {
  closeFd,
  DirWriter,
  discard,
  errno,
  fsyncFd,
  linkFile,
  NO_FOLLOW,
  openFd,
  readAll,
  readAt,
  renameFile,
  unavailable,
  unlinkFile,
  writeAt,
} from "./fs-util.js";

export interface FileSessionStoreOptions {
  /**
   * The directory that holds one file per session. Created with mode 0700 if missing; a path
   * that exists but is not a directory is a `ConfigError`. Resolved once (`realpath`).
   */
  dir: string;
  /**
   * Starts every session file's name: 1–64 characters of `[A-Za-z0-9_-]`.
   * @default "porter-sess-"
   */
  prefix?: string;
  /** The clock expiry is compared against. @default Date.now */
  clock?: () => number;
  /** How long a write waits for another writer's lock, ms. @default 5000 */
  lockTimeoutMs?: number;
  /** A lock held longer than this is considered abandoned and broken, ms. @default 30000 */
  lockStaleMs?: number;
}

/** A `SessionStore` on the local filesystem, plus where its files live. */
export interface FileSessionStore extends SessionStore {
  /** The directory's real path, resolved once at construction. */
  readonly dir: string;
  readonly prefix: string;
  /** The path of the file that holds the session stored under `key`. */
  pathOf(key: string): string;
  touch(key: string, expiresAt: number): Promise<void>;
  clearExpired(): Promise<number>;
  /** Removes this store's lock template; the files stay. */
  close(): Promise<void>;
}

type Probe =
  | { kind: "missing" }
  | { kind: "symlink" }
  | { kind: "foreign" }
  | { kind: "record"; version: number; expiresAt: number; data: string };

const PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const { O_RDWR, O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;
// clearExpired works in synchronous slices this long, then yields to the event loop: on
// virtualised disks each asynchronous fs call costs a thread-pool round trip, and a sweep of
// 100 000 files would otherwise take minutes.
const SLICE_MS = 4;
// Orphaned temp files (a writer killed between write and rename) are removed by clearExpired
// once they are surely no longer being written.
const TEMP_MAX_AGE_MS = 3_600_000;

function positive(name: string, value: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new ConfigError(`file session store: ${name} must be an integer between 1 and ${max}`);
  }
  return value;
}

/** Prepares the directory at construction: created 0700 if missing, refused if not a directory. */
function resolveDir(dir: unknown): string {
  if (typeof dir !== "string" || dir.length === 0 || dir.includes("\0")) {
    throw new ConfigError("file session store: dir must be a non-empty path");
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    if (errno(err) !== "EEXIST")
      throw new ConfigError(`file session store: cannot create dir (${errno(err)})`);
  }
  let real: string;
  try {
    real = realpathSync(dir);
    if (!statSync(real).isDirectory()) throw new Error("not a directory");
  } catch {
    throw new ConfigError("file session store: dir exists but is not a directory");
  }
  return real;
}

/**
 * A session store keeping one file per session in a directory (Django's file backend).
 * - File names are `prefix + key`, built only from keys that pass `isStoreKey`: a name can
 *   never leave the directory. Files are opened with `O_NOFOLLOW`; a planted symlink is never
 *   followed or written through.
 * - Writes are atomic and durable: a unique temp file in the same directory, `fsync`, then
 *   `link` (create: fails if the name is taken) or `rename` (update), then `fsync` of the
 *   directory, shared by concurrent writers (see `DirWriter`). A failed write (disk full, read-only) leaves the previous version intact and no
 *   temp file behind, and rejects with `StoreUnavailableError` (the errno error as `cause`).
 * - `update`, `touch`, `delete` and replacing an expired record hold a per-session lock that
 *   also works between processes, so a version check and its write are one step.
 * - `touch` rewrites only the expiry in the file's header, never the data.
 * - Expiry is compared on read; `clearExpired` streams the directory and removes expired files.
 */
export function createFileSessionStore(options: FileSessionStoreOptions): FileSessionStore {
  const { prefix = "porter-sess-", clock = Date.now } = options;
  if (typeof prefix !== "string" || !PREFIX_PATTERN.test(prefix)) {
    throw new ConfigError("file session store: prefix must be 1-64 characters of [A-Za-z0-9_-]");
  }
  if (typeof clock !== "function") throw new ConfigError("file session store: clock must be a function");
  const lockTimeoutMs = positive("lockTimeoutMs", options.lockTimeoutMs ?? 5000, 600_000);
  const staleMs = positive("lockStaleMs", options.lockStaleMs ?? 30_000, 3_600_000);
  const root = resolveDir(options.dir);
  const locker = new FileLocker(root, { timeoutMs: lockTimeoutMs, staleMs });
  const files = new DirWriter(root);
  const ownName = new RegExp(`^${prefix}([a-z0-9]{8,64})$`);
  const tempName = new RegExp(`^\\.${prefix}[a-z0-9]{8,64}\\.[0-9a-f]{16}\\.tmp$`);

  const nameOf = (key: string): string => `${prefix}${key}`;
  const pathOf = (key: string): string => join(root, nameOf(key));
  const lockOf = (key: string): string => join(root, `.${nameOf(key)}.lock`);

  /**
   * What is at a session's name: the whole record, or with `headerOnly` just its version and
   * expiry (update and create need no more). Never follows a symlink; never hangs on a FIFO.
   */
  async function probe(key: string, headerOnly = false): Promise<Probe> {
    for (let attempt = 0; ; attempt++) {
      let buf: Buffer;
      try {
        const fd = await openFd(pathOf(key), O_RDONLY | NO_FOLLOW);
        try {
          if (headerOnly) {
            buf = Buffer.allocUnsafe(HEADER_SIZE);
            buf = buf.subarray(0, await readAt(fd, buf, HEADER_SIZE, 0));
          } else {
            buf = await readAll(fd);
          }
        } finally {
          await closeFd(fd);
        }
      } catch (err) {
        const code = errno(err);
        if (code === "ENOENT") return { kind: "missing" };
        // ELOOP: a symlink planted at the session's name is not a session.
        if (code === "ELOOP") return { kind: "symlink" };
        throw err;
      }
      const found = headerOnly ? decodeHeader(buf) : decodeSessionFile(buf);
      // "torn": a touch rewrote the expiry while we read; the next read sees it whole.
      if (found === "torn" && attempt < 3) continue;
      if (typeof found === "string") return { kind: "foreign" };
      return {
        kind: "record",
        version: found.version,
        expiresAt: found.expiresAt,
        data: "data" in found ? found.data : "",
      };
    }
  }

  const live = (found: Probe): found is Extract<Probe, { kind: "record" }> =>
    found.kind === "record" && found.expiresAt > clock();

  async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw unavailable(what, err);
    }
  }

  /**
   * Replaces the file under `key` with `bytes`: temp file, fsync, rename. The caller then
   * awaits `files.sync()` before reporting success, so that the rename is on disk too.
   */
  async function replace(key: string, bytes: Uint8Array): Promise<void> {
    const tmp = await files.writeTemp(nameOf(key), bytes);
    try {
      await renameFile(tmp, pathOf(key));
    } catch (err) {
      await discard(tmp);
      throw err;
    }
  }

  return {
    contractVersion: 1,
    capabilities: { versioned: true, nativeExpiry: false, touch: true, clearExpired: true },
    dir: root,
    prefix,
    pathOf(key) {
      checkStoreKey(key);
      return pathOf(key);
    },

    async get(key) {
      checkStoreKey(key);
      const found = await guarded("get", () => probe(key));
      return live(found) ? { data: found.data, expiresAt: found.expiresAt, version: found.version } : null;
    },

    async create(key, data, expiresAt) {
      checkStoreKey(key);
      checkExpiresAt(expiresAt);
      checkSessionData(data);
      const record: SessionRecord = { data, expiresAt, version: 1 };
      const bytes = encodeSessionFile(data, 1, expiresAt);
      return guarded("create", async () => {
        const tmp = await files.writeTemp(nameOf(key), bytes);
        try {
          // link() fails with EEXIST when anything holds the name: creation never overwrites.
          try {
            await linkFile(tmp, pathOf(key));
            await files.sync();
            return record;
          } catch (err) {
            if (errno(err) !== "EEXIST") throw err;
          }
          // The name is taken. Only an expired record (or a file that is not a session) may be
          // replaced, and only under the lock, which every other writer and remover holds too.
          return await locker.withLock(lockOf(key), async () => {
            for (;;) {
              const found = await probe(key, true);
              if (found.kind === "symlink" || live(found)) {
                throw new SessionExistsError(key);
              }
              if (found.kind === "missing") {
                // Lock-free creators may race us for a free name: link again, never rename.
                try {
                  await linkFile(tmp, pathOf(key));
                } catch (err) {
                  if (errno(err) === "EEXIST") continue;
                  throw err;
                }
              } else {
                await renameFile(tmp, pathOf(key));
              }
              await files.sync();
              return record;
            }
          });
        } finally {
          await discard(tmp);
        }
      });
    },

    async update(key, record) {
      checkStoreKey(key);
      const { data, expiresAt, version } = checkSessionRecord(record);
      return guarded("update", async () => {
        const next = await locker.withLock(lockOf(key), async () => {
          const current = await probe(key, true);
          if (!live(current)) throw new SessionMissingError(key);
          if (current.version !== version) throw new SessionConflictError(key);
          const next: SessionRecord = { data, expiresAt, version: version + 1 };
          await replace(key, encodeSessionFile(data, next.version, expiresAt));
          return next;
        });
        // The lock only has to cover the version check and the rename: the next writer reads
        // what the rename made visible. Success waits for the directory fsync, which can be
        // shared with other writers' and need not hold this session's lock meanwhile.
        await files.sync();
        return next;
      });
    },

    async touch(key, expiresAt) {
      checkStoreKey(key);
      checkExpiresAt(expiresAt);
      await guarded("touch", () =>
        locker.withLock(lockOf(key), async () => {
          let fd: number;
          try {
            fd = await openFd(pathOf(key), O_RDWR | NO_FOLLOW);
          } catch (err) {
            if (errno(err) === "ENOENT" || errno(err) === "ELOOP") return;
            throw err;
          }
          try {
            const head = Buffer.allocUnsafe(HEADER_SIZE);
            const header = decodeHeader(head.subarray(0, await readAt(fd, head, HEADER_SIZE, 0)));
            if (typeof header === "string" || header.expiresAt <= clock()) return;
            // 16 bytes at a fixed offset inside the header: a regular file takes them in one write.
            const expiry = encodeExpiry(expiresAt);
            if ((await writeAt(fd, expiry, 0, EXPIRY_OFFSET)) !== expiry.length) {
              throw new Error("short write of the expiry");
            }
            await fsyncFd(fd);
          } finally {
            await closeFd(fd);
          }
        }),
      );
    },

    async delete(key) {
      checkStoreKey(key);
      await guarded("delete", async () => {
        const removed = await locker.withLock(lockOf(key), async () => {
          try {
            // unlink never follows a symlink: a planted link is removed, its target untouched.
            await unlinkFile(pathOf(key));
            return true;
          } catch (err) {
            if (errno(err) === "ENOENT") return false;
            throw err;
          }
        });
        if (removed) await files.sync();
      });
    },

    async clearExpired() {
      return guarded("clearExpired", async () => {
        await locker.prepare();
        const now = clock();
        let removed = 0;
        let sliceStart = performance.now();
        const dir = await opendir(root, { bufferSize: 256 });
        for await (const entry of dir) {
          if (entry.isDirectory() || entry.isSymbolicLink()) continue;
          const match = ownName.exec(entry.name);
          try {
            if (match !== null) {
              if (removeIfExpired(match[1] as string, now)) removed++;
            } else if (tempName.test(entry.name)) {
              const path = join(root, entry.name);
              if (Date.now() - lstatSync(path).mtimeMs > TEMP_MAX_AGE_MS) unlinkSync(path);
            } else if (TEMPLATE_NAME.test(entry.name)) {
              const path = join(root, entry.name);
              if (ownerGoneSync(path)) unlinkSync(path);
            }
          } catch {
            // One file that cannot be examined or removed does not stop the sweep.
          }
          if (performance.now() - sliceStart > SLICE_MS) {
            await new Promise((resolve) => setImmediate(resolve));
            sliceStart = performance.now();
          }
        }
        return removed;
      });
    },

    async close() {
      await locker.close();
    },
  };

  function headerOf(key: string): ReturnType<typeof decodeHeader> | null {
    let fd: number;
    try {
      fd = openSync(pathOf(key), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch {
      return null;
    }
    try {
      const head = Buffer.alloc(HEADER_SIZE);
      return decodeHeader(head.subarray(0, readSync(fd, head, 0, HEADER_SIZE, 0)));
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Reads only the header; an expired file is removed under its lock after a second look
   * (create may have replaced it meanwhile). A busy lock is skipped: the next sweep gets it.
   */
  function removeIfExpired(key: string, now: number): boolean {
    const header = headerOf(key);
    if (header === null || typeof header === "string" || header.expiresAt > now) return false;
    const lockPath = lockOf(key);
    if (!locker.tryLockSync(lockPath)) return false;
    try {
      const again = headerOf(key);
      if (again === null || typeof again === "string" || again.expiresAt > now) return false;
      unlinkSync(pathOf(key));
      return true;
    } finally {
      locker.unlockSync(lockPath);
    }
  }
}
