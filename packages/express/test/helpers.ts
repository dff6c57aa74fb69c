import { once } from "node:events";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createMemorySessionStore,
  type SessionRecord,
  type SessionStore,
  StoreUnavailableError,
} from "@porter/core";

/** A real server on a loopback port. */
export async function listen(
  handler: RequestListener,
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ParsedCookie {
  name: string;
  value: string;
  attributes: Map<string, string>;
}

export function parseSetCookie(header: string): ParsedCookie {
  const [pair = "", ...rest] = header.split(";").map((part) => part.trim());
  const eq = pair.indexOf("=");
  const attributes = new Map<string, string>();
  for (const attribute of rest) {
    const i = attribute.indexOf("=");
    if (i === -1) attributes.set(attribute.toLowerCase(), "");
    else attributes.set(attribute.slice(0, i).toLowerCase(), attribute.slice(i + 1));
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
}

/** A tiny browser: one cookie jar (names only; every cookie goes to every path of the one origin). */
export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(readonly base: string) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set("cookie", [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; "));
    }
    const response = await fetch(this.base + path, { redirect: "manual", ...init, headers });
    for (const header of response.headers.getSetCookie()) {
      const cookie = parseSetCookie(header);
      const maxAge = cookie.attributes.get("max-age");
      if (maxAge !== undefined && Number(maxAge) <= 0) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    return response;
  }

  /** Fetches and reads the body as text. */
  async text(path: string, init: RequestInit = {}): Promise<{ response: Response; body: string }> {
    const response = await this.fetch(path, init);
    return { response, body: await response.text() };
  }
}

export type StoreCall = "get" | "create" | "update" | "touch" | "delete";

/** The memory store, counting every call, and able to fail on demand like an unreachable server. */
export interface CountingStore extends SessionStore {
  readonly calls: Record<StoreCall, number>;
  readonly total: number;
  /** Operations that reject with `StoreUnavailableError`. */
  down: Set<StoreCall>;
  reset(): void;
}

export function countingStore(): CountingStore {
  const inner = createMemorySessionStore();
  const calls: Record<StoreCall, number> = { get: 0, create: 0, update: 0, touch: 0, delete: 0 };
  const down = new Set<StoreCall>();
  const count = async <T>(name: StoreCall, op: () => Promise<T>): Promise<T> => {
    calls[name]++;
    if (store.down.has(name)) throw new StoreUnavailableError(`simulated outage on ${name}`);
    return op();
  };
  const store: CountingStore = {
    contractVersion: 1,
    capabilities: inner.capabilities,
    calls,
    down,
    get total() {
      return Object.values(calls).reduce((a, b) => a + b, 0);
    },
    reset() {
      for (const name of Object.keys(calls) as StoreCall[]) calls[name] = 0;
    },
    get: (key) => count("get", () => inner.get(key)),
    create: (key, data, expiresAt) => count("create", () => inner.create(key, data, expiresAt)),
    update: (key, record: SessionRecord) => count("update", () => inner.update(key, record)),
    touch: (key, expiresAt) => count("touch", () => inner.touch!(key, expiresAt)),
    delete: (key) => count("delete", () => inner.delete(key)),
  };
  return store;
}

/** A promise and its resolver, to hold a handler until the test lets it go. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
