export type { MongoConnectionOptions } from "./mongo-connection.js";
export {
  createMongoSessionStore,
  type MongoSessionStore,
  type MongoSessionStoreOptions,
} from "./mongo-session-store.js";
export {
  createMongoUserStore,
  type MongoUserStore,
  type MongoUserStoreOptions,
} from "./mongo-user-store.js";
export { MAX_USERNAME_LENGTH } from "./user-fields.js";
