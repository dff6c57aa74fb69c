import { checkPassword } from "@porter/core";
import { createFileSessionStore } from "@porter/file";
import { afterAll, describe, expect, it } from "vitest";
import { createBackends } from "../src/backends.js";
import { type CommandIO, runCommand } from "../src/commands.js";
import { dataPaths } from "../src/config.js";
import { dropNamespace, namespace, namespaceEnv, TEST_SECRET, tempDir, testConfig } from "./helpers.js";

const dirs: ReturnType<typeof tempDir>[] = [];
afterAll(() => {
  for (const dir of dirs) dir.remove();
});

function io(env: NodeJS.ProcessEnv, promptSecret: CommandIO["promptSecret"] = null) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      env: { PORTER_SECRET: TEST_SECRET, ...env },
      out: (l: string) => out.push(l),
      err: (l: string) => err.push(l),
      promptSecret,
    },
  };
}

function fileEnv(): NodeJS.ProcessEnv & { PORTER_DATA_DIR: string } {
  const dir = tempDir();
  dirs.push(dir);
  return { PORTER_DATA_DIR: dir.path };
}

describe("the CLI", () => {
  it("prints usage for no command (exit 2) and for help (exit 0), and refuses unknown commands", async () => {
    const none = io(fileEnv());
    expect(await runCommand([], none.io)).toBe(2);
    expect(none.err.join("\n")).toContain("Usage: node dist/cli.js <command>");
    const help = io(fileEnv());
    expect(await runCommand(["help"], help.io)).toBe(0);
    expect(help.out.join("\n")).toContain("createuser <username>");
    const unknown = io(fileEnv());
    expect(await runCommand(["dance"], unknown.io)).toBe(2);
    expect(unknown.err.join("\n")).toContain("unknown command dance");
  });

  it("createuser takes the password from PORTER_PASSWORD, with --superuser and --group", async () => {
    const env = fileEnv();
    const run = io({ ...env, PORTER_PASSWORD: "cli password 1" });
    expect(
      await runCommand(["createuser", "erin", "--superuser", "--group", "readers", "--group=staff"], run.io),
    ).toBe(0);
    expect(run.out.join("\n")).toMatch(/^created superuser erin \(id \d+, groups: readers, staff\)$/);
    const backends = createBackends(testConfig(env));
    try {
      const user = (await backends.users.findByUsername("erin"))!;
      expect(user).toMatchObject({ isSuperuser: true, groups: ["readers", "staff"], isActive: true });
      expect((await checkPassword("cli password 1", user.passwordHash)).ok).toBe(true);
    } finally {
      await backends.close();
    }
    const again = io({ ...env, PORTER_PASSWORD: "cli password 1" });
    expect(await runCommand(["createuser", "erin"], again.io)).toBe(1);
    expect(again.err.join("\n")).toContain("That username is taken.");
  });

  it("createuser asks twice on a terminal, and refuses without one", async () => {
    const env = fileEnv();
    const asked: string[] = [];
    const run = io(env, async (prompt) => {
      asked.push(prompt);
      return "typed password 1";
    });
    expect(await runCommand(["createuser", "frank"], run.io)).toBe(0);
    expect(asked).toEqual(["Password: ", "Password (again): "]);
    const mismatch = io(env, async (prompt) =>
      prompt === "Password: " ? "one password 1" : "another one 2",
    );
    expect(await runCommand(["createuser", "grace"], mismatch.io)).toBe(2);
    expect(mismatch.err.join("\n")).toContain("the passwords do not match");
    const noTty = io(env);
    expect(await runCommand(["createuser", "heidi"], noTty.io)).toBe(2);
    expect(noTty.err.join("\n")).toContain("set PORTER_PASSWORD");
    const weak = io({ ...env, PORTER_PASSWORD: "123" });
    expect(await runCommand(["createuser", "ivan"], weak.io)).toBe(1);
    expect(weak.err.join("\n")).toContain("at least 8 characters");
  });

  it("grant adds permissions to a group, keeping the ones it had, and checks their shape", async () => {
    const env = fileEnv();
    expect(await runCommand(["grant", "editors", "notes.view"], io(env).io)).toBe(0);
    const run = io(env);
    expect(await runCommand(["grant", "editors", "notes.change", "notes.view"], run.io)).toBe(0);
    expect(run.out).toEqual(["group editors: notes.change, notes.view"]);
    const bad = io(env);
    expect(await runCommand(["grant", "editors", "DROP TABLE"], bad.io)).toBe(2);
    expect(bad.err.join("\n")).toContain("is not a permission");
  });

  it("migrate makes the tables and the readers group; clearsessions reports what it removed", async () => {
    const ns = namespace();
    const env = { ...fileEnv(), ...namespaceEnv(ns), PORTER_SESSIONS: "postgres", PORTER_USERS: "postgres" };
    try {
      const run = io(env);
      expect(await runCommand(["migrate"], run.io)).toBe(0);
      expect(run.out.join("\n")).toMatch(/ready: postgres session table/);
      expect(run.out.join("\n")).toMatch(/ready: postgres user tables/);
      expect(await runCommand(["migrate"], io(env).io)).toBe(0);
      const backends = createBackends(testConfig(env));
      try {
        expect([...(await backends.users.groupPermissions(["readers"]))]).toEqual(["notes.view"]);
      } finally {
        await backends.close();
      }
      const clear = io(env);
      expect(await runCommand(["clearsessions"], clear.io)).toBe(0);
      expect(clear.out).toEqual(["removed 0 expired sessions (sessions=postgres)"]);
    } finally {
      await dropNamespace(ns);
    }
  });

  it("clearsessions removes expired file sessions and keeps live ones", async () => {
    const env = fileEnv();
    const store = createFileSessionStore({ dir: dataPaths(testConfig(env)).sessions });
    await store.create("e".repeat(64), "{}", Date.now() - 1000);
    await store.create("l".repeat(64), "{}", Date.now() + 60_000);
    const run = io(env);
    expect(await runCommand(["clearsessions"], run.io)).toBe(0);
    expect(run.out).toEqual(["removed 1 expired session (sessions=file)"]);
    expect(await store.get("l".repeat(64))).not.toBeNull();
  });

  it("reports a configuration error with exit 2", async () => {
    const run = io({ ...fileEnv(), PORTER_SESSIONS: "nope" });
    expect(await runCommand(["migrate"], run.io)).toBe(2);
    expect(run.err.join("\n")).toContain("PORTER_SESSIONS=nope");
  });
});
