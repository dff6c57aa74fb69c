/**
 * The kit registers its tests through a `TestRunner`: vitest's by default, or any runner
 * whose `describe`/`it`/hooks are passed in (node:test, mocha, jest). Assertions use
 * `node:assert`, so they need no runner.
 */
/** Handed to each test: `skip` marks the running test skipped, with the reason shown by the runner. */
export interface TestContext {
  skip(reason: string): void;
}

export interface TestRunner {
  describe(name: string, fn: () => void): unknown;
  it(name: string, fn: (ctx: TestContext) => Promise<void> | void, timeoutMs?: number): unknown;
  beforeAll(fn: () => Promise<void> | void): unknown;
  afterAll(fn: () => Promise<void> | void): unknown;
  beforeEach(fn: () => Promise<void> | void): unknown;
  afterEach(fn: () => Promise<void> | void): unknown;
  /**
   * Registers a test that is reported as skipped, with `reason` as the runner's skip note; the
   * name says why as well, for reporters that show names only.
   */
  skip(name: string, reason: string): unknown;
}

type Hooked = (fn: () => Promise<void> | void) => unknown;
interface VitestLike {
  describe: (name: string, fn: () => void) => unknown;
  it: (
    name: string,
    fn: (ctx: { skip: (note?: string) => void }) => Promise<void> | void,
    timeout?: number,
  ) => unknown;
  beforeAll: Hooked;
  afterAll: Hooked;
  beforeEach: Hooked;
  afterEach: Hooked;
}

let vitestRunner: TestRunner | undefined;
try {
  // Optional peer dependency: only loaded when installed, and only used when no runner is given.
  const v = (await import("vitest")) as unknown as VitestLike;
  vitestRunner = {
    describe: v.describe,
    it: (name, fn, timeout) => v.it(name, (ctx) => fn({ skip: (reason) => ctx.skip(reason) }), timeout),
    beforeAll: v.beforeAll,
    afterAll: v.afterAll,
    beforeEach: v.beforeEach,
    afterEach: v.afterEach,
    skip: (name, reason) => v.it(`${name} — skipped: ${reason}`, (ctx) => ctx.skip(reason)),
  };
} catch {
  vitestRunner = undefined;
}

/** Adapts node:test (`import * as t from "node:test"`) to a `TestRunner`. */
export function nodeTestRunner(t: {
  describe: (name: string, fn: () => void) => unknown;
  it: (
    name: string,
    options: { timeout?: number },
    fn: (ctx: { skip: (message?: string) => void }) => Promise<void> | void,
  ) => unknown;
  before: Hooked;
  after: Hooked;
  beforeEach: Hooked;
  afterEach: Hooked;
}): TestRunner {
  return {
    describe: t.describe,
    it: (name, fn, timeout) =>
      t.it(name, timeout === undefined ? {} : { timeout }, (ctx) =>
        fn({ skip: (reason) => ctx.skip(reason) }),
      ),
    beforeAll: t.before,
    afterAll: t.after,
    beforeEach: t.beforeEach,
    afterEach: t.afterEach,
    skip: (name, reason) => t.it(`${name} — skipped: ${reason}`, {}, (ctx) => ctx.skip(reason)),
  };
}

export function resolveRunner(runner: TestRunner | undefined): TestRunner {
  const r = runner ?? vitestRunner;
  if (r === undefined) {
    throw new Error(
      "@porter/core/conformance: vitest is not installed; pass { runner } (e.g. nodeTestRunner(await import('node:test')))",
    );
  }
  return r;
}

/** A clock a test moves by hand; give `clock.now` to a store that takes a clock. */
export interface ManualClock {
  now(): number;
  advance(ms: number): void;
  set(ms: number): void;
}

export function createManualClock(start = Date.now()): ManualClock {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (ms) => {
      t = ms;
    },
  };
}
