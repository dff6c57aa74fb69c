import { randomBytes } from "node:crypto";
import { closeSync, constants, linkSync, lstatSync, openSync, readSync, unlinkSync } from "node:fs";
import { lstat, open, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { StoreUnavailableError } from "@porter/core";
import { discard, linkFile, lstatIno, unlinkFile } from "./fs-util.js";

const { O_CREAT, O_EXCL, O_WRONLY, O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;
const HOST = hostname();

export interface LockOptions {
  /** How long to wait for a lock before giving up with `StoreUnavailableError`, ms. */
  readonly timeoutMs: number;
  /**
   * A lock untouched for this long is broken even if its owner process still runs, ms. Locks
   * are held for one read and one write, so this is far beyond any honest hold.
   */
  readonly staleMs: number;
}

interface Template {
  readonly path: string;
  readonly ino: number;
}

/** Lock files and owner templates in a directory carry these names. */
export const TEMPLATE_NAME = /^\.porter-lock\.([1-9][0-9]{0,9})\.[0-9a-f]{24}$/;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const code = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return code(err) === "ESRCH";
  }
}

function parseOwner(text: string): { pid: number; host: string } | null {
  const [pid, host] = text.split("\n");
  if (pid === undefined || host === undefined || !/^[1-9][0-9]{0,9}$/.test(pid)) return null;
  return { pid: Number(pid), host };
}

const gone = (owner: { pid: number; host: string } | null): boolean =>
  owner !== null && owner.host === HOST && processGone(owner.pid);

