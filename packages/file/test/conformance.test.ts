import { mkdtemp, readFile, rm } from "node:fs/promises";
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

describeSessionStore("file", {
  create: () => createFileSessionStore({ dir: join(root, `real-${++n}`) }),
  inspect,
});

const clock = createManualClock();
describeSessionStore("file, injected clock", {
  create: () => createFileSessionStore({ dir: join(root, `clock-${++n}`), clock: clock.now }),
  inspect,
  clock,
});
