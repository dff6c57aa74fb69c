import { afterAll, describe, expect, it } from "vitest";
import type { SessionBackendName, UserBackendName } from "../src/config.js";
import { type RunningApp, startApp } from "../src/listen.js";
import {
  dropNamespace,
  HttpClient,
  migrate,
  namespace,
  namespaceEnv,
  tempDir,
  testConfig,
} from "./helpers.js";

/**
 * Two app instances, each with its own app object and its own store clients, on one shared
 * server: a login through one is a login at the other, and a logout through either ends it.
 */
const CASES: readonly { sessions: SessionBackendName; users: UserBackendName }[] = [
  { sessions: "redis", users: "file" },
  { sessions: "postgres", users: "postgres" },
];

describe.each(CASES)("two app instances on one $sessions server (users: $users)", ({ sessions, users }) => {
  const ns = namespace();
  const data = tempDir();
  const apps: RunningApp[] = [];

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await dropNamespace(ns);
    data.remove();
  });

  it("shares logins, counters and logouts between the instances", async () => {
    const env = {
      PORTER_DATA_DIR: data.path,
      PORTER_SESSIONS: sessions,
      PORTER_USERS: users,
      ...namespaceEnv(ns),
    };
    await migrate(testConfig(env));
    const [one, two] = await Promise.all([startApp(testConfig(env)), startApp(testConfig(env))]);
    apps.push(one!, two!);
    expect(one!.backends).not.toBe(two!.backends);
    expect(one!.url).not.toBe(two!.url);

    const browser = new HttpClient(one!.url);
    const registered = await browser.submit("/register", "/register", {
      username: "bob",
      password: "pass word 99",
      password2: "pass word 99",
      reader: "1",
    });
    expect(registered.status).toBe(303);
    const login = await browser.submit("/login", "/login", { username: "bob", password: "pass word 99" });
    expect(login.status).toBe(303);
    const home = await browser.get("/");
    expect(home.text).toContain('<dd id="username">bob</dd>');
    const visits = Number(/id="visits">(\d+)</.exec(home.text)?.[1]);

    // The same cookies, sent to the other instance.
    browser.base = two!.url;
    const there = await browser.get("/");
    expect(there.status).toBe(200);
    expect(there.text).toContain('<dd id="username">bob</dd>');
    expect(there.text).toContain(`id="visits">${visits + 1}<`);
    expect((await browser.get("/notes")).status).toBe(200);

    const session = browser.cookies.get("sessionid");
    const out = await browser.submit("/", "/logout", {});
    expect(out.status).toBe(200);
    expect(browser.cookies.has("sessionid")).toBe(false);

    // The old cookie is dead at the first instance too.
    const replay = new HttpClient(one!.url);
    replay.cookies.set("sessionid", session!);
    expect((await replay.get("/")).text).toContain("You are anonymous");
  });
});
