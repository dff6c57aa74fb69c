import { execFile } from "node:child_process";
import { lstatSync, readdirSync, statSync, symlinkSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describeUserStore } from "@porter/core/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFileUserStore } from "../src/index.js";

const run = promisify(execFile);
let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "porter-file-users-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));
const newPath = (): string => join(root, `u${++n}`, "users.json");

describeUserStore("file", { create: () => createFileUserStore({ path: newPath() }) });

describe("file user store specifics", () => {
  it("keeps users in one 0600 JSON file that a second instance reads, leaving nothing else behind", async () => {
    const path = newPath();
    const a = createFileUserStore({ path });
    const b = createFileUserStore({ path });
    expect(statSync(join(path, "..")).mode & 0o777).toBe(0o700);
    const alice = await a.create({ username: "alice", passwordHash: "h\uD800", groups: ["g"] });
    await a.setGroupPermissions("g", ["x.y"]);
    expect(await b.findByUsername("alice")).toEqual(alice);
    expect([...(await b.groupPermissions(["g"]))]).toEqual(["x.y"]);
    await b.update(alice.id, { isActive: false });
    expect((await a.findById(alice.id))?.isActive).toBe(false);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, "utf8")).format).toBe("porter-users");
    await a.close();
    await b.close();
    expect(readdirSync(join(path, ".."))).toEqual(["users.json"]);
  });

  it("never reuses an id after a delete", async () => {
    const store = createFileUserStore({ path: newPath() });
    const first = await store.create({ username: "one", passwordHash: "!" });
    await store.delete(first.id);
    const second = await store.create({ username: "one", passwordHash: "!" });
    expect(second.id).not.toBe(first.id);
    await store.close();
  });

  it("treats a corrupt file as an error, never as an empty user table", async () => {
    for (const content of [
      "{not json",
      '{"format":"other"}',
      '{"format":"porter-users","nextId":1,"users":[{}],"groups":[]}',
    ]) {
      const path = newPath();
      await mkdir(join(path, ".."), { recursive: true });
      await writeFile(path, content);
      const store = createFileUserStore({ path });
      await expect(store.findByUsername("admin")).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
      await expect(store.create({ username: "admin", passwordHash: "!" })).rejects.toMatchObject({
        code: "STORE_UNAVAILABLE",
      });
      expect(await readFile(path, "utf8")).toBe(content);
      await store.close();
    }
  });

  it("refuses a directory or a symlink as its path", async () => {
    const dir = join(root, `dir-${++n}`);
    await mkdir(dir);
    expect(() => createFileUserStore({ path: dir })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
    const link = join(root, `link-${++n}.json`);
    symlinkSync("/etc/passwd", link);
    expect(() => createFileUserStore({ path: link })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(() => createFileUserStore({ path: "" })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
  });

  it("two processes creating users concurrently lose nothing, and each contested name has one owner", async () => {
    const path = newPath();
    const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
    const count = 40;
    const worker = (tag: string) =>
      run(
        process.execPath,
        [
          "--import",
          join(fixtures, "register-ts.mjs"),
          join(fixtures, "user-worker.ts"),
          path,
          tag,
          String(count),
        ],
        { timeout: 120_000 },
      );
    const [p, q] = await Promise.all([worker("p"), worker("q")]);
    const wonP = JSON.parse(p.stdout) as string[];
    const wonQ = JSON.parse(q.stdout) as string[];
    expect([...wonP, ...wonQ].sort()).toEqual(Array.from({ length: count }, (_, i) => `shared-${i}`).sort());
    const store = createFileUserStore({ path });
    const ids = new Set<string>();
    for (let i = 0; i < count; i++) {
      for (const name of [`p-${i}`, `q-${i}`, `shared-${i}`]) {
        const user = await store.findByUsername(name);
        expect(user, name).not.toBeNull();
        ids.add(user?.id ?? "");
      }
      const shared = await store.findByUsername(`shared-${i}`);
      expect(shared?.passwordHash).toBe(wonP.includes(`shared-${i}`) ? "p" : "q");
    }
    expect(ids.size).toBe(3 * count);
    await store.close();
  }, 150_000);
});
