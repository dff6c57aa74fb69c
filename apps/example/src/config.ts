import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Every environment variable the app reads, read here and nowhere else. */
export const SESSION_BACKENDS = [
  "file",
  "cookie",
  "cookie-signed",
  "cookie-django",
  "redis",
  "postgres",
  "mongo",
  "dynamo",
  "cached",
] as const;
export const USER_BACKENDS = ["file", "postgres", "mongo", "dynamo"] as const;
export const MESSAGE_BACKENDS = ["fallback", "cookie", "session"] as const;

export type SessionBackendName = (typeof SESSION_BACKENDS)[number];
export type UserBackendName = (typeof USER_BACKENDS)[number];
export type MessageBackendName = (typeof MESSAGE_BACKENDS)[number];

export interface AppConfig {
  readonly sessions: SessionBackendName;
  readonly users: UserBackendName;
  readonly messages: MessageBackendName;
  /** Signs and encrypts cookies and keys the session-auth hash (Django's `SECRET_KEY`). */
  readonly secret: string;
  readonly production: boolean;
  /** `Secure` cookies: on in production, off for plain-HTTP development. */
  readonly secureCookies: boolean;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly redisUrl: string;
  readonly databaseUrl: string;
  readonly mongodbUrl: string;
  readonly dynamodbEndpoint: string | undefined;
  /** `AWS_REGION`; with an endpoint and no region, `us-east-1` (dynalite and DynamoDB Local ignore it). */
  readonly awsRegion: string | undefined;
  /** A local endpoint without AWS credentials in the environment gets placeholder ones. */
  readonly dynamoPlaceholderCredentials: boolean;
  /** Namespaces, so two apps (or two test runs) can share one server. */
  readonly redisPrefix: string;
  readonly postgresSchema: string;
  readonly dynamoTablePrefix: string;
  /** Unset: the database named in `MONGODB_URL`. */
  readonly mongoDatabase: string | undefined;
  /** Things the operator should know, printed at startup. */
  readonly warnings: readonly string[];
}

export class ConfigurationError extends Error {
  override readonly name = "ConfigurationError";
}

const MIN_SECRET_BYTES = 32;
const SECRET_FILE = "secret-key";

/** `apps/example/data`, wherever the app is started from. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL("../data", import.meta.url));

function oneOf<T extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = env[name];
  if (value === undefined || value === "") return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigurationError(`${name}=${value} is not one of: ${allowed.join(", ")}`);
}

function port(env: NodeJS.ProcessEnv): number {
  const raw = env.PORT;
  if (raw === undefined || raw === "") return 3000;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ConfigurationError(`PORT=${raw} is not a TCP port (0–65535)`);
  }
  return value;
}

function matching(
  env: NodeJS.ProcessEnv,
  name: string,
  pattern: RegExp,
  fallback: string,
  what: string,
): string {
  const value = env[name];
  if (value === undefined || value === "") return fallback;
  if (!pattern.test(value)) throw new ConfigurationError(`${name} must be ${what}`);
  return value;
}

/**
 * The secret: `PORTER_SECRET`, or in development one generated on first run and kept in the
 * data directory (mode 0600), with a warning. Production refuses to start without one.
 */
function resolveSecret(
  env: NodeJS.ProcessEnv,
  production: boolean,
  dataDir: string,
  warnings: string[],
): string {
  const given = env.PORTER_SECRET;
  if (given !== undefined && given !== "") {
    if (Buffer.byteLength(given, "utf8") < MIN_SECRET_BYTES) {
      throw new ConfigurationError(
        `PORTER_SECRET must be at least ${MIN_SECRET_BYTES} bytes; generate one with: ` +
          `node -e "console.log(require('crypto').randomBytes(48).toString('base64url'))"`,
      );
    }
    return given;
  }
  if (production) {
    throw new ConfigurationError(
      `NODE_ENV=production needs PORTER_SECRET (at least ${MIN_SECRET_BYTES} bytes); generate one with: ` +
        `node -e "console.log(require('crypto').randomBytes(48).toString('base64url'))"`,
    );
  }
  const path = join(dataDir, SECRET_FILE);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let secret: string;
  try {
    secret = readFileSync(path, "utf8").trim();
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    secret = randomBytes(48).toString("base64url");
    // "wx": two processes starting at once must not overwrite each other's secret.
    try {
      writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: "wx" });
    } catch (race) {
      if ((race as NodeJS.ErrnoException).code !== "EEXIST") throw race;
      secret = readFileSync(path, "utf8").trim();
    }
  }
  if (Buffer.byteLength(secret, "utf8") < MIN_SECRET_BYTES) {
    throw new ConfigurationError(`${path} holds a secret shorter than ${MIN_SECRET_BYTES} bytes; delete it`);
  }
  warnings.push(
    `PORTER_SECRET is not set: using the development secret in ${path}. ` +
      "Set PORTER_SECRET in production (NODE_ENV=production refuses to start without it).",
  );
  return secret;
}

/** Turns the environment into the app's configuration. Throws `ConfigurationError` with what to fix. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const production = env.NODE_ENV === "production";
  const warnings: string[] = [];
  const dataDir = resolve(env.PORTER_DATA_DIR || DEFAULT_DATA_DIR);
  const sessions = oneOf(env, "PORTER_SESSIONS", SESSION_BACKENDS, "file");
  const users = oneOf(env, "PORTER_USERS", USER_BACKENDS, "file");
  const messages = oneOf(env, "PORTER_MESSAGES", MESSAGE_BACKENDS, "fallback");
  const secret = resolveSecret(env, production, dataDir, warnings);
  if (!production) {
    warnings.push(
      "cookies are sent without the Secure flag (plain-HTTP development); NODE_ENV=production sets it",
    );
  }
  return {
    sessions,
    users,
    messages,
    secret,
    production,
    secureCookies: production,
    host: env.HOST || "127.0.0.1",
    port: port(env),
    dataDir,
    redisUrl: env.REDIS_URL || "redis://127.0.0.1:6379",
    databaseUrl: env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test",
    mongodbUrl: env.MONGODB_URL || "mongodb://127.0.0.1:27017",
    dynamodbEndpoint: env.DYNAMODB_ENDPOINT || undefined,
    awsRegion: env.AWS_REGION || (env.DYNAMODB_ENDPOINT ? "us-east-1" : undefined),
    dynamoPlaceholderCredentials:
      Boolean(env.DYNAMODB_ENDPOINT) && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE,
    redisPrefix: matching(
      env,
      "PORTER_REDIS_PREFIX",
      /^[A-Za-z0-9:_.-]{1,128}$/,
      "porter:sess:",
      "1–128 characters of [A-Za-z0-9:_.-]",
    ),
    postgresSchema: matching(
      env,
      "PORTER_PG_SCHEMA",
      /^[a-z_][a-z0-9_]{0,62}$/,
      "public",
      "a lower-case SQL identifier",
    ),
    dynamoTablePrefix: matching(
      env,
      "PORTER_DYNAMO_TABLE_PREFIX",
      /^[A-Za-z0-9_.-]{1,200}$/,
      "porter_",
      "characters of [A-Za-z0-9_.-]",
    ),
    mongoDatabase: env.PORTER_MONGO_DB
      ? matching(env, "PORTER_MONGO_DB", /^[A-Za-z0-9_-]{1,63}$/, "", "1–63 characters of [A-Za-z0-9_-]")
      : undefined,
    warnings,
  };
}

/** Where the file stores keep their data. */
export const dataPaths = (config: AppConfig) => ({
  sessions: join(config.dataDir, "sessions"),
  users: join(config.dataDir, "users.json"),
});
