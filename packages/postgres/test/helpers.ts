import { randomBytes } from "node:crypto";
import pg from "pg";

export const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A schema name no other run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
}

/** A pool for the test itself; waits (with a deadline) until PostgreSQL answers. */
export async function openTestPool(max = 10): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max, connectionTimeoutMillis: 2000 });
  pool.on("error", () => {});
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await pool.query("SELECT 1");
      return pool;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`PostgreSQL at ${DATABASE_URL} did not answer`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
