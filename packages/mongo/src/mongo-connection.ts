import { ConfigError, PorterError, StoreUnavailableError } from "@porter/core";
import { type Db, MongoClient, type MongoClientOptions, MongoError } from "mongodb";

/** How a store reaches MongoDB: give exactly one of `client`, `db` or `url`. */
export interface MongoConnectionOptions {
  /** A `MongoClient` the application owns; the store never closes it. Uses `dbName`, else the URL's database. */
  client?: MongoClient;
  /** A `Db` the application owns. */
  db?: Db;
  /**
   * A `mongodb://` or `mongodb+srv://` URL: the store creates its own client, with bounded
   * server selection, connect and socket timeouts (unless the URL sets them), and `close()`
   * closes it.
   */
  url?: string;
  /** The database, with `client` or `url`. @default the URL's database, else "test" (the driver's default) */
  dbName?: string;
  /** For a client created from `url`: more driver options; they override the store's defaults. */
  clientOptions?: MongoClientOptions;
  /**
   * For a client created from `url`: how long to wait for a usable server and for a
   * connection, in ms (`serverSelectionTimeoutMS`, `connectTimeoutMS`); sockets get twice this.
   * @default 2000
   */
  timeoutMs?: number;
}

/** Collection names: no `$`, no NUL, not in the `system.` namespace, short enough for any server. */
const COLLECTION_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,119}$/;
const DB_NAME = /^[A-Za-z0-9_-]{1,63}$/;

export function checkCollectionName(name: unknown, what = "collection"): string {
  if (typeof name !== "string" || !COLLECTION_NAME.test(name) || name.startsWith("system.")) {
    throw new ConfigError(
      `${what} must be 1–120 characters of [A-Za-z0-9_.-], start with a letter or "_", and not be in the system. namespace`,
    );
  }
  return name;
}

export interface Connection {
  readonly db: Db;
  /** Closes the client only when the store created it. */
  close(): Promise<void>;
}

/** The option keys a URL already sets, lower-cased. */
function urlOptionKeys(url: string): Set<string> {
  const query = url.includes("?") ? url.slice(url.indexOf("?") + 1) : "";
  return new Set([...new URLSearchParams(query).keys()].map((k) => k.toLowerCase()));
}

export function connect(options: MongoConnectionOptions): Connection {
  const given = [options.client, options.db, options.url].filter((o) => o !== undefined).length;
  if (given !== 1) throw new ConfigError("give exactly one of client, db or url");
  if (options.dbName !== undefined && (typeof options.dbName !== "string" || !DB_NAME.test(options.dbName))) {
    throw new ConfigError("dbName must be 1–63 characters of [A-Za-z0-9_-]");
  }
  if (options.db !== undefined) {
    if (options.dbName !== undefined) throw new ConfigError("dbName goes with client or url, not db");
    return { db: options.db, close: async () => {} };
  }
  if (options.client !== undefined) {
    return { db: options.client.db(options.dbName), close: async () => {} };
  }
  const url = options.url;
  if (typeof url !== "string" || !/^mongodb(\+srv)?:\/\//.test(url)) {
    throw new ConfigError("url must be a mongodb:// or mongodb+srv:// URL");
  }
  const timeout = options.timeoutMs ?? 2000;
  if (!Number.isSafeInteger(timeout) || timeout <= 0) {
    throw new ConfigError("timeoutMs must be a positive integer");
  }
  const inUrl = urlOptionKeys(url);
  const defaults: MongoClientOptions = {};
  if (!inUrl.has("serverselectiontimeoutms")) defaults.serverSelectionTimeoutMS = timeout;
  if (!inUrl.has("connecttimeoutms")) defaults.connectTimeoutMS = timeout;
  if (!inUrl.has("sockettimeoutms")) defaults.socketTimeoutMS = 2 * timeout;
  let client: MongoClient;
  try {
    client = new MongoClient(url, { ...defaults, ...options.clientOptions });
  } catch (err) {
    // The driver's message may quote the URL, credentials included: name the error only.
    throw new ConfigError(`url could not be parsed (${err instanceof Error ? err.name : "error"})`);
  }
  return { db: client.db(options.dbName), close: () => client.close() };
}

/** Duplicate key: a unique index (`_id` included) refused the write. */
export const isDuplicateKey = (err: unknown): boolean => err instanceof MongoError && err.code === 11000;

/**
 * Runs a driver call; every driver error becomes `StoreUnavailableError` (the driver's error as
 * `cause`): network errors, server selection and socket timeouts, a closed client, and server
 * refusals alike mean the store could not answer. Duplicate keys are left to the caller.
 */
export async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (PorterError.is(err) || isDuplicateKey(err) || !(err instanceof MongoError)) throw err;
    const code = err.code === undefined ? "" : ` (code ${String(err.code)})`;
    throw new StoreUnavailableError(`MongoDB ${what} failed: ${err.name}${code}`, { cause: err });
  }
}
