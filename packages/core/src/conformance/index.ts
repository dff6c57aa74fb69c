export { type DescribeAuthBackendOptions, describeAuthBackend } from "./auth-backend.js";
export {
  type DescribeClientSessionStoreOptions,
  describeClientSessionStore,
} from "./client-session-store.js";
export { HOSTILE_KEYS } from "./hostile.js";
export { type DescribeMessageStorageOptions, describeMessageStorage } from "./message-storage.js";
export {
  createManualClock,
  type ManualClock,
  nodeTestRunner,
  resolveRunner,
  type TestContext,
  type TestRunner,
} from "./runner.js";
export {
  type FaultCall,
  type FaultOperation,
  type FaultStore,
  type FaultStoreOptions,
  faultStore,
} from "./session-scenarios.js";
export {
  AWKWARD_TEXT,
  type DescribeSessionStoreOptions,
  describeSessionStore,
  type InspectedRecord,
  testKey,
} from "./session-store.js";
export { type DescribeUserStoreOptions, describeUserStore } from "./user-store.js";