/** A lock (or template) whose owner process is gone from this host. */
export async function ownerGone(path: string): Promise<boolean> {
  try {
    const handle = await open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    try {
      const buf = Buffer.alloc(256);
      const { bytesRead } = await handle.read(buf, 0, 256, 0);
      return gone(parseOwner(buf.toString("utf8", 0, bytesRead)));
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

/** `ownerGone`, synchronously, for sweeps that work in short synchronous slices. */
export function ownerGoneSync(path: string): boolean {
  try {
    const fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    try {
      const buf = Buffer.alloc(256);
      return gone(parseOwner(buf.toString("utf8", 0, readSync(fd, buf, 0, 256, 0))));
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/**
 * Exclusive locks that work between processes on one machine, as files in one directory.
 *
 * Each locker writes one *template* file holding its pid, host and a random token; taking a
 * lock is a single `link(template, lockPath)`, which fails with EEXIST while anyone holds it,
 * and leaves the owner's identity readable in the lock. A lock whose owner process is gone
 * (same host), or whose inode has not changed for `staleMs`, is broken. Waiting is bounded by
 * `timeoutMs`: a lock never hangs. Callers in this process queue in memory, so only callers
 * in other processes meet at the lock file and poll.
 */
export class FileLocker {
  readonly #dir: string;
  readonly #options: LockOptions;
  readonly #tails = new Map<string, Promise<void>>();
  #template: Template | undefined;
  /** The template being made, shared by every caller that needs it meanwhile. */
  #making: Promise<Template> | undefined;

  constructor(dir: string, options: LockOptions) {
    this.#dir = dir;
    this.#options = options;
  }

  /** Runs `fn` while holding the lock at `lockPath`. */
  async withLock<T>(lockPath: string, fn: () => Promise<T>, timeoutMs = this.#options.timeoutMs): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    const previous = this.#tails.get(lockPath) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    const tail = previous.then(() => mine);
    this.#tails.set(lockPath, tail);
    try {
      await previous;
      const ino = await this.#acquire(lockPath, deadline);
      try {
        return await fn();
      } finally {
        await this.#release(lockPath, ino);
      }
    } finally {
      done();
      if (this.#tails.get(lockPath) === tail) this.#tails.delete(lockPath);
    }
  }

  /**
   * Takes a lock now or not at all, synchronously (for sweeps that work in short synchronous
   * slices). Never waits, never breaks a stale lock. Release with `unlockSync`.
   */
  tryLockSync(lockPath: string): boolean {
    const template = this.#template;
    if (template === undefined || this.#tails.has(lockPath)) return false;
    try {
      linkSync(template.path, lockPath);
      return true;
    } catch {
      return false;
    }
  }

  unlockSync(lockPath: string): void {
    try {
      if (lstatSync(lockPath).ino === this.#template?.ino) unlinkSync(lockPath);
    } catch {
      // Already gone.
    }
  }

  /** Makes sure this locker's template exists, so `tryLockSync` can work. */
  async prepare(): Promise<void> {
    const template = this.#template;
    if (template !== undefined) {
      try {
        if ((await lstat(template.path)).ino === template.ino) return;
      } catch {
        // Removed from under us: make a new one.
      }
      if (this.#template === template) this.#template = undefined;
    }
    await this.#current();
  }

  /** Removes the template. Locks still held by this process stay until released. */
  async close(): Promise<void> {
    const template = this.#template;
    this.#template = undefined;
    if (template !== undefined) await unlink(template.path).catch(() => {});
  }

  /**
   * This locker's template, made if there is none. Concurrent callers share one making: each
   * making its own would leave all but one template orphaned on disk.
   */
  #current(): Promise<Template> | Template {
    if (this.#template !== undefined) return this.#template;
    this.#making ??= this.#make().finally(() => {
      this.#making = undefined;
    });
    return this.#making;
  }

  async #make(): Promise<Template> {
    const token = randomBytes(12).toString("hex");
    const path = join(this.#dir, `.porter-lock.${process.pid}.${token}`);
    const handle = await open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0o600);
    let template: Template;
    try {
      await handle.writeFile(`${process.pid}\n${HOST}\n${token}\n`);
      template = { path, ino: (await handle.stat()).ino };
    } catch (err) {
      await handle.close().catch(() => {});
      await unlink(path).catch(() => {});
      throw err;
    }
    await handle.close();
    this.#template = template;
    return template;
  }

  /** Links this locker's template at `lockPath`: the template's inode, or null if the lock is held. */
  async #tryLink(lockPath: string): Promise<number | null> {
    for (let attempt = 0; ; attempt++) {
      const template = await this.#current();
      try {
        await linkFile(template.path, lockPath);
        return template.ino;
      } catch (err) {
        if (code(err) === "EEXIST") return null;
        // The template vanished (a directory cleanup): make it again, once.
        if (code(err) === "ENOENT" && attempt === 0) {
          if (this.#template === template) this.#template = undefined;
          continue;
        }
        throw err;
      }
    }
  }

  async #stale(lockPath: string): Promise<boolean> {
    if (await ownerGone(lockPath)) return true;
    try {
      // A lock shares its template's inode, whose ctime moves whenever its owner takes or
      // releases any lock: an owner that has done nothing for staleMs is stuck or gone.
      return Date.now() - (await lstat(lockPath)).ctimeMs > this.#options.staleMs;
    } catch {
      return false;
    }
  }

  /**
   * Breakers take a second lock first, so two of them can never both judge one lock stale and
   * then remove a fresh lock the other let in.
   */
  async #break(lockPath: string): Promise<boolean> {
    const breaker = `${lockPath}.break`;
    const ino = await this.#tryLink(breaker);
    if (ino === null) {
      // A breaker that died mid-break leaves this behind; it is only ever held for a moment.
      if (await ownerGone(breaker)) await discard(breaker);
      return false;
    }
    try {
      if (!(await this.#stale(lockPath))) return false;
      await unlinkFile(lockPath);
      return true;
    } catch {
      return false;
    } finally {
      await this.#release(breaker, ino);
    }
  }

  /** Takes the lock; resolves the inode it was taken with, which `#release` checks. */
  async #acquire(lockPath: string, deadline: number): Promise<number> {
    let delay = 1;
    for (;;) {
      const ino = await this.#tryLink(lockPath);
      if (ino !== null) return ino;
      if ((await this.#stale(lockPath)) && (await this.#break(lockPath))) continue;
      if (Date.now() >= deadline) {
        throw new StoreUnavailableError("file store: timed out waiting for a lock held by another writer");
      }
      await sleep(Math.min(delay + Math.random() * delay, Math.max(1, deadline - Date.now())));
      delay = Math.min(delay * 2, 20);
    }
  }

  /**
   * Removes the lock if it is still the one taken with template inode `ino`: if it was broken
   * as stale and taken by someone else meanwhile, it is theirs now. (Compared with the inode
   * the lock was taken with, not the current template's: the template may have been made
   * again, or closed, while the lock was held.)
   */
  async #release(lockPath: string, ino: number): Promise<void> {
    try {
      if ((await lstatIno(lockPath)) === ino) await unlinkFile(lockPath);
    } catch {
      // Already gone.
    }
  }
}
