import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MessageBackendName } from "../src/config.js";
import { type RunningApp, startApp } from "../src/listen.js";
import { HttpClient, tempDir, testConfig } from "./helpers.js";

const data = tempDir();
let app: RunningApp;

beforeAll(async () => {
  app = await startApp(testConfig({ PORTER_DATA_DIR: data.path }), { log: () => {} });
  const setup = new HttpClient(app.url);
  for (const [username, reader] of [
    ["reader", "1"],
    ["plain", "0"],
  ] as const) {
    const created = await setup.submit("/register", "/register", {
      username,
      password: "long enough 1",
      password2: "long enough 1",
      reader,
    });
    expect(created.status).toBe(303);
  }
});

afterAll(async () => {
  await app?.close();
  data.remove();
});

async function loggedIn(username: string): Promise<HttpClient> {
  const client = new HttpClient(app.url);
  const response = await client.submit("/login", "/login", { username, password: "long enough 1" });
  expect(response.status).toBe(303);
  return client;
}

const token = (text: string) => /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(text)?.[1];

describe("pages", () => {
  it("sends security headers, no-store and Vary: Cookie", async () => {
    const response = await new HttpClient(app.url).get("/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("vary")).toMatch(/Cookie/);
    expect(response.headers.get("x-powered-by")).toBeNull();
  });

  it("sets the session cookie HttpOnly, SameSite=Lax, not Secure over plain-HTTP development", async () => {
    const response = await new HttpClient(app.url).get("/");
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith("sessionid="))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i);
  });

  it("serves the stylesheet without touching the session", async () => {
    const response = await new HttpClient(app.url).get("/style.css");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/css/);
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it("answers an unknown path with a 404 page", async () => {
    const response = await new HttpClient(app.url).get("/nowhere");
    expect(response.status).toBe(404);
    expect(response.text).toContain("There is no page here.");
  });
});

describe("CSRF", () => {
  it("refuses a POST without this session's token", async () => {
    const client = new HttpClient(app.url);
    await client.get("/login");
    const missing = await client.request("/login", {
      form: { username: "reader", password: "long enough 1" },
    });
    expect(missing.status).toBe(403);
    const wrong = await client.request("/login", {
      form: { username: "reader", password: "long enough 1", csrfmiddlewaretoken: "x".repeat(32) },
    });
    expect(wrong.status).toBe(403);
    expect(wrong.text).toContain("CSRF verification failed");
    expect(client.cookies.has("sessionid")).toBe(true);
    expect((await client.get("/")).text).toContain("You are anonymous");
  });

  it("refuses a cross-origin POST even with the token", async () => {
    const client = new HttpClient(app.url);
    const form = await client.get("/login");
    const response = await client.request("/login", {
      form: { username: "reader", password: "long enough 1", csrfmiddlewaretoken: token(form.text)! },
      headers: { origin: "https://evil.example" },
    });
    expect(response.status).toBe(403);
  });

  it("rotates the token at login", async () => {
    const client = new HttpClient(app.url);
    const before = token((await client.get("/login")).text)!;
    const login = await client.request("/login", {
      form: { username: "reader", password: "long enough 1", csrfmiddlewaretoken: before },
    });
    expect(login.status).toBe(303);
    const after = token((await client.get("/password")).text)!;
    expect(after).not.toBe(before);
    const stale = await client.request("/logout", { form: { csrfmiddlewaretoken: before } });
    expect(stale.status).toBe(403);
  });
});

describe("login", () => {
  it("follows a local next and refuses an open redirect", async () => {
    const client = new HttpClient(app.url);
    const local = await client.submit("/login", "/login", {
      username: "reader",
      password: "long enough 1",
      next: "/notes",
    });
    expect(local.headers.get("location")).toBe("/notes");
    for (const next of ["//evil.example/", "/\\evil.example", "https://evil.example/"]) {
      const client2 = new HttpClient(app.url);
      const response = await client2.submit("/login", "/login", {
        username: "reader",
        password: "long enough 1",
        next,
      });
      expect(response.headers.get("location")).toBe("/");
    }
  });

  it("says so for a wrong password, and logs nobody in", async () => {
    const client = new HttpClient(app.url);
    const response = await client.submit("/login", "/login", {
      username: "reader",
      password: "wrong password",
    });
    expect(response.status).toBe(200);
    expect(response.text).toContain('<li class="error">Please enter a correct username and password.</li>');
    expect((await client.get("/")).text).toContain("You are anonymous");
  });
});

