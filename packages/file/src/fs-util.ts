import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, open, unlink } from "node:fs/promises";
import { join } from "node:path";
import { PorterError, StoreUnavailableError } from "@porter/core";

const { O_CREAT, O_EXCL, O_WRONLY, O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;

export const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/** Wraps an fs failure in `StoreUnavailableError` (the errno error as `cause`); typed errors pass. */
export function unavailable(what: string, err: unknown): PorterError {
  if (PorterError.is(err)) return err;
  const code = errno(err);
  return new StoreUnavailableError(`file store: ${what} failed${code ? ` (${code})` : ""}`, { cause: err });
}

/**
 * Writes `bytes` to a new, uniquely named temp file in `dir` (mode 0600, never through a
 * symlink) and flushes it to disk. Resolves the temp path; on any failure the temp file is gone.
 */
export async function writeTemp(dir: string, base: string, bytes: Uint8Array): Promise<string> {
  const tmp = join(dir, `.${base}.${randomBytes(8).toString("hex")}.tmp`);
  const handle = await open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  try {
    await handle.close();
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  return tmp;
}

/**
 * Opens a file without following a symlink at its last component, and without blocking on
 * something planted that is not a regular file (a FIFO would wait for a writer forever).
 */
export function openNoFollow(path: string, flags = O_RDONLY): Promise<FileHandle> {
  return open(path, flags | O_NOFOLLOW | O_NONBLOCK);
}

/** Flushes a directory's entries (a rename, link or unlink) to disk. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, O_RDONLY | O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
