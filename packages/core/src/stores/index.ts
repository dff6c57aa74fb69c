export { type CachedSessionStoreOptions, cachedSessionStore } from "./cached-session-store.js";
export {
  createMemorySessionStore,
  type MemorySessionStore,
  type MemorySessionStoreOptions,
} from "./memory-session-store.js";
