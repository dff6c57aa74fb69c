import { jsonCodec } from "@porter/core";
import type { Driver } from "../drivers.js";
import type { Contender, Scenario, ScenarioResult } from "../harness.js";
import { sessionData } from "../session-data.js";

/** The raw driver doing the least a store must: the same bytes, the fewest round trips. */
export interface Bound {
  /** e.g. "raw ioredis" */
  readonly name: string;
  /** What `loadSave` and `loadOnly` send, e.g. "GET + SET" and "GET". */
  readonly saveOps: string;
  readonly readOps: string;
  /** Stores one visitor's bytes under a fresh key; resolves the key. */
  seed(visitor: number, bytes: string): Promise<string>;
  /** One read and one write of the same bytes (2 round trips). */
  loadSave(key: string): Promise<void>;
  /** One read (1 round trip). */
  loadOnly(key: string): Promise<void>;
}

export interface StoreSuite {
  /** e.g. "redis" */
  readonly engine: string;
  readonly porterName: string;
  readonly porter: Driver;
  /**
   * Porter in a second configuration, measured beside the first in the load+save and
   * load-only scenarios (the targets are read from the first).
   */
  readonly porterAlt?: { readonly name: string; readonly driver: Driver };
  readonly peerName: string;
  readonly peer: Driver;
  readonly bound?: Bound;
  /** Operations per window of the destroy scenario (each consumes a session made beforehand). */
  readonly destroyOps: number;
  /**
   * For a backend too slow to fill a timed window with enough operations (dynalite): every
   * scenario runs this many operations per window instead.
   */
  readonly opsPerWindow?: (concurrency: number) => number;
}

export type Measure = (scenario: Scenario, concurrency: number) => Promise<ScenarioResult>;

export const VISITORS = 64;

async function visitors(create: (visitor: number) => Promise<string>): Promise<string[]> {
  return Promise.all(Array.from({ length: VISITORS }, (_, v) => create(v)));
}

/** Makes `n` sessions with `driver`, at most 64 at a time; resolves their refs. */
async function makeMany(driver: Driver, n: number): Promise<string[]> {
  const refs: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const v = next++;
      refs.push(await driver.create(sessionData(v)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(VISITORS, n) }, worker));
  return refs;
}

/**
 * The request shapes every store is measured on, Porter against the peer (and the raw bound
 * where there is one): load+save at concurrency 1 (latency) and 64 (throughput), load-only,
 * create and destroy at 64. Each worker is its own visitor.
 */
export async function runStoreSuite(suite: StoreSuite, measure: Measure): Promise<void> {
  const { engine, porter, peer, bound } = suite;
  const fixed = (concurrency: number) =>
    suite.opsPerWindow === undefined ? {} : { opsPerWindow: suite.opsPerWindow(concurrency) };
  const porterRefs = await visitors((v) => porter.create(sessionData(v)));
  const alt = suite.porterAlt;
  const altRefs = alt ? await visitors((v) => alt.driver.create(sessionData(v))) : [];
  const peerRefs = await visitors((v) => peer.create(sessionData(v)));
  const codec = jsonCodec();
  const boundRefs = bound ? await visitors((v) => bound.seed(v, codec.encode(sessionData(v)))) : [];
  const counters = new Array<number>(VISITORS).fill(0);
  const bump = (w: number) => ++counters[w]!;

  const loadSave: Contender[] = [
    { name: suite.porterName, role: "porter", op: (w) => porter.loadSave(porterRefs[w]!, bump(w)) },
    { name: suite.peerName, role: "peer", op: (w) => peer.loadSave(peerRefs[w]!, bump(w)) },
  ];
  if (alt)
    loadSave.splice(1, 0, {
      name: alt.name,
      role: "porter",
      op: (w) => alt.driver.loadSave(altRefs[w]!, bump(w)),
    });
  if (bound)
    loadSave.push({
      name: `${bound.name} ${bound.saveOps}`,
      role: "bound",
      op: (w) => bound.loadSave(boundRefs[w]!),
    });
  await measure({ name: "load+save", engine, contenders: loadSave, ...fixed(1) }, 1);
  await measure({ name: "load+save", engine, contenders: loadSave, ...fixed(VISITORS) }, VISITORS);

  const loadOnly: Contender[] = [
    { name: suite.porterName, role: "porter", op: (w) => porter.loadOnly(porterRefs[w]!) },
    { name: suite.peerName, role: "peer", op: (w) => peer.loadOnly(peerRefs[w]!) },
  ];
  if (alt)
    loadOnly.splice(1, 0, { name: alt.name, role: "porter", op: (w) => alt.driver.loadOnly(altRefs[w]!) });
  if (bound)
    loadOnly.push({
      name: `${bound.name} ${bound.readOps}`,
      role: "bound",
      op: (w) => bound.loadOnly(boundRefs[w]!),
    });
  await measure({ name: "load only", engine, contenders: loadOnly, ...fixed(VISITORS) }, VISITORS);

  await measure(
    {
      name: "create",
      engine,
      ...fixed(VISITORS),
      contenders: [
        { name: suite.porterName, role: "porter", op: (w) => porter.create(sessionData(w)) },
        { name: suite.peerName, role: "peer", op: (w) => peer.create(sessionData(w)) },
      ],
    },
    VISITORS,
  );

  const consumable = (driver: Driver): Pick<Contender, "op" | "prepare"> => {
    let refs: string[] = [];
    return {
      async prepare(ops) {
        refs = await makeMany(driver, ops);
      },
      op() {
        const ref = refs.pop();
        if (ref === undefined) throw new Error("destroy: no prepared session left");
        return driver.destroy(ref);
      },
    };
  };
  await measure(
    {
      name: "destroy",
      engine,
      opsPerWindow: suite.destroyOps,
      contenders: [
        { name: suite.porterName, role: "porter", ...consumable(porter) },
        { name: suite.peerName, role: "peer", ...consumable(peer) },
      ],
    },
    VISITORS,
  );
}
