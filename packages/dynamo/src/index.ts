/** The longest username accepted, after NFKC (Django's `max_length`). */
export { USERNAME_MAX_LENGTH as MAX_USERNAME_LENGTH } from "@porter/core";
export type {
  DynamoConnectionOptions,
  EnsureTableOptions,
} from "./dynamo-client.js";
export {
  createDynamoSessionStore,
  DYNAMO_MAX_ITEM_BYTES,
  type DynamoSessionStore,
  type DynamoSessionStoreOptions,
} from "./dynamo-session-store.js";
export {
  createDynamoUserStore,
  type DynamoUserStore,
  type DynamoUserStoreOptions,
} from "./dynamo-user-store.js";
