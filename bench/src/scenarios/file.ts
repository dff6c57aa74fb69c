import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSessionEngine } from "@porter/core";
import { createFileSessionStore } from "@porter/file";
import session from "express-session";
import fileStore from "session-file-store";
import { peerDriver, porterDriver } from "../drivers.js";
import { MAX_AGE, RUN_ID } from "../session-data.js";
import { type Measure, runStoreSuite } from "./store-suite.js";

/** This run's directory; each store gets its own subdirectory. */
export const FILE_ROOT = join(tmpdir(), `porter-bench-${RUN_ID}`);

/** session-file-store as an app configures it, minus the hourly reaper (a timer the run does not need). */
export function peerFileStore(dir: string) {
  const FileStore = fileStore(session);
  return new FileStore({ path: dir, ttl: MAX_AGE, reapInterval: -1, logFn: () => {} });
}

export async function fileSuite(measure: Measure, destroyOps: number): Promise<void> {
  try {
    const store = createFileSessionStore({ dir: join(FILE_ROOT, "porter") });
    const engine = createSessionEngine({ store, maxAge: MAX_AGE, cookie: { secure: false } });
    const peer = peerFileStore(join(FILE_ROOT, "peer"));
    await runStoreSuite(
      {
        engine: "file",
        porterName: "porter file",
        porter: porterDriver(engine),
        peerName: "session-file-store",
        peer: peerDriver(peer),
        destroyOps,
      },
      measure,
    );
    await store.close();
  } finally {
    rmSync(FILE_ROOT, { recursive: true, force: true });
  }
}
