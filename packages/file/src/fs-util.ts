import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import { PorterError, StoreUnavailableError } from "@porter/core";

const { O_CREAT, O_EXCL, O_WRONLY, O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = fs.constants;

export const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/** Wraps an fs failure in `StoreUnavailableError` (the errno error as `cause`); typed errors pass. */
export function unavailable(what: string, err: unknown): PorterError {
  if (PorterError.is(err)) return err;
  const code = errno(err);
  return new StoreUnavailableError(`file store: ${what} failed${code ? ` (${code})` : ""}`, { cause: err });
}

// The hot paths use the callback fs API on plain descriptors, wrapped in promises here: each
// call is one thread-pool round trip either way, but `fs/promises` and its `FileHandle`
// objects cost about twice the CPU per call. Every descriptor opened here is closed on every
// path by the function that opened it.

type Done<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

function call<T>(start: (done: Done<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((err, value) => (err ? reject(err) : resolve(value)));
  });
}

export const openFd = (path: string, flags: number, mode = 0o600): Promise<number> =>
  call((done) => fs.open(path, flags, mode, done));
export const closeFd = (fd: number): Promise<void> =>
  call((done) => fs.close(fd, (err) => done(err, undefined)));
export const fsyncFd = (fd: number): Promise<void> =>
  call((done) => fs.fsync(fd, (err) => done(err, undefined)));
export const readAt = (fd: number, buf: Buffer, length: number, position: number): Promise<number> =>
  call((done) => fs.read(fd, buf, 0, length, position, done));
export const writeAt = (fd: number, buf: Uint8Array, offset: number, position: number): Promise<number> =>
  call((done) => fs.write(fd, buf, offset, buf.length - offset, position, done));
/** The whole file from its start: one `fstat` for the size, then reads until it is all in. */
export const readAll = (fd: number): Promise<Buffer> => call((done) => fs.readFile(fd, done));
export const renameFile = (from: string, to: string): Promise<void> =>
  call((done) => fs.rename(from, to, (err) => done(err, undefined)));
export const linkFile = (existing: string, created: string): Promise<void> =>
  call((done) => fs.link(existing, created, (err) => done(err, undefined)));
export const unlinkFile = (path: string): Promise<void> =>
  call((done) => fs.unlink(path, (err) => done(err, undefined)));
export const lstatIno = (path: string): Promise<number> =>
  call((done) => fs.lstat(path, (err, stats) => done(err, err ? 0 : stats.ino)));

/** `unlinkFile` for cleanup: a failure (usually "already gone") is not the caller's error. */
export const discard = (path: string): Promise<void> => unlinkFile(path).catch(() => {});

/** Flags that open a file without following a symlink at its last component, nor blocking on a FIFO. */
export const NO_FOLLOW = O_NOFOLLOW | O_NONBLOCK;

/**
 * Opens a file without following a symlink at its last component, and without blocking on
 * something planted that is not a regular file (a FIFO would wait for a writer forever).
 */
export function openNoFollow(path: string, flags = O_RDONLY): Promise<FileHandle> {
  return open(path, flags | NO_FOLLOW);
}

