import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page, type Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionBackendName } from "../src/config.js";
import { type RunningApp, startApp } from "../src/listen.js";
import {
  dropNamespace,
  migrate,
  namespace,
  namespaceEnv,
  startDynalite,
  tempDir,
  testConfig,
} from "./helpers.js";

// Runs in the page (the test's own lib has no DOM types).
declare const getComputedStyle: (element: unknown) => { backgroundColor: string };

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = fileURLToPath(new URL("../../../test-artifacts/", import.meta.url));

/** Every session store that can run on this machine (MongoDB cannot), each with the file user store. */
const STORES: readonly SessionBackendName[] = [
  "file",
  "cookie",
  "cookie-signed",
  "cookie-django",
  "redis",
  "postgres",
  "dynamo",
  "cached",
];

let browser: Browser;
let dynalite: Awaited<ReturnType<typeof startDynalite>>;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing; these tests drive Debian's Chromium. Install it with: sudo apt-get install -y chromium`,
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  [browser, dynalite] = await Promise.all([
    chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
      ],
    }),
    startDynalite(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await dynalite?.close();
});

/** Changes one letter or digit near the end, so a signature, a ciphertext or a key no longer matches. */
function tamper(value: string): string {
  for (let i = value.length - 2; i >= 0; i--) {
    const c = value[i]!;
    if (/[A-Za-z0-9]/.test(c)) return value.slice(0, i) + (c === "a" ? "b" : "a") + value.slice(i + 1);
  }
  throw new Error("nothing to tamper with");
}

async function cookie(context: BrowserContext, name: string): Promise<string | undefined> {
  return (await context.cookies()).find((c) => c.name === name)?.value;
}

async function submit(page: Page, url: string | RegExp): Promise<void> {
  await Promise.all([page.waitForURL(url), page.click("main button.primary")]);
}

async function logIn(page: Page, base: string, username: string, password: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill("#username", username);
  await page.fill("#password", password);
  await submit(page, `${base}/`);
}

/** The first non-empty value a response of `page` sets for cookie `name`. */
function catchCookie(page: Page, name: string): Promise<string> {
  return new Promise((resolve) => {
    const listener = async (response: Response) => {
      for (const { name: header, value } of await response.headersArray()) {
        const match =
          header.toLowerCase() === "set-cookie" ? new RegExp(`^${name}=([^;]+)`).exec(value) : null;
        if (match !== null && match[1] !== '""') {
          page.off("response", listener);
          resolve(match[1]!);
        }
      }
    };
    page.on("response", listener);
  });
}

/** A fresh browser sending an altered copy of a live cookie, then garbage, sees a normal anonymous page. */
async function expectTamperedCookiesIgnored(
  base: string,
  session: string,
  messagesValue: string,
): Promise<void> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const cases = [
      { name: "sessionid", value: tamper(session) },
      { name: "messages", value: tamper(messagesValue) },
      { name: "sessionid", value: "garbage" },
      { name: "messages", value: "garbage" },
    ];
    for (const { name, value } of cases) {
      await context.clearCookies();
      await context.addCookies([{ name, value, url: base }]);
      const response = await page.goto(`${base}/`);
      expect(response?.status(), `${name}=${value}`).toBe(200);
      expect(await page.textContent("#username")).toContain("You are anonymous");
      expect(await messages(page)).toEqual([]);
    }
  } finally {
    await context.close();
  }
}

const messages = (page: Page) =>
  page
    .locator("ul.messages li")
    .evaluateAll((items) => items.map((li) => ({ tags: li.className, text: li.textContent })));

const visits = async (page: Page) => Number(await page.textContent("#visits"));

