#!/usr/bin/env node
// Checks, in a few seconds at most, that what the test suites talk to is here, and says how
// to get what is missing. It never waits for a service to appear.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";

const TIMEOUT_MS = 2000;

function probe(host, port, send, expect) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let buffer = "";
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(TIMEOUT_MS, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => {
      if (send === null) done(true);
      else socket.write(send);
    });
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      if (expect.test(buffer)) done(true);
    });
  });
}

function urlPort(envName, fallbackHost, fallbackPort) {
  const raw = process.env[envName];
  if (!raw) return { host: fallbackHost, port: fallbackPort };
  const url = new URL(raw);
  return { host: url.hostname, port: Number(url.port || fallbackPort) };
}

const problems = [];
const redis = urlPort("REDIS_URL", "127.0.0.1", 6379);
if (!(await probe(redis.host, redis.port, "PING\r\n", /\+PONG/))) {
  problems.push(
    `Redis is not answering at ${redis.host}:${redis.port}. Start it with:\n` +
      `    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no`,
  );
}
const pg = urlPort("DATABASE_URL", "127.0.0.1", 5432);
if (!(await probe(pg.host, pg.port, null, /./))) {
  problems.push(
    `PostgreSQL is not accepting connections at ${pg.host}:${pg.port}. Start it with:\n` +
      "    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
  );
}
function python(code) {
  try {
    execFileSync("/usr/bin/python3", ["-c", code], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
if (!python("import django, psycopg2")) {
  problems.push(
    "Django (for the live interop tests) is missing. Install Debian's packages:\n" +
      "    apt-get update && apt-get install -y python3-django python3-psycopg2",
  );
}
if (!existsSync("/usr/bin/chromium")) {
  problems.push(
    "Chromium (for the browser tests) is missing. Install Debian's package:\n" +
      "    apt-get update && apt-get install -y chromium",
  );
}
if (!process.env.MONGODB_URL) {
  console.warn(
    "note: MONGODB_URL is not set, so the MongoDB store's conformance suite will report itself skipped " +
      "(no MongoDB server can be installed on these machines).",
  );
}
if (problems.length > 0) {
  console.error(
    `The test suites need these before they can run:\n\n${problems.map((p) => `- ${p}`).join("\n\n")}\n`,
  );
  process.exit(1);
}
