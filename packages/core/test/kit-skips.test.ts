import { describe, expect, it } from "vitest";
import {
  createManualClock,
  describeSessionStore,
  nodeTestRunner,
  type TestRunner,
} from "../src/conformance/index.js";
import { createMemorySessionStore } from "../src/index.js";

describe("skipped kit groups say why", () => {
  it("a missing factory registers a skip with its reason, never a silent pass", () => {
    const skips: [string, string][] = [];
    const none = () => undefined;
    const runner: TestRunner = {
      describe: (_name, fn) => fn(),
      it: none,
      beforeAll: none,
      afterAll: none,
      beforeEach: none,
      afterEach: none,
      skip: (name, reason) => skips.push([name, reason]),
    };
    const clock = createManualClock();
    describeSessionStore("memory without factories", {
      create: () => createMemorySessionStore({ clock: clock.now }),
      clock,
      runner,
    });
    expect(skips).toEqual([
      ["raw backend checks", "no inspect() was supplied"],
      ["unreachable backend", "no unreachable() factory was supplied"],
    ]);
  });

  it("nodeTestRunner reports a skip as skipped with the reason as its note", async () => {
    const registered: { name: string; run: () => unknown }[] = [];
    const notes: (string | undefined)[] = [];
    const none = () => undefined;
    const runner = nodeTestRunner({
      describe: none,
      it: (name, _options, fn) =>
        registered.push({ name, run: () => fn({ skip: (message) => notes.push(message) }) }),
      before: none,
      after: none,
      beforeEach: none,
      afterEach: none,
    });
    runner.skip("raw backend checks", "no inspect() was supplied");
    expect(registered.map((r) => r.name)).toEqual([
      "raw backend checks — skipped: no inspect() was supplied",
    ]);
    await registered[0]!.run();
    expect(notes).toEqual(["no inspect() was supplied"]);
  });
});
