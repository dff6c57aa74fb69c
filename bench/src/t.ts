import { performance } from "node:perf_hooks";
import { createMemorySessionStore, createSessionEngine } from "@porter/core";

const engine = createSessionEngine({ store: createMemorySessionStore(), cookie: { secure: false } });
const s0 = await engine.load(undefined);
s0.update({ user: "alice", role: "admin", theme: "dark", hits: 0 });
const { key } = await engine.commit(s0);
const header = `sessionid=${key}`;
for (let round = 0; round < 2; round++) {
  const lat: number[] = [];
  const t = performance.now();
  for (let i = 0; i < 20000; i++) {
    const t0 = performance.now();
    const s = await engine.loadFromHeader(header);
    s.get("user");
    s.get("role");
    s.get("theme");
    s.set("hits", (s.get<number>("hits") ?? 0) + 1);
    await engine.commit(s, { status: 200 });
    lat.push(performance.now() - t0);
  }
  const total = performance.now() - t;
  lat.sort((a, b) => a - b);
  console.log(
    (total / 20000).toFixed(4),
    "ms/op",
    "p50",
    lat[10000]!.toFixed(4),
    "p99",
    lat[19800]!.toFixed(4),
    "max",
    lat[19999]!.toFixed(2),
  );
}
