// The conformance kit under node:test instead of vitest: proves the kit needs no particular
// runner. Runs against the built package (`pnpm build` first), as a third party would.
import * as t from "node:test";
import { createManualClock, describeSessionStore, nodeTestRunner } from "../../dist/conformance/index.js";
import { createMemorySessionStore } from "../../dist/index.js";

const clock = createManualClock();
describeSessionStore("memory under node:test", {
  create: () => createMemorySessionStore({ clock: clock.now }),
  clock,
  inspect: async (store, key) => {
    const record = await store.get(key);
    return record === null ? null : { data: record.data, expiresAt: record.expiresAt };
  },
  // A closed memory store no longer serves: the in-process equivalent of a backend that is gone.
  unreachable: async () => {
    const store = createMemorySessionStore();
    await store.close();
    return store;
  },
  runner: nodeTestRunner(t),
});
