/** The longest username accepted, after NFKC (Django's `max_length`). */
export { USERNAME_MAX_LENGTH as MAX_USERNAME_LENGTH } from "@porter/core";
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