describe("register", () => {
  it("refuses mismatched or weak passwords, taken and invalid usernames, and escapes what it echoes", async () => {
    const client = new HttpClient(app.url);
    const cases: [Record<string, string>, string][] = [
      [
        { username: "carol", password: "long enough 1", password2: "long enough 2" },
        "The two passwords do not match.",
      ],
      [{ username: "carol", password: "short", password2: "short" }, "at least 8 characters"],
      [
        { username: "reader", password: "long enough 1", password2: "long enough 1" },
        "That username is taken.",
      ],
      [
        { username: "<b>x</b>", password: "long enough 1", password2: "long enough 1" },
        "Usernames may contain only",
      ],
    ];
    for (const [form, problem] of cases) {
      const response = await client.submit("/register", "/register", form);
      expect(response.status).toBe(200);
      expect(response.text).toContain(problem);
    }
    const echoed = await client.submit("/register", "/register", {
      username: '"><script>alert(1)</script>',
      password: "long enough 1",
      password2: "long enough 1",
    });
    expect(echoed.text).not.toContain("<script>alert(1)</script>");
    expect(echoed.text).toContain("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
  });
});

describe("permissions", () => {
  it("sends the anonymous to log in, refuses a user without notes.view, admits a reader", async () => {
    const anonymous = await new HttpClient(app.url).get("/notes");
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get("location")).toBe("/login?next=/notes");
    const plain = await (await loggedIn("plain")).get("/notes");
    expect(plain.status).toBe(403);
    expect(plain.text).toContain("notes.view");
    const reader = await (await loggedIn("reader")).get("/notes");
    expect(reader.status).toBe(200);
    expect(reader.text).toContain('id="notes"');
  });
});

describe("change password", () => {
  it("refuses a wrong current password", async () => {
    const client = await loggedIn("plain");
    const response = await client.submit("/password", "/password", {
      old_password: "not it at all",
      new_password1: "brand new one 2",
      new_password2: "brand new one 2",
    });
    expect(response.status).toBe(200);
    expect(response.text).toContain("Your current password was entered incorrectly.");
  });
});

describe.each<MessageBackendName>(["cookie", "session", "fallback"])("PORTER_MESSAGES=%s", (messages) => {
  const dir = tempDir();
  let instance: RunningApp;
  beforeAll(async () => {
    instance = await startApp(testConfig({ PORTER_DATA_DIR: dir.path, PORTER_MESSAGES: messages }));
  });
  afterAll(async () => {
    await instance?.close();
    dir.remove();
  });

  it("carries a message to the next page, once", async () => {
    const client = new HttpClient(instance.url);
    const response = await client.submit("/register", "/register", {
      username: "dave",
      password: "long enough 1",
      password2: "long enough 1",
    });
    expect(response.status).toBe(303);
    expect(client.cookies.has("messages")).toBe(messages !== "session");
    const next = await client.get("/login");
    expect(next.text).toContain(
      '<li class="success">Account dave created. Log in with your new password.</li>',
    );
    expect((await client.get("/login")).text).not.toContain("Account dave created");
  });
});

describe("a session store that cannot be reached", () => {
  const dir = tempDir();
  let instance: RunningApp;
  beforeAll(async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", () => resolve()));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    instance = await startApp(
      testConfig({
        PORTER_DATA_DIR: dir.path,
        PORTER_SESSIONS: "redis",
        REDIS_URL: `redis://127.0.0.1:${port}`,
      }),
      { log: () => {} },
    );
  });
  afterAll(async () => {
    await instance?.close();
    dir.remove();
  });

  it("answers 503 with a page, not a crash or a hang", async () => {
    const client = new HttpClient(instance.url);
    client.cookies.set("sessionid", "a".repeat(32));
    const started = Date.now();
    const response = await client.get("/");
    expect(response.status).toBe(503);
    expect(response.text).toContain("A backend could not be reached.");
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
