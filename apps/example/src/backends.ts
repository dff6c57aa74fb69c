import { createCookieMessageStorage, createCookieSessionStore, pythonJsonCodec } from "@porter/cookie";
import {
  type Auth,
  type ClientSessionStore,
  type CookieOptions,
  cachedSessionStore,
  createAuth,
  createFallbackStorage,
  createPasswordBackend,
  createSessionEngine,
  createSessionMessageStorage,
  type MessageStorage,
  type PasswordBackend,
  type SessionCodec,
  type SessionEngine,
  type SessionStore,
  type UserRecord,
  type UserStore,
} from "@porter/core";
import {
  createDynamoSessionStore,
  createDynamoUserStore,
  type DynamoConnectionOptions,
} from "@porter/dynamo";
import { createFileSessionStore, createFileUserStore } from "@porter/file";
import { createMongoSessionStore, createMongoUserStore, type MongoConnectionOptions } from "@porter/mongo";
import { createPostgresSessionStore, createPostgresUserStore } from "@porter/postgres";
import { createRedisSessionStore } from "@porter/redis";
import {
  type AppConfig,
  dataPaths,
  type MessageBackendName,
  type SessionBackendName,
  type UserBackendName,
} from "./config.js";

/** The permission the notes page needs, and the group registration can put a user in. */
export const NOTES_PERMISSION = "notes.view";
export const READERS_GROUP = "readers";

/** A store as the app built it: what `migrate` runs for it, and how to release it. */
interface Built<T> {
  readonly store: T;
  /** Creates the tables, indexes or collections it needs; safe to run twice. */
  readonly migrations: readonly { readonly name: string; readonly run: () => Promise<void> }[];
  readonly close: () => Promise<void>;
  /** For a cookie store: the codec the engine must use. */
  readonly codec?: SessionCodec;
}

function built<T extends SessionStore | ClientSessionStore | UserStore>(
  store: T,
  migrations: Built<T>["migrations"] = [],
  extra: Pick<Built<T>, "codec"> = {},
): Built<T> {
  const close = async () => {
    if ("close" in store && typeof store.close === "function") await store.close();
  };
  return { store, migrations, close, ...extra };
}

const postgres = (config: AppConfig) => ({
  connectionString: config.databaseUrl,
  schema: config.postgresSchema,
});

const mongo = (config: AppConfig): MongoConnectionOptions => ({
  url: config.mongodbUrl,
  ...(config.mongoDatabase === undefined ? {} : { dbName: config.mongoDatabase }),
});

const dynamo = (config: AppConfig): DynamoConnectionOptions => ({
  ...(config.dynamodbEndpoint === undefined ? {} : { endpoint: config.dynamodbEndpoint }),
  ...(config.awsRegion === undefined ? {} : { region: config.awsRegion }),
  ...(config.dynamoPlaceholderCredentials
    ? { clientConfig: { credentials: { accessKeyId: "local", secretAccessKey: "local" } } }
    : {}),
});

function redisSessions(config: AppConfig) {
  return createRedisSessionStore({ url: config.redisUrl, prefix: config.redisPrefix });
}

function postgresSessions(config: AppConfig) {
  const store = createPostgresSessionStore(postgres(config));
  return built(store, [
    { name: `postgres session table ${store.tableName}`, run: () => store.ensureSchema() },
  ]);
}

/** One line per `PORTER_SESSIONS` value. */
const SESSION_STORES: Record<
  SessionBackendName,
  (config: AppConfig) => Built<SessionStore | ClientSessionStore>
> = {
  file: (config) => built(createFileSessionStore({ dir: dataPaths(config).sessions })),
  cookie: (config) => built(createCookieSessionStore({ secret: config.secret, mode: "encrypted" })),
  "cookie-signed": (config) => built(createCookieSessionStore({ secret: config.secret, mode: "signed" })),
  "cookie-django": (config) =>
    built(createCookieSessionStore({ secret: config.secret, mode: "django" }), [], {
      codec: pythonJsonCodec(),
    }),
  redis: (config) => built(redisSessions(config)),
  postgres: postgresSessions,
  mongo: (config) => {
    const store = createMongoSessionStore(mongo(config));
    return built(store, [
      { name: `mongo session collection ${store.collectionName}`, run: () => store.ensureIndexes() },
    ]);
  },
  dynamo: (config) => {
    const store = createDynamoSessionStore({
      ...dynamo(config),
      table: `${config.dynamoTablePrefix}sessions`,
    });
    return built(store, [{ name: `dynamo session table ${store.table}`, run: () => store.ensureTable() }]);
  },
  // Django's cached_db: Redis in front of PostgreSQL.
  cached: (config) => {
    const cache = redisSessions(config);
    const db = postgresSessions(config);
    return {
      store: cachedSessionStore({ cache, store: db.store }),
      migrations: db.migrations,
      close: async () => {
        await Promise.allSettled([cache.close(), db.close()]);
      },
    };
  },
};

