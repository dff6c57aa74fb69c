// First: it wraps `fs` before any module captures it (see fs-count.ts).
import "./fs-count.js";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import {
  type Finding,
  findingMarkdown,
  measure,
  type RunSettings,
  type Scenario,
  type ScenarioResult,
  toMarkdown,
} from "./harness.js";
import { appUnderLoad } from "./scenarios/app.js";
import { clearExpired } from "./scenarios/clear-expired.js";
import { cookieScenarios } from "./scenarios/cookie.js";
import { dynamoSuite } from "./scenarios/dynamo.js";
import { engineOverhead } from "./scenarios/engine.js";
import { fileSuite } from "./scenarios/file.js";
import { loginUnderLoad } from "./scenarios/login.js";
import { postgresSuite } from "./scenarios/postgres.js";
import { redisSuite } from "./scenarios/redis.js";
import { roundTrips } from "./scenarios/roundtrips.js";
import { evaluateTargets, targetsMarkdown } from "./targets.js";

const quick = process.argv.includes("--quick");
const only = process.argv
  .find((a) => a.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",");
const settings: RunSettings = quick
  ? { rounds: 2, windowMs: 200, warmupMs: 100, leadInMs: 100 }
  : { rounds: 5, windowMs: 800, warmupMs: 400, leadInMs: 250 };

const results: ScenarioResult[] = [];
const findings: Finding[] = [];

/** What a plan item gets: how to measure a scenario, and where to put other facts. */
export interface Context {
  readonly quick: boolean;
  measure(scenario: Scenario, concurrency: number): Promise<ScenarioResult>;
  report(finding: Finding): void;
}

const context: Context = {
  quick,
  async measure(scenario, concurrency) {
    const result = await measure(scenario, concurrency, settings);
    results.push(result);
    console.log(toMarkdown([result]).split("\n").slice(2).join("\n"));
    return result;
  },
  report(finding) {
    findings.push(finding);
    console.log(`\n${findingMarkdown(finding)}\n`);
  },
};

type Planned = { key: string; run: (ctx: Context) => Promise<void> };
const plan: Planned[] = [
  {
    key: "engine",
    async run(ctx) {
      const scenario = await engineOverhead();
      await ctx.measure(scenario, 1);
      await ctx.measure(scenario, 64);
    },
  },
  { key: "redis", run: (ctx) => redisSuite(ctx.measure, ctx.quick ? 500 : 3000) },
  { key: "postgres", run: (ctx) => postgresSuite(ctx.measure, ctx.quick ? 300 : 1500) },
  { key: "file", run: (ctx) => fileSuite(ctx.measure, ctx.quick ? 100 : 800) },
  { key: "dynamo", run: (ctx) => dynamoSuite(ctx.measure, ctx.quick ? 32 : 128, ctx.quick ? 32 : 512) },
  {
    key: "clear-expired",
    run: async (ctx) =>
      ctx.report(await clearExpired(ctx.quick ? 10_000 : 100_000, ctx.quick ? 10_000 : 100_000)),
  },
  {
    key: "app",
    run: async (ctx) => ctx.report(await (ctx.quick ? appUnderLoad(1, 1, ["/notes"]) : appUnderLoad(3, 3))),
  },
  { key: "login", run: async (ctx) => ctx.report(await loginUnderLoad(ctx.quick ? 5 : 50)) },
  { key: "roundtrips", run: async (ctx) => ctx.report(await roundTrips()) },
  {
    key: "cookie",
    async run(ctx) {
      for (const scenario of cookieScenarios()) await ctx.measure(scenario, 64);
    },
  },
];

const started = Date.now();
const failures: { key: string; error: string }[] = [];
for (const item of plan) {
  if (only !== undefined && !only.includes(item.key)) continue;
  console.log(`\n## ${item.key}`);
  const itemStarted = Date.now();
  try {
    await item.run(context);
    console.log(`(${item.key}: ${((Date.now() - itemStarted) / 1000).toFixed(1)} s)`);
  } catch (error) {
    // One unavailable service must not cost the rest of the run; the failure is reported.
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    failures.push({ key: item.key, error: message.split("\n").slice(0, 3).join(" | ") });
    console.error(`\n${item.key} failed: ${message}`);
  }
}

const date = new Date().toISOString().slice(0, 10);
const seconds = (Date.now() - started) / 1000;
const targets = evaluateTargets(results, findings);
const machine = `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? "unknown CPU"}`;
const table = toMarkdown(results);
const sections = [
  `Measured ${date}${quick ? " (--quick)" : ""} in ${seconds.toFixed(0)} s on ${machine}.`,
  `Settings: ${settings.rounds} interleaved rounds of ${settings.windowMs} ms per contender, each after an untimed lead-in of ${settings.leadInMs} ms (warm-up ${settings.warmupMs} ms).`,
  "## Throughput and latency",
  table,
  ...findings.map(findingMarkdown),
  "## Targets",
  targetsMarkdown(targets),
  ...(failures.length > 0 ? ["## Not run", ...failures.map((f) => `- ${f.key}: ${f.error}`)] : []),
];
const dir = new URL("../results/", import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(
  new URL("latest.json", dir),
  `${JSON.stringify({ date, quick, seconds, machine, settings, results, findings, targets, failures }, null, 2)}\n`,
);
writeFileSync(new URL("latest.md", dir), `${sections.join("\n\n")}\n`);
// A full run of everything also refreshes the results block of the README.
const readme = new URL("../README.md", import.meta.url);
const START = "<!-- results:start -->";
const END = "<!-- results:end -->";
if (!quick && only === undefined && failures.length === 0 && existsSync(readme)) {
  const text = readFileSync(readme, "utf8");
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from !== -1 && to > from) {
    const block = sections.join("\n\n").replace(/^## /gm, "### ");
    writeFileSync(readme, `${text.slice(0, from + START.length)}\n${block}\n${text.slice(to)}`);
  }
}
console.log(`\n## Targets\n\n${targetsMarkdown(targets)}\n\ndone in ${seconds.toFixed(1)} s`);
process.exitCode = failures.length > 0 ? 1 : 0;
