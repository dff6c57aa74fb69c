import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { type Finding, table } from "../harness.js";
import { RUN_ID } from "../session-data.js";
import { createPeerTable, DATABASE_URL, dropSchema, PG_SCHEMA, pgPool } from "./postgres.js";
import { cleanRedis, REDIS_PREFIX, REDIS_URL } from "./redis.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const BENCH = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLE = join(REPO, "apps/example");
const SECRET = `bench-app-secret-${RUN_ID}-0123456789abcdef`;
const USERNAME = "bench-alice";
const PASSWORD = "correct horse battery staple";
const CONNECTIONS = 16;

/** Runs a command to completion; rejects with its output when it fails or passes `timeoutMs`. */
function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
) {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}: ${out.slice(-800)}`));
    });
  });
}

interface Server {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts a server process and waits (15 s at most) for the line that names its URL. */
async function start(args: string[], cwd: string, env: NodeJS.ProcessEnv, pattern: RegExp): Promise<Server> {
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start within 15 s: ${log.slice(-800)}`)),
      15_000,
    );
    const onData = (d: Buffer) => {
      log += d;
      const found = pattern.exec(log);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Buffer) => (log += d));
    child.once("exit", (code) => reject(new Error(`server exited with ${code}: ${log.slice(-800)}`)));
  });
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A cookie jar of one: the `name=value` pairs a response sets, kept for the next request. */
class Jar {
  private readonly cookies = new Map<string, string>();
  take(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === "" || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  get header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

/** Logs in through the login form, as a browser would; resolves the Cookie header of the session. */
async function logIn(url: string): Promise<string> {
  const jar = new Jar();
  const form = await fetch(`${url}/login`, { redirect: "manual" });
  jar.take(form);
  const token = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(await form.text())?.[1];
  if (token === undefined) throw new Error(`app: no CSRF token on ${url}/login`);
  const posted = await fetch(`${url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar.header, origin: url },
    body: new URLSearchParams({
      username: USERNAME,
      password: PASSWORD,
      csrfmiddlewaretoken: token,
      next: "/",
    }),
  });
  jar.take(posted);
  if (posted.status !== 303) throw new Error(`app: login at ${url} answered ${posted.status}`);
  // The page after the login shows (and so consumes) the welcome message.
  jar.take(await fetch(`${url}/`, { headers: { cookie: jar.header }, redirect: "manual" }));
  const notes = await fetch(`${url}/notes`, { headers: { cookie: jar.header }, redirect: "manual" });
  jar.take(notes);
  if (notes.status !== 200) throw new Error(`app: /notes at ${url} answered ${notes.status} after login`);
  return jar.header;
}

/** An anonymous visitor who has a session (the home page counts visits in it). */
async function visitor(url: string): Promise<string> {
  const jar = new Jar();
  jar.take(await fetch(`${url}/`, { redirect: "manual" }));
  if (!jar.header.includes("sessionid=")) throw new Error(`app: GET ${url}/ gave no session`);
  return jar.header;
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  bad: number;
}

/**
 * One connection per cookie, all at once for `seconds`: each connection is one visitor
 * (autocannon sends one set of headers per instance, so each visitor is an instance).
 */
async function load(url: string, cookies: readonly string[], seconds: number): Promise<Load> {
  const runs = await Promise.all(
    cookies.map((cookie) =>
      autocannon({ url, connections: 1, duration: seconds, timeout: 10, headers: { cookie } }),
    ),
  );
  const p50s = runs.map((r) => r.latency.p50).sort((a, b) => a - b);
  return {
    rps: runs.reduce((s, r) => s + r.requests.average, 0),
    p50: p50s[p50s.length >> 1]!,
    p99: Math.max(...runs.map((r) => r.latency.p99)),
    bad: runs.reduce((s, r) => s + r.errors + r.timeouts + r.non2xx, 0),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * The example app under load, against the same routes on express-session with connect-redis /
 * connect-pg-simple (`src/peer-app.ts`): each app in its own process, logged in once through
 * its login form, then autocannon (loopback, 16 connections, bounded in time) on a read-only
 * logged-in page (`GET /notes`: the user, their permissions, the page) and on the home page
 * for anonymous visitors (`GET /`, which counts visits in the session: a write on every request).
 */
export async function appUnderLoad(
  rounds: number,
  seconds: number,
  routes: readonly ("/notes" | "/")[] = ["/notes", "/"],
): Promise<Finding> {
  await run(
    "pnpm",
    ["exec", "turbo", "run", "build", "--filter=@porter/example...", "--output-logs=errors-only"],
    {
      cwd: REPO,
      timeoutMs: 300_000,
    },
  );
  const dataDir = mkdtempSync(join(tmpdir(), `porter-bench-app-${RUN_ID}-`));
  const rows: (string | number)[][] = [];
  const metrics: Record<string, number> = {};
  const notes: string[] = [];
  try {
    const base: NodeJS.ProcessEnv = {
      PORTER_SECRET: SECRET,
      PORTER_DATA_DIR: dataDir,
      PORTER_USERS: "file",
      REDIS_URL,
      DATABASE_URL,
      PORTER_REDIS_PREFIX: `${REDIS_PREFIX}app:`,
      PORTER_PG_SCHEMA: PG_SCHEMA,
      HOST: "127.0.0.1",
      PORT: "0",
    };
    const cli = (args: string[], env: NodeJS.ProcessEnv) =>
      run(process.execPath, [join(EXAMPLE, "dist/cli.js"), ...args], {
        cwd: EXAMPLE,
        env,
        timeoutMs: 60_000,
      });
    await cli(["migrate"], { ...base, PORTER_SESSIONS: "postgres" });
    await cli(["createuser", USERNAME, "--group", "readers"], { ...base, PORTER_PASSWORD: PASSWORD });
    const setup = pgPool(1);
    try {
      await createPeerTable(setup);
    } finally {
      await setup.end();
    }

    for (const store of ["redis", "postgres"] as const) {
      const example = await start(
        [join(EXAMPLE, "dist/server.js")],
        EXAMPLE,
        { ...base, PORTER_SESSIONS: store },
        /listening on (http:\/\/\S+)/,
      );
      const peer = await start(
        ["--import", "tsx", join(BENCH, "src/peer-app.ts")],
        BENCH,
        {
          PEER_STORE: store,
          PEER_USERS: join(dataDir, "users.json"),
          PEER_SECRET: SECRET,
          PEER_REDIS_PREFIX: `${REDIS_PREFIX}peerapp:`,
          PEER_PG_SCHEMA: PG_SCHEMA,
          REDIS_URL,
          DATABASE_URL,
        },
        /listening on (http:\/\/\S+)/,
      );
      try {
        // GET /notes: one logged-in user on every connection (the page writes nothing, so
        // sharing one session changes nothing). GET /: a visitor of its own per connection,
        // since every request writes the session.
        const session = async (url: string) => {
          const loggedIn = await logIn(url);
          const anonymous = await Promise.all(Array.from({ length: CONNECTIONS }, () => visitor(url)));
          return { "/notes": new Array<string>(CONNECTIONS).fill(loggedIn), "/": anonymous };
        };
        const apps = [
          { name: "porter example app", url: example.url, cookies: await session(example.url) },
          { name: "express-session app", url: peer.url, cookies: await session(peer.url) },
        ];
        for (const route of routes) {
          const results = new Map<string, Load[]>(apps.map((a) => [a.name, []]));
          for (const a of apps) await load(`${a.url}${route}`, a.cookies[route], Math.min(1, seconds));
          for (let r = 0; r < rounds; r++) {
            for (let i = 0; i < apps.length; i++) {
              const a = apps[(i + r) % apps.length]!;
              results.get(a.name)!.push(await load(`${a.url}${route}`, a.cookies[route], seconds));
            }
          }
          const rps = (name: string) => median(results.get(name)!.map((x) => x.rps));
          const ratio = rps(apps[0]!.name) / rps(apps[1]!.name);
          for (const a of apps) {
            const xs = results.get(a.name)!;
            const bad = xs.reduce((s, x) => s + x.bad, 0);
            if (bad > 0)
              notes.push(`${store} ${route} ${a.name}: ${bad} errors, timeouts or non-2xx answers`);
            rows.push([
              store,
              `GET ${route}`,
              a === apps[0] ? `**${a.name}**` : a.name,
              Math.round(rps(a.name)).toLocaleString("en-US"),
              `${median(xs.map((x) => x.p50))} / ${median(xs.map((x) => x.p99))}`,
              a === apps[0] ? "" : `${ratio.toFixed(2)}×`,
            ]);
          }
          metrics[`${store}${route === "/" ? ".home" : ""}.ratio`] = ratio;
        }
      } finally {
        await Promise.allSettled([example.stop(), peer.stop()]);
      }
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await cleanRedis();
    await dropSchema();
  }
  notes.unshift(
    `autocannon in the benchmark's process, ${CONNECTIONS} connections (one visitor each), ${rounds} interleaved round(s) of ${seconds} s per app and route after a warm-up of ${Math.min(1, seconds)} s; the median round. GET /notes: a logged-in user (logged in once through the login form, the same session on every connection: the page writes nothing); GET /: ${CONNECTIONS} anonymous visitors with a session each (the page counts visits in it: a write on every request). Both apps keep users in the same file user store (\`@porter/file\`), each app in its own process.`,
    "The example app does more per request than the express-session app: it checks the session-auth hash (an HMAC of the password hash) on every request, loads its messages (a signed cookie), and sends Vary: Cookie. The target reads GET /notes, a logged-in page that does not change the session.",
  );
  return {
    key: "app",
    title: "The example app under load",
    table: table(["store", "route", "app", "requests/s (median)", "p50 / p99 ms", "example ÷ this"], rows),
    metrics,
    notes,
  };
}
