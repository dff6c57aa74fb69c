import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigurationError, DEFAULT_DATA_DIR, loadConfig } from "../src/config.js";

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "porter-example-config-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const SECRET = "s".repeat(40);

describe("loadConfig", () => {
  it("defaults to the embedded backends, loopback and port 3000", () => {
    const config = loadConfig({ PORTER_SECRET: SECRET, PORTER_DATA_DIR: dataDir() });
    expect(config).toMatchObject({
      sessions: "file",
      users: "file",
      messages: "fallback",
      host: "127.0.0.1",
      port: 3000,
      production: false,
      secureCookies: false,
    });
    expect(config.warnings.join("\n")).toMatch(/without the Secure flag/);
  });

  it("puts the data under apps/example/data by default", () => {
    expect(DEFAULT_DATA_DIR.replaceAll("\\", "/")).toMatch(/apps\/example\/data$/);
  });

  it("generates a development secret once, mode 0600, with a warning", () => {
    const dir = dataDir();
    const first = loadConfig({ PORTER_DATA_DIR: dir });
    const path = join(dir, "secret-key");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(Buffer.byteLength(first.secret)).toBeGreaterThanOrEqual(32);
    expect(first.warnings.join("\n")).toMatch(/PORTER_SECRET is not set/);
    const second = loadConfig({ PORTER_DATA_DIR: dir });
    expect(second.secret).toBe(first.secret);
    expect(readFileSync(path, "utf8").trim()).toBe(first.secret);
  });

  it("tightens the permissions of a secret file others can read", () => {
    const dir = dataDir();
    writeFileSync(join(dir, "secret-key"), `${"k".repeat(64)}\n`, { mode: 0o644 });
    expect(loadConfig({ PORTER_DATA_DIR: dir }).secret).toBe("k".repeat(64));
    expect(statSync(join(dir, "secret-key")).mode & 0o777).toBe(0o600);
  });

  it("refuses to start in production without PORTER_SECRET, and never writes one there", () => {
    const dir = dataDir();
    expect(() => loadConfig({ NODE_ENV: "production", PORTER_DATA_DIR: dir })).toThrow(/PORTER_SECRET/);
    expect(() => statSync(join(dir, "secret-key"))).toThrow();
  });

  it("refuses a secret shorter than 32 bytes", () => {
    expect(() => loadConfig({ PORTER_SECRET: "short", PORTER_DATA_DIR: dataDir() })).toThrow(
      ConfigurationError,
    );
    expect(() =>
      loadConfig({ NODE_ENV: "production", PORTER_SECRET: "x".repeat(31), PORTER_DATA_DIR: dataDir() }),
    ).toThrow(/at least 32 bytes/);
  });

  it("sets Secure cookies in production", () => {
    const config = loadConfig({ NODE_ENV: "production", PORTER_SECRET: SECRET, PORTER_DATA_DIR: dataDir() });
    expect(config.secureCookies).toBe(true);
    expect(config.warnings).toEqual([]);
  });

  it("reads every backend choice and refuses unknown ones", () => {
    const config = loadConfig({
      PORTER_SECRET: SECRET,
      PORTER_DATA_DIR: dataDir(),
      PORTER_SESSIONS: "cached",
      PORTER_USERS: "postgres",
      PORTER_MESSAGES: "session",
      PORT: "8080",
      HOST: "0.0.0.0",
      DYNAMODB_ENDPOINT: "http://127.0.0.1:4567",
    });
    expect(config).toMatchObject({
      sessions: "cached",
      users: "postgres",
      messages: "session",
      port: 8080,
      host: "0.0.0.0",
      awsRegion: "us-east-1",
      dynamoPlaceholderCredentials: true,
    });
    expect(() => loadConfig({ PORTER_SECRET: SECRET, PORTER_SESSIONS: "memcached" })).toThrow(
      /PORTER_SESSIONS=memcached is not one of: file, cookie/,
    );
    expect(() => loadConfig({ PORTER_SECRET: SECRET, PORTER_USERS: "ldap" })).toThrow(ConfigurationError);
    expect(() => loadConfig({ PORTER_SECRET: SECRET, PORT: "http" })).toThrow(/PORT=http/);
    expect(() => loadConfig({ PORTER_SECRET: SECRET, PORTER_PG_SCHEMA: "a; drop" })).toThrow(
      /PORTER_PG_SCHEMA/,
    );
  });
});

describe("a configuration error after a client was opened", () => {
  it("closes that client again, so the CLI exits instead of hanging", async () => {
    const { spawnSync } = await import("node:child_process");
    const { fileURLToPath } = await import("node:url");
    const app = fileURLToPath(new URL("..", import.meta.url));
    // dist/ is built by the package's test script.
    const started = Date.now();
    const run = spawnSync(process.execPath, [join(app, "dist/cli.js"), "clearsessions"], {
      env: {
        ...process.env,
        PORTER_SESSIONS: "redis",
        PORTER_SECRET: "a".repeat(40),
        PORTER_DATA_DIR: tmpdir(),
      },
      timeout: 15_000,
      encoding: "utf8",
    });
    expect(run.stderr).toMatch(/placeholder/);
    expect(run.signal).toBeNull(); // not killed by the timeout: it exited by itself
    expect(run.status).toBe(1);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);
});
