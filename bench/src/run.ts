import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { measure, type RunSettings, type Scenario, type ScenarioResult, toMarkdown } from "./harness.js";
import { engineOverhead } from "./scenarios/engine.js";

const quick = process.argv.includes("--quick");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const settings: RunSettings = quick
  ? { rounds: 3, windowMs: 300, warmupMs: 200 }
  : { rounds: 5, windowMs: 1000, warmupMs: 500 };

type Planned = { key: string; make: () => Promise<Scenario>; concurrency: number[] };
const plan: Planned[] = [{ key: "engine", make: engineOverhead, concurrency: [1, 64] }];

const results: ScenarioResult[] = [];
const started = Date.now();
for (const item of plan) {
  if (only !== undefined && !only.split(",").includes(item.key)) continue;
  const scenario = await item.make();
  for (const c of item.concurrency) {
    const result = await measure(scenario, c, settings);
    results.push(result);
    console.log(toMarkdown([result]).split("\n").slice(2).join("\n"));
  }
}

const date = new Date().toISOString().slice(0, 10);
const table = toMarkdown(results);
const dir = new URL("../results/", import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(
  new URL("latest.json", dir),
  `${JSON.stringify({ date, quick, settings, results }, null, 2)}\n`,
);
writeFileSync(
  new URL("latest.md", dir),
  `Measured ${date}${quick ? " (--quick)" : ""}, Node ${process.version}.\n\n${table}\n`,
);
console.log(`\n${table}\n\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`);
void readFileSync;
