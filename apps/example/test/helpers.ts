import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import dynalite from "dynalite";
import { Redis } from "ioredis";
import pg from "pg";
import { createBackends } from "../src/backends.js";
import { type AppConfig, loadConfig } from "../src/config.js";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const TEST_SECRET = "porter-example-test-secret-0123456789abcdef";

/** Names no other test run uses: a Redis prefix, a Postgres schema, a dynalite table prefix. */
export function namespace() {
  const id = randomUUID().replaceAll("-", "").slice(0, 16);
  return {
    redisPrefix: `test:example:${id}:`,
    postgresSchema: `example_${id}`,
    dynamoTablePrefix: `example_${id}_`,
  };
}

export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), "porter-example-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A configuration as the environment would give it, on a free port, in its own namespaces. */
export function testConfig(env: NodeJS.ProcessEnv & { PORTER_DATA_DIR: string }): AppConfig {
  return loadConfig({
    PORTER_SECRET: TEST_SECRET,
    PORT: "0",
    REDIS_URL,
    DATABASE_URL,
    ...env,
  });
}

/** What `node dist/cli.js migrate` does, for a configuration. */
export async function migrate(config: AppConfig): Promise<void> {
  const backends = createBackends(config);
  try {
    await backends.migrate();
  } finally {
    await backends.close();
  }
}

export function namespaceEnv(ns: ReturnType<typeof namespace>): NodeJS.ProcessEnv {
  return {
    PORTER_REDIS_PREFIX: ns.redisPrefix,
    PORTER_PG_SCHEMA: ns.postgresSchema,
    PORTER_DYNAMO_TABLE_PREFIX: ns.dynamoTablePrefix,
  };
}

/** Removes what a namespace left on the shared servers. */
export async function dropNamespace(ns: ReturnType<typeof namespace>): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${ns.redisPrefix}*`, "COUNT", 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${ns.postgresSchema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** An in-process dynalite (in memory) on a free loopback port. */
export async function startDynalite(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** A tiny browser for HTTP-level tests: keeps cookies, never follows redirects. */
export class HttpClient {
  readonly cookies = new Map<string, string>();
  constructor(public base: string) {}

  async request(
    path: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    let body: string | undefined;
    if (init.form !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(new URL(path, this.base), {
      method: init.method ?? (body === undefined ? "GET" : "POST"),
      headers,
      redirect: "manual",
      ...(body === undefined ? {} : { body }),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === "" || value === '""';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  get(path: string): Promise<HttpResponse> {
    return this.request(path);
  }

  /** GETs the form page for its CSRF token, then POSTs the form with it. */
  async submit(formPath: string, action: string, form: Record<string, string>): Promise<HttpResponse> {
    const page = await this.get(formPath);
    const token = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(page.text)?.[1];
    if (token === undefined) throw new Error(`no CSRF token on ${formPath} (status ${page.status})`);
    return this.request(action, { form: { ...form, csrfmiddlewaretoken: token } });
  }
}
