import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  lstatSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PorterError, type SessionRecord } from "@porter/core";
import { createManualClock } from "@porter/core/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeHeader, decodeSessionFile, encodeSessionFile, HEADER_SIZE } from "../src/file-format.js";
import { TEMPLATE_NAME } from "../src/file-lock.js";
import { createFileSessionStore, type FileSessionStore } from "../src/index.js";

const run = promisify(execFile);
let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "porter-file-specifics-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

// Disk full, read-only and the 100 000-file sweep run on tmpfs mounts this test makes (we run
// as root): a small one to fill, and a larger one because creating 100 000 files on a
// virtualised disk takes minutes.
async function mountTmpfs(options: string): Promise<{ dir?: string; refused?: string }> {
  try {
    const dir = await mkdtemp(join(tmpdir(), "porter-file-tmpfs-"));
    try {
      await run("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]);
      return { dir };
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  } catch (err) {
    const refused = String((err as Error).message).split("\n")[0] ?? "unknown";
    console.warn(`\n*** SKIPPING tests that need a tmpfs (${options}): mount refused: ${refused} ***\n`);
    return { refused };
  }
}
const small = await mountTmpfs("size=64k,mode=0700");
const large = await mountTmpfs("size=1g,mode=0700");
afterAll(async () => {
  for (const dir of [small.dir, large.dir]) {
    if (dir === undefined) continue;
    await run("umount", [dir]).catch(() => run("umount", ["-l", dir]));
    await rm(dir, { recursive: true, force: true });
  }
});
const mountDir = small.dir;
const mountRefused = small.refused ?? "";

const newKey = (): string => randomBytes(16).toString("hex");
const newDir = (): string => join(root, `d${++n}`);
const newStore = (extra: Partial<Parameters<typeof createFileSessionStore>[0]> = {}): FileSessionStore =>
  createFileSessionStore({ dir: newDir(), ...extra });
const HOUR = 3_600_000;

async function rejectsWith(code: string, p: Promise<unknown>): Promise<PorterError> {
  const err = await p.then(
    () => {
      throw new Error(`expected a ${code} rejection`);
    },
    (e: unknown) => e,
  );
  expect(PorterError.is(err, code as never), String(err)).toBe(true);
  return err as PorterError;
}

/** Temp and lock files left in a directory (a live store's own lock template excepted). */
const leftovers = (dir: string): string[] =>
  readdirSync(dir).filter((name) => name.startsWith(".") && !TEMPLATE_NAME.test(name));

describe("the directory and its files", () => {
  it("creates a missing directory 0700 and session files 0600, named prefix + key", async () => {
    const dir = join(newDir(), "nested");
    const store = createFileSessionStore({ dir, prefix: "sessionid" });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const key = newKey();
    await store.create(key, "{}", Date.now() + HOUR);
    expect(store.pathOf(key)).toBe(join(store.dir, `sessionid${key}`));
    expect(statSync(store.pathOf(key)).mode & 0o777).toBe(0o600);
    await store.update(key, { data: "{}", expiresAt: Date.now() + HOUR, version: 1 });
    expect(statSync(store.pathOf(key)).mode & 0o777).toBe(0o600);
    await store.close();
    expect(readdirSync(store.dir)).toEqual([`sessionid${key}`]);
  });

  it("refuses a dir that is a file, and hostile prefixes, at construction", async () => {
    const file = join(root, `plain-${++n}`);
    await writeFile(file, "x");
    expect(() => createFileSessionStore({ dir: file })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
    for (const prefix of ["", "../x", "a/b", ".hidden", "a b", "a\u0000", "p".repeat(65), 7]) {
      expect(() => createFileSessionStore({ dir: newDir(), prefix: prefix as string })).toThrow(
        expect.objectContaining({ code: "INVALID_CONFIG" }),
      );
    }
    expect(() => createFileSessionStore({ dir: "" })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
  });

  it("resolves the directory once: a symlinked dir is used through its real path", async () => {
    const real = newDir();
    await mkdir(real);
    const alias = join(root, `alias-${++n}`);
    symlinkSync(real, alias);
    const store = createFileSessionStore({ dir: alias });
    expect(store.dir).toBe(real);
  });

  it("rejects a hostile key before any filesystem call", async () => {
    const dir = newDir();
    const store = createFileSessionStore({ dir });
    // With the directory gone, any fs call would fail STORE_UNAVAILABLE; these fail first.
    await rm(dir, { recursive: true });
    for (const key of [
      "../../etc/passwd",
      "a/b/c",
      "ABCDEFGH",
      "short",
      "x".repeat(65),
      "abcdefgh\u0000",
      1,
      null,
    ]) {
      await rejectsWith("INVALID_ARGUMENT", store.get(key as string));
      await rejectsWith("INVALID_ARGUMENT", store.create(key as string, "x", Date.now() + HOUR));
      await rejectsWith(
        "INVALID_ARGUMENT",
        store.update(key as string, { data: "x", expiresAt: Date.now() + HOUR, version: 1 }),
      );
      await rejectsWith("INVALID_ARGUMENT", store.touch(key as string, Date.now() + HOUR));
      await rejectsWith("INVALID_ARGUMENT", store.delete(key as string));
    }
    // A valid key does reach the filesystem, and its failure is typed.
    const err = await rejectsWith("STORE_UNAVAILABLE", store.create(newKey(), "x", Date.now() + HOUR));
    expect((err.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
  });
});

describe("a planted symlink", () => {
  it("is never followed, read or written through", async () => {
    const store = newStore();
    const target = join(root, `target-${++n}`);
    await writeFile(target, "secret");
    const key = newKey();
    symlinkSync(target, store.pathOf(key));

    expect(await store.get(key)).toBeNull();
    await rejectsWith("SESSION_EXISTS", store.create(key, "intruder", Date.now() + HOUR));
    await rejectsWith(
      "SESSION_MISSING",
      store.update(key, { data: "x", expiresAt: Date.now() + HOUR, version: 1 }),
    );
    await store.touch(key, Date.now() + HOUR);
    expect(await store.clearExpired()).toBe(0);
    expect(lstatSync(store.pathOf(key)).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, "utf8")).toBe("secret");

    // delete removes the link itself (unlink never follows); the target stays.
    await store.delete(key);
    expect(() => lstatSync(store.pathOf(key))).toThrow();
    expect(readFileSync(target, "utf8")).toBe("secret");
    expect(leftovers(store.dir)).toEqual([]);
  });
});

describe("a planted FIFO", () => {
  it("never hangs a read or a write, and is left as it is", async () => {
    const store = newStore();
    const key = newKey();
    await run("mkfifo", [store.pathOf(key)]);
    expect(await store.get(key)).toBeNull();
    for (const attempt of [
      store.update(key, { data: "x", expiresAt: Date.now() + HOUR, version: 1 }),
      store.touch(key, Date.now() + HOUR),
      store.create(key, "x", Date.now() + HOUR),
    ]) {
      const err = await attempt.then(
        () => null,
        (e: unknown) => e,
      );
      expect(PorterError.is(err), String(err)).toBe(true);
    }
    expect(lstatSync(store.pathOf(key)).isFIFO()).toBe(true);
    expect(leftovers(store.dir)).toEqual([]);
  });
});

describe("file format", () => {
  it("keeps well-formed data as UTF-8 and ill-formed data as UTF-16LE, exactly", async () => {
    const store = newStore();
    const [a, b] = [newKey(), newKey()];
    const expiresAt = Date.now() + HOUR;
    await store.create(a, "héllo\u0000", expiresAt);
    await store.create(b, "x\uD800", expiresAt);
    const rawA = readFileSync(store.pathOf(a));
    const rawB = readFileSync(store.pathOf(b));
    expect(rawA.subarray(HEADER_SIZE)).toEqual(Buffer.from("héllo\u0000", "utf8"));
    expect(rawA[5]).toBe(0);
    expect(rawB.subarray(HEADER_SIZE)).toEqual(Buffer.from([0x78, 0, 0x00, 0xd8]));
    expect(rawB[5]).toBe(1);
    expect(decodeSessionFile(rawB)).toEqual({ data: "x\uD800", expiresAt, version: 1 });
  });

  it("detects a torn expiry and anything it did not write", () => {
    const buf = encodeSessionFile("{}", 3, 1_700_000_000_123);
    expect(decodeHeader(buf)).toEqual({ version: 3, expiresAt: 1_700_000_000_123, encoding: "utf8" });
    const torn = Buffer.from(buf);
    torn[20] = (torn[20] as number) ^ 1;
    expect(decodeHeader(torn)).toBe("torn");
    expect(decodeHeader(Buffer.from("not a session file at all, nope"))).toBe("not-ours");
    expect(decodeHeader(buf.subarray(0, 20))).toBe("not-ours");
  });

  it("treats a file with its name but not its format as absent, and create may replace it", async () => {
    const store = newStore();
    const key = newKey();
    writeFileSync(store.pathOf(key), "garbage");
    expect(await store.get(key)).toBeNull();
    await store.create(key, "mine", Date.now() + HOUR);
    expect((await store.get(key))?.data).toBe("mine");
  });
});

describe("touch", () => {
  it("rewrites only the expiry: same file, same data bytes", async () => {
    const store = newStore();
    const key = newKey();
    const data = `{"big":"${"x".repeat(100_000)}"}`;
    await store.create(key, data, Date.now() + HOUR);
    const before = readFileSync(store.pathOf(key));
    const inode = statSync(store.pathOf(key)).ino;
    const later = Date.now() + 5 * HOUR;
    await store.touch(key, later);
    const after = readFileSync(store.pathOf(key));
    expect(statSync(store.pathOf(key)).ino).toBe(inode);
    expect(after.subarray(HEADER_SIZE).equals(before.subarray(HEADER_SIZE))).toBe(true);
    expect(after.subarray(0, 16).equals(before.subarray(0, 16))).toBe(true);
    expect(await store.get(key)).toEqual({ data, expiresAt: later, version: 1 });
  });
});

describe("atomic writes", () => {
  it("leave no temp or lock files behind", async () => {
    const store = newStore();
    const key = newKey();
    const other = newKey();
    const created = await store.create(key, "a", Date.now() + HOUR);
    await rejectsWith("SESSION_EXISTS", store.create(key, "b", Date.now() + HOUR));
    await store.update(key, { ...created, data: "c" });
    await rejectsWith("SESSION_CONFLICT", store.update(key, { ...created, data: "d" }));
    await store.touch(key, Date.now() + 2 * HOUR);
    await store.create(other, "e", Date.now() + HOUR);
    await Promise.allSettled(
      Array.from({ length: 20 }, () => store.update(other, { data: "f", expiresAt: 1e13, version: 1 })),
    );
    await store.delete(other);
    expect(leftovers(store.dir)).toEqual([]);
  });

  it("remove orphaned temp files once they are old, and skip files that are not sessions", async () => {
    const store = newStore();
    const key = newKey();
    const oldTemp = join(store.dir, `.${store.prefix}${key}.0123456789abcdef.tmp`);
    const newTemp = join(store.dir, `.${store.prefix}${key}.fedcba9876543210.tmp`);
    writeFileSync(oldTemp, "partial");
    writeFileSync(newTemp, "partial");
    const twoHoursAgo = (Date.now() - 2 * HOUR) / 1000;
    utimesSync(oldTemp, twoHoursAgo, twoHoursAgo);
    writeFileSync(join(store.dir, "README"), "not ours");
    writeFileSync(join(store.dir, `${store.prefix}NOTAKEY`), encodeSessionFile("{}", 1, 1));
    writeFileSync(join(store.dir, `${store.prefix}${newKey()}`), "garbage with our name");
    expect(await store.clearExpired()).toBe(0);
    await store.close();
    const names = readdirSync(store.dir);
    expect(names).not.toContain(`.${store.prefix}${key}.0123456789abcdef.tmp`);
    expect(names).toContain(`.${store.prefix}${key}.fedcba9876543210.tmp`);
    expect(names).toHaveLength(4);
  });
});

describe("locks", () => {
  it("take over a lock whose owner process is gone", async () => {
    const store = newStore({ lockTimeoutMs: 2000 });
    const key = newKey();
    await store.create(key, "a", Date.now() + HOUR);
    // A pid that cannot be running: beyond pid_max on Linux (at most 2^22).
    writeFileSync(join(store.dir, `.${store.prefix}${key}.lock`), `99999999\n${hostname()}\nt\n`);
    const t0 = Date.now();
    await store.update(key, { data: "b", expiresAt: Date.now() + HOUR, version: 1 });
    expect(Date.now() - t0).toBeLessThan(1000);
    await store.close();
    expect(leftovers(store.dir)).toEqual([]);
  });

  it("wait a bounded time for a live owner, then fail typed; take over a lock untouched past its stale age", async () => {
    const dir = newDir();
    const store = createFileSessionStore({ dir, lockTimeoutMs: 300 });
    const key = newKey();
    await store.create(key, "a", Date.now() + HOUR);
    const lockPath = join(store.dir, `.${store.prefix}${key}.lock`);
    // Owned by a live process (this one), as another store instance would hold it.
    writeFileSync(lockPath, `${process.pid}\n${hostname()}\nsomeone-else\n`);
    const t0 = Date.now();
    await rejectsWith(
      "STORE_UNAVAILABLE",
      store.update(key, { data: "b", expiresAt: Date.now() + HOUR, version: 1 }),
    );
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await store.get(key))?.data).toBe("a");
    expect(readFileSync(lockPath, "utf8")).toContain("someone-else");

    // The same lock, seen by a store that considers 200 ms untouched as abandoned.
    const impatient = createFileSessionStore({ dir, lockTimeoutMs: 2000, lockStaleMs: 200 });
    await new Promise((r) => setTimeout(r, 250));
    await impatient.update(key, { data: "b", expiresAt: Date.now() + HOUR, version: 1 });
    expect((await store.get(key))?.data).toBe("b");
    await store.close();
    await impatient.close();
    expect(leftovers(store.dir)).toEqual([]);
  });

  it("concurrent first writes of a fresh store share one lock template and leave no lock behind", async () => {
    const store = newStore();
    const keys = Array.from({ length: 30 }, newKey);
    // create takes no lock, so the updates below are this store's first locks, all at once.
    const created = await Promise.all(keys.map((key) => store.create(key, "a", Date.now() + HOUR)));
    const updated = await Promise.all(
      keys.map((key, i) => store.update(key, { ...(created[i] as SessionRecord), data: "b" })),
    );
    expect(updated.map((r) => r.version)).toEqual(keys.map(() => 2));
    expect(readdirSync(store.dir).filter((name) => TEMPLATE_NAME.test(name))).toHaveLength(1);
    expect(leftovers(store.dir)).toEqual([]);
    // The locks are really free: another store on the directory (as another process) takes them.
    const other = createFileSessionStore({ dir: store.dir, lockTimeoutMs: 200 });
    await Promise.all(
      keys.map((key) => other.update(key, { data: "c", expiresAt: Date.now() + HOUR, version: 2 })),
    );
    expect((await store.get(keys[0] as string))?.data).toBe("c");
    await store.close();
    await other.close();
    expect(leftovers(store.dir)).toEqual([]);
  });

  it("two processes updating one session lose no update", async () => {
    const store = newStore();
    const key = newKey();
    await store.create(key, JSON.stringify({ a: 0, b: 0 }), Date.now() + HOUR);
    const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
    const worker = (field: string) =>
      run(
        process.execPath,
        [
          "--import",
          join(fixtures, "register-ts.mjs"),
          join(fixtures, "update-worker.ts"),
          store.dir,
          key,
          field,
          "150",
        ],
        { timeout: 120_000 },
      );
    const both = Promise.all([worker("a"), worker("b")]);
    // A third reader meanwhile only ever sees complete records.
    let reads = 0;
    let finished = false;
    both.finally(() => {
      finished = true;
    });
    while (!finished) {
      const record = await store.get(key);
      expect(record).not.toBeNull();
      JSON.parse(record?.data ?? "");
      reads++;
    }
    const outputs = await both;
    const final = await store.get(key);
    expect(JSON.parse(final?.data ?? "")).toEqual({ a: 150, b: 150 });
    expect(final?.version).toBe(301);
    expect(reads).toBeGreaterThan(0);
    const conflicts = outputs.map((o) => (JSON.parse(o.stdout) as { conflicts: number }).conflicts);
    expect(conflicts.every((c) => Number.isInteger(c))).toBe(true);
    expect(leftovers(store.dir)).toEqual([]);
  }, 150_000);
});

describe("clearExpired", () => {
  it.skipIf(large.dir === undefined)(
    `streams 100 000 files: removes the expired, keeps the live, resolves the count${large.refused ? ` (SKIPPED: ${large.refused})` : ""}`,
    async () => {
      const store = createFileSessionStore({ dir: join(large.dir as string, "many") });
      const now = Date.now();
      const expired = encodeSessionFile("{}", 1, now - 1000);
      const live = encodeSessionFile('{"live":true}', 1, now + HOUR);
      const total = 100_000;
      const liveKeys: string[] = [];
      for (let i = 0; i < total; i++) {
        const key = `k${i.toString(36).padStart(10, "0")}`;
        const isLive = i % 10 === 0;
        if (isLive && liveKeys.length < 50) liveKeys.push(key);
        writeFileSync(join(store.dir, store.prefix + key), isLive ? live : expired);
      }
      writeFileSync(join(store.dir, "not-a-session"), "x");

      // The sweep must leave the event loop turning: a 5 ms timer keeps ticking throughout.
      // (Single gaps say little on a loaded VM, where even an idle loop stalls for tens of ms.)
      let last = performance.now();
      let worstGap = 0;
      let ticks = 0;
      const ticker = setInterval(() => {
        const t = performance.now();
        worstGap = Math.max(worstGap, t - last);
        last = t;
        ticks++;
      }, 5);
      const t0 = Date.now();
      const removed = await store.clearExpired();
      const elapsed = Date.now() - t0;
      clearInterval(ticker);

      expect(removed).toBe(total - total / 10);
      expect(readdirSync(store.dir).filter((n) => n.startsWith(store.prefix))).toHaveLength(total / 10);
      expect(readdirSync(store.dir)).toContain("not-a-session");
      for (const key of liveKeys) {
        expect(await store.get(key)).toEqual({ data: '{"live":true}', expiresAt: now + HOUR, version: 1 });
      }
      expect(ticks).toBeGreaterThan(elapsed / 25);
      expect(await store.clearExpired()).toBe(0);
      await store.close();
      expect(leftovers(store.dir)).toEqual([]);
      console.log(
        `clearExpired: ${removed} of ${total} files in ${elapsed} ms; ${ticks} timer ticks, worst gap ${worstGap.toFixed(1)} ms`,
      );
    },
    120_000,
  );

  it("counts by the injected clock and never removes a record made live meanwhile", async () => {
    const clock = createManualClock();
    const store = newStore({ clock: clock.now });
    const [a, b] = [newKey(), newKey()];
    await store.create(a, "a", clock.now() + 1000);
    await store.create(b, "b", clock.now() + 1000);
    clock.advance(2000);
    expect(await store.clearExpired()).toBe(2);
    await store.close();
    expect(readdirSync(store.dir)).toEqual([]);
  });
});

describe.skipIf(mountDir === undefined)(
  `on a 64 KiB tmpfs${mountDir === undefined ? ` (SKIPPED: mount refused: ${mountRefused})` : ""}`,
  () => {
    it("disk full: typed error with the errno, previous version intact, no temp file left", async () => {
      const store = createFileSessionStore({ dir: join(mountDir as string, "full") });
      const key = newKey();
      const first = await store.create(key, "small", Date.now() + HOUR);
      const big = "x".repeat(200_000);
      const err = await rejectsWith("STORE_UNAVAILABLE", store.update(key, { ...first, data: big }));
      expect((err.cause as NodeJS.ErrnoException).code).toBe("ENOSPC");
      expect(await store.get(key)).toEqual(first);
      const other = newKey();
      const err2 = await rejectsWith("STORE_UNAVAILABLE", store.create(other, big, Date.now() + HOUR));
      expect((err2.cause as NodeJS.ErrnoException).code).toBe("ENOSPC");
      expect(await store.get(other)).toBeNull();
      expect(leftovers(store.dir)).toEqual([]);
      // Space is back once the failed write is cleaned up: small writes still work.
      expect((await store.update(key, { ...first, data: "still fine" })).version).toBe(2);
    });

    it("read-only: writes fail typed (EROFS), reads keep working, writes work after remount", async () => {
      const store = createFileSessionStore({ dir: join(mountDir as string, "ro") });
      const key = newKey();
      const first = await store.create(key, "before", Date.now() + HOUR);
      await run("mount", ["-o", "remount,ro", mountDir as string]);
      try {
        const err = await rejectsWith("STORE_UNAVAILABLE", store.update(key, { ...first, data: "after" }));
        expect((err.cause as NodeJS.ErrnoException).code).toBe("EROFS");
        await rejectsWith("STORE_UNAVAILABLE", store.create(newKey(), "x", Date.now() + HOUR));
        await rejectsWith("STORE_UNAVAILABLE", store.touch(key, Date.now() + 2 * HOUR));
        await rejectsWith("STORE_UNAVAILABLE", store.delete(key));
        expect(await store.get(key)).toEqual(first);
      } finally {
        await run("mount", ["-o", "remount,rw", mountDir as string]);
      }
      expect((await store.update(key, { ...first, data: "after" })).data).toBe("after");
      expect(leftovers(store.dir)).toEqual([]);
      expect((await readFile(store.pathOf(key))).length).toBeGreaterThan(HEADER_SIZE);
    });
  },
);
