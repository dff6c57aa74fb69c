// The conformance kit under node:test instead of vitest: proves the kit needs no particular
// runner. Runs against the built package (`pnpm build` first), as a third party would.
import * as t from "node:test";
import { createManualClock, describeSessionStore, nodeTestRunner } from "../../dist/conformance/index.js";
import { createMemorySessionStore } from "../../dist/index.js";

const clock = createManualClock();
describeSessionStore("memory under node:test", {
  create: () => createMemorySessionStore({ clock: clock.now }),
  clock,
  runner: nodeTestRunner(t),
});
