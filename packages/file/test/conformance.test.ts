import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createManualClock, describeSessionStore, type InspectedRecord } from "@porter/core/conformance";
import { afterAll, beforeAll } from "vitest";
import { decodeSessionFile } from "../src/file-format.js";
import { createFileSessionStore, type FileSessionStore } from "../src/index.js";

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "porter-file-kit-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** Reads the raw file for the kit's backend checks. */
async function inspect(store: FileSessionStore, key: string): Promise<InspectedRecord | null> {
  let buf: Buffer;
  try {
    buf = await readFile(store.pathOf(key));
  } catch {
    return null;
  }
  const record = decodeSessionFile(buf);
  return typeof record === "string"
    ? { data: `<${record}>` }
    : { data: record.data, expiresAt: record.expiresAt };
}

/**
 * A store whose directory is gone: removed after the store was made, and a regular file put in
 * its place (as when the volume holding it is lost), so every path under it fails.
 */
async function unreachable(): Promise<FileSessionStore> {
  const dir = join(root, `gone-${++n}`);
  const store = createFileSessionStore({ dir });
  await rm(dir, { recursive: true, force: true });
  await writeFile(dir, "not a directory");
  return store;
}

describeSessionStore("file", {
  create: () => createFileSessionStore({ dir: join(root, `real-${++n}`) }),
  inspect,
  unreachable,
});

const clock = createManualClock();
describeSessionStore("file, injected clock", {
  create: () => createFileSessionStore({ dir: join(root, `clock-${++n}`), clock: clock.now }),
  inspect,
  clock,
  unreachable,
});
