import { performance } from "node:perf_hooks";

/** One way of doing the operation a scenario measures: Porter, a peer, or the raw driver bound. */
export interface Contender {
  readonly name: string;
  readonly role: "porter" | "peer" | "bound";
  /**
   * One operation (e.g. one load+save request cycle). `worker` is 0…concurrency-1: each
   * concurrent worker acts as its own visitor, as concurrent requests do in production.
   */
  op(worker: number): Promise<unknown>;
  /**
   * Runs untimed before each window (warm-up included) with the number of operations the
   * window will run, e.g. to create the sessions a destroy scenario consumes. Only for
   * scenarios with `opsPerWindow`.
   */
  prepare?(ops: number): Promise<void>;
}

export interface Scenario {
  /** e.g. "load+save" */
  readonly name: string;
  /** e.g. "redis" */
  readonly engine: string;
  readonly contenders: readonly Contender[];
  /** Extra facts to print with the result (e.g. round trips counted at the server). */
  notes?: string[];
  /**
   * Each window runs exactly this many operations instead of running for `windowMs`: for
   * operations that consume something prepared (a destroy needs a session to destroy).
   */
  opsPerWindow?: number;
}

export interface Measurement {
  contender: string;
  role: Contender["role"];
  concurrency: number;
  /** Throughput per round, ops/s. */
  rounds: number[];
  median: number;
  min: number;
  max: number;
  /** Latency at concurrency 1, ms. */
  p50?: number;
  p99?: number;
  /**
   * CPU time of the benchmark's own process per operation, µs (median round): the client side
   * of a store (the servers are other processes), everything for in-process work.
   */
  cpuUsPerOp: number;
}

export interface ScenarioResult {
  scenario: string;
  engine: string;
  concurrency: number;
  measurements: Measurement[];
  /** Porter's median throughput over each other contender's. */
  ratios: { porter: string; versus: string; role: Contender["role"]; ratio: number }[];
  notes: string[];
}

export interface RunSettings {
  rounds: number;
  /** How long each contender runs per round, ms. */
  windowMs: number;
  /** Warm-up per contender before the first round, ms. */
  warmupMs: number;
  /**
   * Untimed run of a contender before each of its windows, ms (a quarter of the window's
   * operations for a scenario with `opsPerWindow`).
   */
  leadInMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/**
 * Runs `op` from `concurrency` workers for `windowMs` (or exactly `ops` operations); returns
 * ops/s and, at concurrency 1, latencies.
 */
async function window(
  op: (worker: number) => Promise<unknown>,
  concurrency: number,
  windowMs: number,
  latencies?: number[],
  ops?: number,
) {
  const end = performance.now() + windowMs;
  let done = 0;
  let issued = 0;
  const more = ops === undefined ? () => performance.now() < end : () => issued++ < ops;
  const worker = async (id: number) => {
    while (more()) {
      const t0 = latencies ? performance.now() : 0;
      await op(id);
      if (latencies) latencies.push(performance.now() - t0);
      done++;
    }
  };
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, (_, id) => worker(id)));
  const used = process.cpuUsage(cpu);
  return {
    rate: done / ((performance.now() - started) / 1000),
    cpuUsPerOp: (used.user + used.system) / done,
  };
}

/**
 * Measures every contender of a scenario in one process, interleaved: each round runs every
 * contender once, in a rotated order (A B C, B C A, C A B …), so drift on a noisy machine hits
 * all of them alike. Reports the median round, with min and max.
 */
