import type { Finding, ScenarioResult } from "./harness.js";

/** One goal Porter sets itself, read from this run's results. */
interface Target {
  readonly text: string;
  /** The measured figure, or undefined when the scenario did not run. */
  value(results: readonly ScenarioResult[], findings: readonly Finding[]): number | undefined;
  readonly goal: number;
  /** "min": the figure must be at least `goal`; "max": at most. */
  readonly kind: "min" | "max";
  readonly unit: "×" | "ms" | "round trips";
}

export interface TargetResult {
  readonly text: string;
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean | null;
}

/** Porter's median throughput ÷ a contender's, from one scenario at one concurrency. */
function ratio(engine: string, scenario: string, concurrency: number, versus: "peer" | "bound" | string) {
  return (results: readonly ScenarioResult[]) => {
    const r = results.find(
      (x) => x.engine === engine && x.scenario === scenario && x.concurrency === concurrency,
    );
    const found = r?.ratios.find((x) =>
      versus === "peer" || versus === "bound" ? x.role === versus : x.versus === versus,
    );
    return found?.ratio;
  };
}

function metric(key: string, name: string) {
  return (_: readonly ScenarioResult[], findings: readonly Finding[]) =>
    findings.find((f) => f.key === key)?.metrics[name];
}

const C = 64;
const x = (text: string, engine: string, scenario: string, versus: string, goal: number): Target => ({
  text,
  value: ratio(engine, scenario, C, versus),
  goal,
  kind: "min",
  unit: "×",
});

export const TARGETS: readonly Target[] = [
  x("redis load+save ≥ 1.0× connect-redis", "redis", "load+save", "peer", 1.0),
  x("redis load+save ≥ 0.9× raw ioredis GET + SET", "redis", "load+save", "bound", 0.9),
  x("redis load-only ≥ 1.8× connect-redis (GET + EXPIRE)", "redis", "load only", "peer", 1.8),
  x("file load+save ≥ 1.2× session-file-store", "file", "load+save", "peer", 1.2),
  x("file load-only ≥ 4× session-file-store", "file", "load only", "peer", 4),
  x("postgres load+save ≥ 1.3× connect-pg-simple", "postgres", "load+save", "peer", 1.3),
  x("postgres load+save ≥ 0.9× raw prepared SELECT + UPDATE", "postgres", "load+save", "bound", 0.9),
  x("postgres load-only ≥ 2.5× connect-pg-simple", "postgres", "load only", "peer", 2.5),
  x("dynamo load+save ≥ 0.95× connect-dynamodb", "dynamo", "load+save", "peer", 0.95),
  x("dynamo load-only ≥ 1.8× connect-dynamodb", "dynamo", "load only", "peer", 1.8),
  {
    text: "postgres clear-expired ≤ 1.5× the time of one raw DELETE",
    value: metric("clear-expired", "porterOverRawDelete"),
    goal: 1.5,
    kind: "max",
    unit: "×",
  },
  {
    text: "no live read waits > 100 ms during clear-expired",
    value: metric("clear-expired", "porterWorstReadMs"),
    goal: 100,
    kind: "max",
    unit: "ms",
  },
  x("cookie encrypted ≥ 10× iron-session seal+unseal", "cookie", "session ⇄ cookie (encrypted)", "peer", 10),
  x("cookie encrypted ≥ 0.7× bare AES-256-GCM", "cookie", "seal+open (encrypted)", "bound", 0.7),
  x("cookie signed ≥ 0.8× bare HMAC-SHA256", "cookie", "seal+open (signed)", "bound", 0.8),
  x(
    "engine overhead ≥ 2× express-session + MemoryStore",
    "memory",
    "engine overhead (full cycle, memory store)",
    "peer",
    2,
  ),
  ...(["redis", "postgres", "file", "dynamo"] as const).map(
    (store): Target => ({
      text: `${store}: a read-only logged-in request costs 1 store round trip`,
      value: metric("roundtrips", `${store}.porter`),
      goal: 1,
      kind: "max",
      unit: "round trips",
    }),
  ),
  {
    text: "event-loop lag p99 < 20 ms during 50 concurrent logins",
    value: metric("login", "lagP99Ms"),
    goal: 20,
    kind: "max",
    unit: "ms",
  },
  {
    text: "example app ≥ 1.3× the express-session app (redis)",
    value: metric("app", "redis.ratio"),
    goal: 1.3,
    kind: "min",
    unit: "×",
  },
  {
    text: "example app ≥ 1.3× the express-session app (postgres)",
    value: metric("app", "postgres.ratio"),
    goal: 1.3,
    kind: "min",
    unit: "×",
  },
];

const show = (v: number, unit: Target["unit"]) =>
  unit === "×" ? `${v.toFixed(2)}×` : unit === "ms" ? `${v.toFixed(1)} ms` : `${v.toFixed(2)}`;

export function evaluateTargets(
  results: readonly ScenarioResult[],
  findings: readonly Finding[],
): TargetResult[] {
  return TARGETS.map((t) => {
    const v = t.value(results, findings);
    const goal = `${t.kind === "min" ? "≥" : "≤"} ${show(t.goal, t.unit)}`;
    if (v === undefined || Number.isNaN(v)) return { text: t.text, goal, measured: "not run", met: null };
    // A strict "<" goal (lag < 20 ms) and "≤" read alike at this precision.
    const met = t.kind === "min" ? v >= t.goal : v <= t.goal;
    return { text: t.text, goal, measured: show(v, t.unit), met };
  });
}

export function targetsMarkdown(targets: readonly TargetResult[]): string {
  const rows = targets.map(
    (t) => `| ${t.text} | ${t.goal} | ${t.measured} | ${t.met === null ? "–" : t.met ? "✓" : "✗"} |`,
  );
  return ["| target | goal | measured | met |", "|---|---:|---:|:-:|", ...rows].join("\n");
}
