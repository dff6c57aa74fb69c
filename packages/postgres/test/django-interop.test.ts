import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  createPasswordBackend,
  createSessionEngine,
  DJANGO_MODEL_BACKEND_ID,
  djangoCodec,
  getUser,
  login,
  type SessionEngine,
} from "@porter/core";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresSessionStore, createPostgresUserStore, type PostgresUserStore } from "../src/index.js";
import { DATABASE_URL, dropSchema, openTestPool, uniqueName } from "./helpers.js";

const run = promisify(execFile);
const PYTHON = "/usr/bin/python3";
const SECRET = randomBytes(36).toString("base64url");
const schema = uniqueName("porter_django");
const porterMade = uniqueName("porter_django_ddl");
let pool: pg.Pool;
let workDir: string;
let engine: SessionEngine;
let users: PostgresUserStore;

async function djangoImportable(): Promise<boolean> {
  try {
    await run(PYTHON, ["-c", "import django, psycopg2"], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** Debian's python3-django and python3-psycopg2 for /usr/bin/python3, installed when missing (as root). */
async function ensureDjango(): Promise<void> {
  if (await djangoImportable()) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      "This test drives a real Django: install Debian's python3-django and python3-psycopg2 (apt-get install -y python3-django python3-psycopg2).",
    );
  }
  const apt = (args: string[]) =>
    run("apt-get", args, { timeout: 240_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  const packages = ["install", "-y", "--no-install-recommends", "python3-django", "python3-psycopg2"];
  try {
    await apt(packages);
  } catch {
    await apt(["update"]).catch(() => {});
    await apt(packages).catch((error: unknown) => {
      throw new Error(`apt-get install python3-django python3-psycopg2 failed: ${String(error)}`);
    });
  }
  if (!(await djangoImportable()))
    throw new Error("python3-django was installed but `import django` still fails");
}

/** Runs one command of test/django/porter_django.py against a real Django. */
async function django<T>(command: string, argument: unknown = {}): Promise<T> {
  const url = new URL(DATABASE_URL);
  const { stdout } = await run(
    PYTHON,
    [join(workDir, "porter_django.py"), command, JSON.stringify(argument)],
    {
      timeout: 120_000,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        PYTHONPATH: workDir,
        PYTHONDONTWRITEBYTECODE: "1",
        DJANGO_SETTINGS_MODULE: "porter_django_settings",
        PORTER_DJANGO_SECRET: SECRET,
        PORTER_PGHOST: url.hostname,
        PORTER_PGPORT: url.port || "5432",
        PORTER_PGDATABASE: decodeURIComponent(url.pathname.slice(1)),
        PORTER_PGUSER: decodeURIComponent(url.username),
        PORTER_PGPASSWORD: decodeURIComponent(url.password),
        PORTER_PGSCHEMA: schema,
      },
    },
  );
  return JSON.parse(stdout) as T;
}

beforeAll(async () => {
  await ensureDjango();
  workDir = mkdtempSync(join(tmpdir(), "porter-django-"));
  for (const file of ["porter_django.py", "porter_django_settings.py"]) {
    copyFileSync(new URL(`./django/${file}`, import.meta.url), join(workDir, file));
  }
  pool = await openTestPool();
  await pool.query(`CREATE SCHEMA "${schema}"`);
  // Django's own migrations create django_session (and auth's tables) in the dedicated schema.
  await django("migrate");
  const store = createPostgresSessionStore({ pool, schema, django: true });
  engine = createSessionEngine({ store, codec: djangoCodec({ secret: SECRET }), hashKeys: false });
  users = createPostgresUserStore({ pool, schema });
  await users.ensureSchema();
}, 600_000);

afterAll(async () => {
  if (pool !== undefined) {
    await dropSchema(pool, schema);
    await dropSchema(pool, porterMade);
    await pool.end();
  }
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

describe("sharing django_session with a real Django", () => {
  it("ensureSchema() in Django mode creates the table exactly as Django's migration does", async () => {
    const porter = createPostgresSessionStore({ pool, schema: porterMade, django: true });
    await porter.ensureSchema();
    await porter.ensureSchema();
    // And on Django's existing table it changes nothing.
    await createPostgresSessionStore({ pool, schema, django: true }).ensureSchema();
    const describeTable = async (s: string) => {
      const columns = await pool.query(
        `SELECT column_name, data_type, character_maximum_length, is_nullable
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'django_session'
         ORDER BY ordinal_position`,
        [s],
      );
      const indexes = await pool.query<{ indexname: string; indexdef: string }>(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'django_session' ORDER BY indexname",
        [s],
      );
      const constraints = await pool.query(
        `SELECT conname, contype FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname = $1 AND conrelid = ('"' || $1 || '".django_session')::regclass ORDER BY conname`,
        [s],
      );
      return {
        columns: columns.rows,
        indexes: indexes.rows.map((i) => ({ ...i, indexdef: i.indexdef.replaceAll(`${s}.`, "") })),
        constraints: constraints.rows,
      };
    };
    const fromDjango = await describeTable(schema);
    expect(fromDjango.indexes.map((i) => i.indexname)).toEqual([
      "django_session_expire_date_a5c62663",
      "django_session_pkey",
      "django_session_session_key_c0390e0f_like",
    ]);
    expect(await describeTable(porterMade)).toEqual(fromDjango);
  });

  it("a session Porter writes is loaded by Django's SessionStore", async () => {
    const session = await engine.load(undefined);
    const data = { cart: [1, 2, 3], name: "Zoë 😀 مرحبا", flags: { beta: true, none: null }, n: 42 };
    session.update(data);
    const { key } = await engine.commit(session);
    expect(key).toMatch(/^[a-z0-9]{32}$/);
    const loaded = await django<{ found: boolean; data: unknown }>("load", { key });
    expect(loaded).toEqual({ found: true, data });
  });

  it("a session Django creates is loaded by Porter", async () => {
    const data = { greeting: "héllo wörld ✓ 😀", 日本: "語", n: 7, nested: { a: [1, null, true] } };
    const created = await django<{ key: string; expiry_age: number }>("create", { data });
    const session = await engine.load(created.key);
    expect(session.key).toBe(created.key);
    expect(Object.fromEntries(session.entries())).toEqual(data);
    // Django's expiry (two weeks from its save) is what Porter reads.
    expect(Math.abs(session.expiryAge - created.expiry_age)).toBeLessThan(60);
  });

  it("Django's own expiry and deletion are honoured: an unknown or deleted key is no session", async () => {
    const created = await django<{ key: string }>("create", { data: { x: 1 } });
    await pool.query(`DELETE FROM "${schema}".django_session WHERE session_key = $1`, [created.key]);
    const session = await engine.load(created.key);
    expect(session.key).toBeNull();
    expect(session.isEmpty).toBe(true);
    const expired = await django<{ key: string }>("create", { data: { x: 1 } });
    await pool.query(
      `UPDATE "${schema}".django_session SET expire_date = now() - interval '1 second' WHERE session_key = $1`,
      [expired.key],
    );
    expect((await engine.load(expired.key)).key).toBeNull();
  });

  it("a user Django logged in is the user Porter's getUser returns, and the reverse", async () => {
    const backend = createPasswordBackend({ users, id: DJANGO_MODEL_BACKEND_ID });
    const { hash } = await django<{ hash: string }>("password", { password: "correct horse battery staple" });
    expect(hash).toMatch(/^pbkdf2_sha256\$\d+\$/);
    const porterUser = await users.create({ username: "alice", passwordHash: hash });
    const loggedIn = await django<{ key: string; session: Record<string, string> }>("login", {
      id: porterUser.id,
      username: "alice",
      hash,
      data: { cart: ["book"] },
    });
    expect(loggedIn.session).toMatchObject({
      _auth_user_id: porterUser.id,
      _auth_user_backend: "django.contrib.auth.backends.ModelBackend",
      cart: ["book"],
    });
    expect(loggedIn.session._auth_user_hash).toMatch(/^[0-9a-f]{64}$/);

    const session = await engine.load(loggedIn.key);
    const user = await getUser(session, [backend], { secret: SECRET });
    expect(user).toEqual(porterUser);
    expect(session.key).toBe(loggedIn.key);

    // Porter's password backend accepts the password Django hashed.
    expect(
      (await backend.authenticate({ username: "alice", password: "correct horse battery staple" }))?.id,
    ).toBe(porterUser.id);

    // The reverse: Porter logs the user in; Django's get_user sees them.
    const fresh = await engine.load(undefined);
    await login(fresh, porterUser, backend, { secret: SECRET });
    const { key } = await engine.commit(fresh);
    expect(await django("whoami", { key })).toEqual({ authenticated: true, id: porterUser.id });

    // A changed password (a different hash) ends the session on Porter's side, as on Django's.
    await users.update(porterUser.id, { passwordHash: `${hash.slice(0, -4)}AAA=` });
    const again = await engine.load(loggedIn.key);
    expect(await getUser(again, [backend], { secret: SECRET })).toBeNull();
    expect(again.key).toBeNull();
  });
});
