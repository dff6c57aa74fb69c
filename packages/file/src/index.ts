export {
  createFileSessionStore,
  type FileSessionStore,
  type FileSessionStoreOptions,
} from "./file-session-store.js";
export { createFileUserStore, type FileUserStore, type FileUserStoreOptions } from "./file-user-store.js";