/** One line per `PORTER_USERS` value. */
const USER_STORES: Record<UserBackendName, (config: AppConfig) => Built<UserStore>> = {
  file: (config) => built(createFileUserStore({ path: dataPaths(config).users })),
  postgres: (config) => {
    const store = createPostgresUserStore(postgres(config));
    return built(store, [
      { name: `postgres user tables ${store.tableNames.users}`, run: () => store.ensureSchema() },
    ]);
  },
  mongo: (config) => {
    const store = createMongoUserStore(mongo(config));
    return built(store, [
      { name: `mongo user collection ${store.collectionName}`, run: () => store.ensureIndexes() },
    ]);
  },
  dynamo: (config) => {
    const store = createDynamoUserStore({ ...dynamo(config), table: `${config.dynamoTablePrefix}users` });
    return built(store, [{ name: `dynamo user table ${store.table}`, run: () => store.ensureTable() }]);
  },
};

/** One line per `PORTER_MESSAGES` value. The message cookie takes the session cookie's attributes, as in Django. */
const MESSAGE_STORAGES: Record<
  MessageBackendName,
  (config: AppConfig, cookieOptions: CookieOptions) => MessageStorage
> = {
  cookie: (config, cookieOptions) => createCookieMessageStorage({ secret: config.secret, cookieOptions }),
  session: () => createSessionMessageStorage(),
  // Django's default: the cookie, overflowing into the session.
  fallback: (config, cookieOptions) =>
    createFallbackStorage([
      createCookieMessageStorage({ secret: config.secret, cookieOptions }),
      createSessionMessageStorage(),
    ]),
};

/** Everything the app stands on, built from the configuration. */
export interface Backends {
  readonly config: AppConfig;
  readonly sessions: SessionEngine;
  readonly users: UserStore;
  readonly passwordBackend: PasswordBackend;
  /** login / getUser / logout / updateSessionAuthHash / hasPerm, bound to the backends and the secret. */
  readonly auth: Auth<UserRecord>;
  readonly messages: MessageStorage;
  /** Creates what the configured stores need (tables, indexes); resolves what it did. Idempotent. */
  migrate(): Promise<string[]>;
  /** Gives the `readers` group `notes.view` unless it already has permissions. */
  seed(): Promise<void>;
  /** Django's `clearsessions`: removes expired sessions where the store does not do it natively. */
  clearExpiredSessions(): Promise<number>;
  /** Releases the clients the stores created. */
  close(): Promise<void>;
}

export function createBackends(config: AppConfig): Backends {
  // Whatever was opened before a later piece refuses its configuration is closed again, so a
  // configuration error never leaves a client holding the process open.
  const opened: { close(): Promise<void> }[] = [];
  try {
    return assemble(config, opened);
  } catch (error) {
    void Promise.allSettled(opened.map((store) => store.close()));
    throw error;
  }
}

function assemble(config: AppConfig, opened: { close(): Promise<void> }[]): Backends {
  const sessionStore = SESSION_STORES[config.sessions](config);
  opened.push(sessionStore);
  const userStore = USER_STORES[config.users](config);
  opened.push(userStore);
  const sessions = createSessionEngine({
    store: sessionStore.store,
    ...(sessionStore.codec === undefined ? {} : { codec: sessionStore.codec }),
    cookie: { secure: config.secureCookies },
  });
  const users = userStore.store;
  const passwordBackend = createPasswordBackend({ users });
  const auth = createAuth<UserRecord>({ backends: [passwordBackend], secret: config.secret, users });
  const messages = MESSAGE_STORAGES[config.messages](config, sessions.cookieOptions);
  let closed = false;

  return {
    config,
    sessions,
    users,
    passwordBackend,
    auth,
    messages,
    async migrate() {
      const done: string[] = [];
      for (const migration of [...sessionStore.migrations, ...userStore.migrations]) {
        await migration.run();
        done.push(migration.name);
      }
      return done;
    },
    async seed() {
      const current = await users.groupPermissions([READERS_GROUP]);
      if (current.size === 0) await users.setGroupPermissions(READERS_GROUP, [NOTES_PERMISSION]);
    },
    clearExpiredSessions: () => sessions.clearExpired(),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([sessionStore.close(), userStore.close()]);
    },
  };
}
