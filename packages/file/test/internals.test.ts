import { constants, openSync, readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileLocker, TEMPLATE_NAME } from "../src/file-lock.js";
import { type DirIo, DirWriter, syncDir } from "../src/fs-util.js";

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "porter-file-internals-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const newDir = async (): Promise<string> => {
  const dir = join(root, `d${++n}`);
  await mkdir(dir);
  return dir;
};
const tick = () => new Promise((resolve) => setImmediate(resolve));
const { O_CREAT, O_EXCL, O_WRONLY, O_NOFOLLOW } = constants;

/** Directory fsyncs that start when called and end only when the test says so. */
function manualSyncs() {
  const started: { finish(err?: Error): void }[] = [];
  const io: DirIo = {
    createFile: (path) => Promise.resolve(openSync(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0o600)),
    syncDir: () =>
      new Promise<void>((resolve, reject) => {
        started.push({ finish: (err) => (err ? reject(err) : resolve()) });
      }),
  };
  return { io, started };
}

describe("DirWriter.sync (group commit of directory fsyncs)", () => {
  it("resolves a caller only after an fsync that started after its call", async () => {
    const dir = await newDir();
    const { io, started } = manualSyncs();
    const writer = new DirWriter(dir, io);
    const done: string[] = [];
    const a = writer.sync().then(() => done.push("a"));
    expect(started).toHaveLength(1);
    // b and c arrive while the first fsync runs: it may have started before their changes.
    const b = writer.sync().then(() => done.push("b"));
    const c = writer.sync().then(() => done.push("c"));
    await tick();
    expect(started).toHaveLength(1);
    started[0]?.finish();
    await a;
    await tick();
    expect(done).toEqual(["a"]);
    // The next fsync started as soon as the first ended, and serves b and c together.
    expect(started).toHaveLength(2);
    started[1]?.finish();
    await Promise.all([b, c]);
    expect(done).toEqual(["a", "b", "c"]);
    expect(started).toHaveLength(2);
  });

  it("rejects every caller a failed fsync served, and the next caller gets a new fsync", async () => {
    const dir = await newDir();
    const { io, started } = manualSyncs();
    const writer = new DirWriter(dir, io);
    const a = writer.sync();
    const b = writer.sync();
    const c = writer.sync();
    started[0]?.finish();
    await a;
    const failure = Object.assign(new Error("EIO"), { code: "EIO" });
    started[1]?.finish(failure);
    await expect(b).rejects.toBe(failure);
    await expect(c).rejects.toBe(failure);
    const d = writer.sync();
    expect(started).toHaveLength(3);
    started[2]?.finish();
    await d;
  });

  it("with the real filesystem, serves many concurrent callers", async () => {
    const dir = await newDir();
    let syncs = 0;
    const writer = new DirWriter(dir, {
      createFile: (path) => Promise.resolve(openSync(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0o600)),
      syncDir: (d) => {
        syncs++;
        return syncDir(d);
      },
    });
    await Promise.all(Array.from({ length: 50 }, () => writer.sync()));
    // The first caller's fsync, then one for the 49 that arrived while it ran.
    expect(syncs).toBe(2);
  });
});

describe("DirWriter.writeTemp", () => {
  it("issues at most CREATES_IN_FLIGHT creations at once, and every write completes whole", async () => {
    const dir = await newDir();
    let inFlight = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const writer = new DirWriter(dir, {
      createFile: (path) => {
        inFlight++;
        most = Math.max(most, inFlight);
        return new Promise((resolve) => {
          release.push(() => {
            inFlight--;
            resolve(openSync(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0o600));
          });
        });
      },
      syncDir,
    });
    const writes = Array.from({ length: 7 }, (_, i) =>
      writer.writeTemp(`base${i}`, Buffer.from(`data ${i}`)),
    );
    for (let released = 0; released < 7; released++) {
      await tick();
      expect(inFlight).toBe(Math.min(DirWriter.CREATES_IN_FLIGHT, 7 - released));
      release.shift()?.();
    }
    const paths = await Promise.all(writes);
    expect(most).toBe(DirWriter.CREATES_IN_FLIGHT);
    paths.forEach((path, i) => {
      expect(path).toMatch(new RegExp(`/\\.base${i}\\.[0-9a-f]{16}\\.tmp$`));
      expect(readFileSync(path, "utf8")).toBe(`data ${i}`);
      expect(statSync(path).mode & 0o777).toBe(0o600);
    });
    expect(new Set(paths).size).toBe(7);
  });

  it("a failed creation frees its slot for the next in line", async () => {
    const dir = await newDir();
    let calls = 0;
    const writer = new DirWriter(dir, {
      createFile: async (path) => {
        calls++;
        if (calls <= 3) throw Object.assign(new Error("ENOSPC"), { code: "ENOSPC" });
        return openSync(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0o600);
      },
      syncDir,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => writer.writeTemp(`b${i}`, Buffer.from("x"))),
    );
    expect(results.map((r) => r.status)).toEqual([
      "rejected",
      "rejected",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    expect(readdirSync(dir)).toHaveLength(2);
  });
});

describe("FileLocker", () => {
  const options = { timeoutMs: 1000, staleMs: 30_000 };
  const templates = (dir: string) => readdirSync(dir).filter((name) => TEMPLATE_NAME.test(name));
  const locks = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".lock"));

  it("makes one template for many concurrent first locks, and releases them all", async () => {
    const dir = await newDir();
    const locker = new FileLocker(dir, options);
    const held: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        locker.withLock(join(dir, `k${i}.lock`), async () => {
          held.push(i);
        }),
      ),
    );
    expect(held).toHaveLength(20);
    expect(templates(dir)).toHaveLength(1);
    expect(locks(dir)).toEqual([]);
    // Released for real: another locker (another process, in effect) takes them at once.
    const other = new FileLocker(dir, { ...options, timeoutMs: 50 });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => other.withLock(join(dir, `k${i}.lock`), async () => {})),
    );
    await locker.close();
    await other.close();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("releases a lock held while the locker was closed", async () => {
    const dir = await newDir();
    const locker = new FileLocker(dir, options);
    await locker.withLock(join(dir, "a.lock"), async () => {
      expect(locks(dir)).toEqual(["a.lock"]);
      await locker.close();
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  it("releases a lock taken with a template that was made again while it was held", async () => {
    const dir = await newDir();
    const locker = new FileLocker(dir, options);
    await locker.withLock(join(dir, "a.lock"), async () => {
      const [first] = templates(dir);
      unlinkSync(join(dir, first as string));
      // Taking another lock finds the template gone and makes a new one.
      await locker.withLock(join(dir, "b.lock"), async () => {
        expect(templates(dir)).toHaveLength(1);
        expect(templates(dir)[0]).not.toBe(first);
      });
    });
    expect(locks(dir)).toEqual([]);
    await locker.close();
    expect(readdirSync(dir)).toEqual([]);
  });
});
