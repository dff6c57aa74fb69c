import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import {
  authenticate,
  createMemorySessionStore,
  createMemoryUserStore,
  createPasswordBackend,
  createSessionEngine,
  DEFAULT_PBKDF2_ITERATIONS,
  getDefaultPasswordHashers,
  login,
  makePassword,
} from "@porter/core";
import { type Finding, table } from "../harness.js";
import { sessionData } from "../session-data.js";

const SECRET = "bench-login-secret-bench-login-secret!!";
const PASSWORD = "correct horse battery staple";
const RESOLUTION_MS = 5;

/**
 * Logins under load: `logins` concurrent logins at the default hash cost (PBKDF2-SHA256,
 * 1 000 000 iterations: `authenticate` with the password backend, `login`, `commit`), while
 * the event loop's lag is sampled (`monitorEventLoopDelay`) and other visitors' requests
 * (load + commit on the memory store) keep coming, one after another, and are timed.
 */
export async function loginUnderLoad(logins: number): Promise<Finding> {
  const users = createMemoryUserStore();
  const passwordHash = await makePassword(PASSWORD);
  if (!passwordHash.startsWith(`pbkdf2_sha256$${DEFAULT_PBKDF2_ITERATIONS}$`))
    throw new Error(`login: the default hash is not PBKDF2 at ${DEFAULT_PBKDF2_ITERATIONS} iterations`);
  await users.create({ username: "alice", passwordHash });
  const backend = createPasswordBackend({ users });
  const engine = createSessionEngine({ store: createMemorySessionStore(), cookie: { secure: false } });
  const visitor = await engine.load(undefined);
  visitor.update(sessionData(2));
  const { key: visitorKey } = await engine.commit(visitor);

  // The histogram holds the time between samples; the lag is that minus the sampling interval.
  const lag = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const idle = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  idle.enable();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  idle.disable();
  let done = false;
  const otherLatencies: number[] = [];
  const others = (async () => {
    while (!done) {
      const t0 = performance.now();
      const s = await engine.load(visitorKey ?? undefined);
      s.get("_auth_user_id");
      await engine.commit(s);
      otherLatencies.push(performance.now() - t0);
      // One request per millisecond at most: other traffic, not a busy loop competing for the CPU.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  })();

  const started = performance.now();
  lag.enable();
  const durations = await Promise.all(
    Array.from({ length: logins }, async () => {
      const t0 = performance.now();
      const s = await engine.load(undefined);
      const found = await authenticate([backend], { username: "alice", password: PASSWORD });
      if (found === null) throw new Error("login: the password was refused");
      await login(s, found.user, found.backend, { secret: SECRET });
      const { key } = await engine.commit(s);
      if (key === null) throw new Error("login: no session was created");
      return performance.now() - t0;
    }),
  );
  lag.disable();
  const seconds = (performance.now() - started) / 1000;
  done = true;
  await others;

  const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  otherLatencies.sort((a, b) => a - b);
  durations.sort((a, b) => a - b);
  const p99 = ms(lag.percentile(99));
  const concurrency = getDefaultPasswordHashers().limiter.concurrency;
  return {
    key: "login",
    title: `Login under load: ${logins} concurrent logins at ${DEFAULT_PBKDF2_ITERATIONS.toLocaleString("en-US")} PBKDF2 iterations`,
    table: table(
      [
        "event-loop lag p50 ms",
        "p99 ms",
        "max ms",
        "idle p99 ms",
        "logins/s",
        "slowest login s",
        "other requests",
        "their p99 ms",
        "their max ms",
      ],
      [
        [
          ms(lag.percentile(50)).toFixed(1),
          p99.toFixed(1),
          ms(lag.max).toFixed(1),
          ms(idle.percentile(99)).toFixed(1),
          (logins / seconds).toFixed(2),
          ((durations.at(-1) ?? 0) / 1000).toFixed(1),
          otherLatencies.length,
          (otherLatencies[Math.floor(otherLatencies.length * 0.99)] ?? 0).toFixed(1),
          (otherLatencies.at(-1) ?? 0).toFixed(1),
        ],
      ],
    ),
    metrics: {
      lagP99Ms: p99,
      lagMaxMs: ms(lag.max),
      idleP99Ms: ms(idle.percentile(99)),
      loginsPerSecond: logins / seconds,
    },
    notes: [
      `Hashes run on libuv's thread pool through core's hash limiter (${concurrency} at a time on this machine), never on the event loop; the lag (time between samples, minus the ${RESOLUTION_MS} ms sampling interval) is sampled while the logins run; "idle p99" is the same process doing nothing for 1 s just before, the floor this machine gives.`,
    ],
  };
}
