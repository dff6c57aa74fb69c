import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { SessionBackendName, UserBackendName } from "../src/config.js";
import {
  DATABASE_URL,
  dropNamespace,
  HttpClient,
  migrate,
  namespace,
  namespaceEnv,
  REDIS_URL,
  TEST_SECRET,
  tempDir,
  testConfig,
} from "./helpers.js";

const APP_DIR = fileURLToPath(new URL("..", import.meta.url));

/**
 * Starts `node dist/server.js` (built by the package's test script, as `pnpm start` builds it)
 * as its own OS process; resolves the URL it prints.
 */
function startProcess(env: NodeJS.ProcessEnv): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(APP_DIR, "dist/server.js")], {
    env: { ...process.env, PORTER_SECRET: TEST_SECRET, PORT: "0", REDIS_URL, DATABASE_URL, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the app process did not start within 30 s:\n${output}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1]!, child });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the app process exited with ${code}:\n${output}`));
    });
  });
}

/**
 * Two app processes, each with its own store clients, on one shared server: a login through
 * one is a login at the other, and a logout through either ends it.
 */
const CASES: readonly { sessions: SessionBackendName; users: UserBackendName }[] = [
  { sessions: "redis", users: "file" },
  { sessions: "postgres", users: "postgres" },
];

describe.each(CASES)("two app processes on one $sessions server (users: $users)", ({ sessions, users }) => {
  const ns = namespace();
  const data = tempDir();
  const children: ChildProcess[] = [];

  afterAll(async () => {
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(
      children.map(
        (child) => new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r))),
      ),
    );
    await dropNamespace(ns);
    data.remove();
  });

  it("shares logins, counters and logouts between the processes", async () => {
    const env = {
      PORTER_DATA_DIR: data.path,
      PORTER_SESSIONS: sessions,
      PORTER_USERS: users,
      ...namespaceEnv(ns),
    };
    await migrate(testConfig(env));
    const [one, two] = await Promise.all([startProcess(env), startProcess(env)]);
    children.push(one!.child, two!.child);
    expect(one!.child.pid).not.toBe(two!.child.pid);
    expect(one!.url).not.toBe(two!.url);

    const browser = new HttpClient(one!.url);
    const registered = await browser.submit("/register", "/register", {
      username: "bob",
      password: "pass word 99",
      password2: "pass word 99",
      reader: "1",
    });
    expect(registered.status).toBe(303);
    const login = await browser.submit("/login", "/login", { username: "bob", password: "pass word 99" });
    expect(login.status).toBe(303);
    const home = await browser.get("/");
    expect(home.text).toContain('<dd id="username">bob</dd>');
    const visits = Number(/id="visits">(\d+)</.exec(home.text)?.[1]);

    // The same cookies, sent to the other process.
    browser.base = two!.url;
    const there = await browser.get("/");
    expect(there.status).toBe(200);
    expect(there.text).toContain('<dd id="username">bob</dd>');
    expect(there.text).toContain(`id="visits">${visits + 1}<`);
    expect((await browser.get("/notes")).status).toBe(200);

    const session = browser.cookies.get("sessionid");
    const out = await browser.submit("/", "/logout", {});
    expect(out.status).toBe(200);
    expect(browser.cookies.has("sessionid")).toBe(false);

    // The old cookie is dead at the first process too.
    const replay = new HttpClient(one!.url);
    replay.cookies.set("sessionid", session!);
    expect((await replay.get("/")).text).toContain("You are anonymous");
  });
});