export async function measure(
  scenario: Scenario,
  concurrency: number,
  settings: RunSettings,
): Promise<ScenarioResult> {
  const contenders = scenario.contenders;
  const ops = scenario.opsPerWindow;
  // Before each timed window the same contender runs untimed for a while: garbage the previous
  // contender left is collected there, not in this one's window, and the window measures the
  // heap in its steady state. (A forced full collection here instead, as this harness once did,
  // slowed the window after it by up to a third, and some contenders more than others.)
  const leadOps = ops === undefined ? undefined : Math.max(1, Math.ceil(ops / 4));
  const run = async (c: Contender, windowMs: number, latencies?: number[]) => {
    if (leadOps !== undefined && ops !== undefined) {
      await c.prepare?.(leadOps + ops);
      await window(c.op, concurrency, 0, undefined, leadOps);
    } else {
      await window(c.op, concurrency, settings.leadInMs);
    }
    return window(c.op, concurrency, windowMs, latencies, ops);
  };
  for (const c of contenders) await run(c, settings.warmupMs);
  const rounds = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const cpu = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const latencies = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < settings.rounds; r++) {
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(i + r) % contenders.length]!;
      const { rate, cpuUsPerOp } = await run(
        c,
        settings.windowMs,
        concurrency === 1 ? latencies.get(c.name) : undefined,
      );
      rounds.get(c.name)!.push(rate);
      cpu.get(c.name)!.push(cpuUsPerOp);
    }
  }
  const measurements: Measurement[] = contenders.map((c) => {
    const xs = rounds.get(c.name)!;
    const lat = latencies.get(c.name)!.sort((a, b) => a - b);
    return {
      contender: c.name,
      role: c.role,
      concurrency,
      rounds: xs.map((x) => Math.round(x)),
      median: median(xs),
      min: Math.min(...xs),
      max: Math.max(...xs),
      ...(lat.length > 0 ? { p50: percentile(lat, 0.5), p99: percentile(lat, 0.99) } : {}),
      cpuUsPerOp: median(cpu.get(c.name)!),
    };
  });
  const porter = measurements.filter((m) => m.role === "porter");
  const ratios = porter.flatMap((p) =>
    measurements
      .filter((m) => m.role !== "porter")
      .map((m) => ({ porter: p.contender, versus: m.contender, role: m.role, ratio: p.median / m.median })),
  );
  return {
    scenario: scenario.name,
    engine: scenario.engine,
    concurrency,
    measurements,
    ratios,
    notes: scenario.notes ?? [],
  };
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(n >= 10 ? 1 : 2));

/** The results as a markdown table: one row per contender, ratios against the Porter contender. */
export function toMarkdown(results: ScenarioResult[]): string {
  const lines = [
    "| engine | scenario | conc. | contender | ops/s (median) | min–max | p50 / p99 ms | CPU µs/op | Porter ÷ this |",
    "|---|---|---:|---|---:|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    for (const m of r.measurements) {
      const ratio = r.ratios.find((x) => x.versus === m.contender);
      const lat = m.p50 !== undefined ? `${m.p50.toFixed(3)} / ${m.p99!.toFixed(3)}` : "";
      lines.push(
        `| ${r.engine} | ${r.scenario} | ${m.concurrency} | ${m.role === "porter" ? `**${m.contender}**` : m.contender} | ${fmt(m.median)} | ${fmt(m.min)}–${fmt(m.max)} | ${lat} | ${m.cpuUsPerOp.toFixed(0)} | ${ratio ? `${ratio.ratio.toFixed(2)}×` : ""} |`,
      );
    }
  }
  return lines.join("\n");
}

/** A result that is not a throughput table: round trips counted, a cleanup timed, lag measured. */
export interface Finding {
  /** The plan item that produced it, e.g. "roundtrips". */
  readonly key: string;
  readonly title: string;
  /** A markdown table, header included. */
  readonly table: string;
  /** Named figures the targets read, e.g. `redis.porter` = round trips per request. */
  readonly metrics: Record<string, number>;
  readonly notes: readonly string[];
}

export function findingMarkdown(f: Finding): string {
  const notes = f.notes.map((n) => `- ${n}`).join("\n");
  return [`## ${f.title}`, f.table, ...(notes === "" ? [] : [notes])].join("\n\n");
}

/** A markdown table from a header and rows. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
