export type { PostgresConnectionOptions } from "./connection.js";
export {
  createPostgresSessionStore,
  type PostgresSessionStore,
  type PostgresSessionStoreOptions,
} from "./postgres-session-store.js";
export {
  createPostgresUserStore,
  type PostgresUserStore,
  type PostgresUserStoreOptions,
} from "./postgres-user-store.js";