describe.each(STORES)("in a real browser, %s sessions", (store) => {
  const ns = namespace();
  const data = tempDir();
  let app: RunningApp;
  let base: string;
  const username = `alice-${store}`;
  const password = "correct horse 1";

  beforeAll(async () => {
    const config = testConfig({
      PORTER_DATA_DIR: data.path,
      PORTER_SESSIONS: store,
      DYNAMODB_ENDPOINT: dynalite.endpoint,
      ...namespaceEnv(ns),
    });
    await migrate(config);
    app = await startApp(config, { log: () => {} });
    base = app.url;
  });

  afterAll(async () => {
    await app?.close();
    if (store === "redis" || store === "postgres" || store === "cached") await dropNamespace(ns);
    data.remove();
  });

  it("register, log in, a message once, a counter, a second browser, a password change, tampered cookies, log out", async () => {
    const first = await browser.newContext();
    const second = await browser.newContext();
    try {
      const page = await first.newPage();
      await page.goto(`${base}/register`);
      await page.fill("#username", username);
      await page.fill("#password", password);
      await page.fill("#password2", password);
      await submit(page, `${base}/login`);
      expect(await messages(page)).toEqual([
        { tags: "success", text: `Account ${username} created. Log in with your new password.` },
      ]);
      const anonymousKey = await cookie(first, "sessionid");
      expect(anonymousKey).toBeDefined();

      await logIn(page, base, username, password);
      expect(await messages(page)).toEqual([
        { tags: "success", text: `Welcome, ${username}. You are logged in.` },
      ]);
      expect(await page.textContent("#username")).toBe(username);
      expect(await cookie(first, "sessionid")).not.toBe(anonymousKey);
      await page.screenshot({ path: `${ARTIFACTS}home-${store}.png`, fullPage: true });

      const counted = await visits(page);
      await page.reload();
      expect(await messages(page)).toEqual([]);
      expect(await visits(page)).toBe(counted + 1);
      await page.goto(`${base}/`);
      expect(await visits(page)).toBe(counted + 2);

      const other = await second.newPage();
      await logIn(other, base, username, password);
      expect(await other.textContent("#username")).toBe(username);
      await other.goto(`${base}/notes`);
      expect(await other.isVisible("#notes")).toBe(true);

      const before = await cookie(first, "sessionid");
      await page.goto(`${base}/password`);
      const messagesCookie = catchCookie(page, "messages");
      await page.fill("#old_password", password);
      await page.fill("#new_password1", "battery staple 2");
      await page.fill("#new_password2", "battery staple 2");
      await submit(page, `${base}/`);
      expect(await messages(page)).toEqual([
        { tags: "success", text: "Your password was changed. Your other sessions are logged out." },
      ]);
      expect(await page.textContent("#username")).toBe(username);
      expect(await cookie(first, "sessionid")).not.toBe(before);

      await other.goto(`${base}/`);
      expect(await other.textContent("#username")).toContain("You are anonymous");
      await page.reload();
      expect(await page.textContent("#username")).toBe(username);

      await expectTamperedCookiesIgnored(base, (await cookie(first, "sessionid"))!, await messagesCookie);

      await Promise.all([page.waitForURL(`${base}/logout`), page.click("header form button")]);
      expect(await page.isVisible("#logged-out")).toBe(true);
      expect(await cookie(first, "sessionid")).toBeUndefined();
      await page.goto(`${base}/`);
      expect(await page.textContent("#username")).toContain("You are anonymous");
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  }, 90_000);

  if (store === "file") {
    it("shows one message of each level, styled by its tag, when the page lowers the level to DEBUG", async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${base}/levels`);
        expect(await page.textContent("#level")).toBe("20");
        await submit(page, `${base}/levels`);
        expect((await messages(page)).map((m) => m.tags)).toEqual([
          "debug",
          "info",
          "success",
          "warning",
          "error",
        ]);
        const colours = await page
          .locator("ul.messages li")
          .evaluateAll((items) => items.map((li) => getComputedStyle(li).backgroundColor));
        expect(new Set(colours).size).toBe(5);
        await page.screenshot({ path: `${ARTIFACTS}levels-${store}.png`, fullPage: true });
        await page.reload();
        expect(await messages(page)).toEqual([]);
      } finally {
        await context.close();
      }
    });
  }
});
