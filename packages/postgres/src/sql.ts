import { createHash } from "node:crypto";
import { ConfigError } from "@porter/core";
import type { QueryConfig } from "pg";

/**
 * Identifiers given as options: a letter or underscore, then letters, digits and underscores,
 * at most 40 characters (so the derived index names fit PostgreSQL's 63-byte limit). They are
 * also quoted, so case is kept and a reserved word is harmless.
 */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;

export function checkIdentifier(value: unknown, option: string): string {
  if (typeof value !== "string" || !IDENTIFIER.test(value)) {
    throw new ConfigError(
      `${option} must match ${IDENTIFIER.source} (letters, digits and underscores, at most 40 characters)`,
    );
  }
  return value;
}

/** A quoted identifier. Quote-doubling is redundant after `checkIdentifier`, and kept on purpose. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A named (prepared) statement. The name is derived from the text, so two stores on one pool
 * never give one name to two texts, and each connection parses each statement once.
 */
export function statement(text: string): (values: unknown[]) => QueryConfig {
  const name = `porter_${createHash("sha256").update(text).digest("hex").slice(0, 24)}`;
  return (values) => ({ name, text, values });
}

/**
 * The name Django's schema editor gives an index (`BaseDatabaseSchemaEditor._create_index_name`
 * with PostgreSQL's 63-character limit), so a table created here matches Django's migration.
 */
export function djangoIndexName(table: string, columns: readonly string[], suffix = ""): string {
  const md5 = createHash("md5");
  for (const part of [table, ...columns]) md5.update(part);
  let hashSuffix = `${md5.digest("hex").slice(0, 8)}${suffix}`;
  const maxLength = 63;
  const name = `${table}_${columns.join("_")}_${hashSuffix}`;
  if (name.length <= maxLength) return name;
  if (hashSuffix.length > maxLength / 3) hashSuffix = hashSuffix.slice(0, Math.floor(maxLength / 3));
  const otherLength = Math.floor((maxLength - hashSuffix.length) / 2) - 1;
  let shortened = `${table.slice(0, otherLength)}_${columns.join("_").slice(0, otherLength)}_${hashSuffix}`;
  if (shortened.startsWith("_") || /^[0-9]/.test(shortened)) shortened = `D${shortened.slice(0, -1)}`;
  return shortened;
}

/** Creates the schema when absent. (CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege even when it exists.) */
export function createSchemaStatement(schema: string): string {
  const literal = `'${schema.replaceAll("'", "''")}'`;
  return `DO $porter$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ${literal}) THEN
      EXECUTE ${`'CREATE SCHEMA ${quoteIdent(schema).replaceAll("'", "''")}'`};
    END IF;
  END $porter$`;
}