/** Flushes a directory's entries (a rename, link or unlink) to disk. */
export async function syncDir(dir: string): Promise<void> {
  const fd = await openFd(dir, O_RDONLY | O_DIRECTORY);
  try {
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

/** The two calls whose scheduling `DirWriter` manages; tests substitute them to watch it. */
export interface DirIo {
  /** Creates a new file for writing (`O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0600); resolves its descriptor. */
  createFile(path: string): Promise<number>;
  /** Flushes a directory's entries to disk. */
  syncDir(dir: string): Promise<void>;
}

const realIo: DirIo = {
  createFile: (path) => openFd(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0o600),
  syncDir,
};

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

// Temp-file names take 8 random bytes each, drawn from a buffer refilled 64 names at a time
// (one call into the CSPRNG instead of one per write).
let randomPool = Buffer.alloc(0);
let randomAt = 0;
function randomSuffix(): string {
  if (randomAt + 8 > randomPool.length) {
    randomPool = randomBytes(512);
    randomAt = 0;
  }
  randomAt += 8;
  return randomPool.toString("hex", randomAt - 8, randomAt);
}

/**
 * The writes one store makes in its directory: temp files, and the fsyncs of the directory
 * that make renames, links and unlinks durable.
 *
 * Creating a file takes the directory's lock in the kernel for the whole allocation of the
 * inode, so creations in one directory run one at a time however many are issued; each extra
 * one only holds a thread-pool thread waiting (on Linux, spinning) on that lock, while reads,
 * renames and fsyncs queue behind it. So at most `CREATES_IN_FLIGHT` are issued at once: one
 * running, one ready to take the lock the moment it is free.
 *
 * `sync()` is a group commit. It is called once a caller's rename, link or unlink has
 * completed, and resolves only after an fsync of the directory that *started after that call*,
 * so the caller's change is on disk. Callers arriving while an fsync is under way (it may have
 * started before their change) wait for the next one, which starts as soon as the current one
 * ends and serves all of them. Durability is exactly that of one fsync per change; at
 * concurrency, far fewer fsyncs run. A failed fsync rejects every caller it was serving.
 */
export class DirWriter {
  static readonly CREATES_IN_FLIGHT = 2;
  readonly #dir: string;
  readonly #io: DirIo;
  #creating = 0;
  readonly #createQueue: (() => void)[] = [];
  #syncing = false;
  #syncWaiting: Waiter[] = [];

  constructor(dir: string, io: DirIo = realIo) {
    this.#dir = dir;
    this.#io = io;
  }

  /**
   * Writes `bytes` to a new, uniquely named temp file (mode 0600, never through a symlink),
   * named `.{base}.{16 hex}.tmp`, and flushes it to disk. Resolves the temp path; on any
   * failure the temp file is gone.
   */
  async writeTemp(base: string, bytes: Uint8Array): Promise<string> {
    const tmp = join(this.#dir, `.${base}.${randomSuffix()}.tmp`);
    const fd = await this.#create(tmp);
    try {
      // A write may take fewer bytes than offered (e.g. interrupted near a full disk): go on.
      for (let done = 0; done < bytes.length; ) done += await writeAt(fd, bytes, done, done);
      await fsyncFd(fd);
    } catch (err) {
      await closeFd(fd).catch(() => {});
      await discard(tmp);
      throw err;
    }
    try {
      await closeFd(fd);
    } catch (err) {
      await discard(tmp);
      throw err;
    }
    return tmp;
  }

  async #create(path: string): Promise<number> {
    if (this.#creating < DirWriter.CREATES_IN_FLIGHT) {
      this.#creating++;
    } else {
      // A finishing creation hands its slot straight to the next in line.
      await new Promise<void>((resolve) => this.#createQueue.push(resolve));
    }
    try {
      return await this.#io.createFile(path);
    } finally {
      const next = this.#createQueue.shift();
      if (next === undefined) this.#creating--;
      else next();
    }
  }

  sync(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#syncWaiting.push({ resolve, reject });
      if (!this.#syncing) this.#flush();
    });
  }

  #flush(): void {
    const batch = this.#syncWaiting;
    this.#syncWaiting = [];
    this.#syncing = true;
    // Every caller in `batch` called sync() before this point, so the fsync below starts
    // after each one's change.
    this.#io.syncDir(this.#dir).then(
      () => this.#settle(batch, true, undefined),
      (err: unknown) => this.#settle(batch, false, err),
    );
  }

  #settle(batch: Waiter[], ok: boolean, err: unknown): void {
    this.#syncing = false;
    if (this.#syncWaiting.length > 0) this.#flush();
    for (const waiter of batch) {
      if (ok) waiter.resolve();
      else waiter.reject(err);
    }
  }
}
