import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { varyWithCookie } from "./headers.js";
import type { ResponseHeaders } from "./scope.js";

type Method = (...args: unknown[]) => unknown;
type Held = { name: "writeHead" | "write" | "end" | "flushHeaders"; args: unknown[] };

const SENDING = ["writeHead", "write", "end", "flushHeaders"] as const;
const HEADER_SETTERS = ["setHeader", "appendHeader", "removeHeader", "setHeaders"] as const;

/** Headers that describe the body of a response that was replaced by an error response. */
const REPRESENTATION_HEADERS = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-range",
  "content-disposition",
  "content-location",
  "transfer-encoding",
  "etag",
  "last-modified",
  "location",
];

function headersSentError(): Error {
  // Node's own error for the same mistake, so callers that check `code` see what they expect.
  return Object.assign(new Error("Cannot set headers after they are sent to the client"), {
    code: "ERR_HTTP_HEADERS_SENT",
  });
}

function applyHeaders(
  res: ServerResponse,
  headers: ResponseHeaders,
  setHeader: Method,
  appendHeader: Method,
) {
  for (const cookie of headers.setCookie) {
    const current = res.getHeader("set-cookie");
    const list = current === undefined ? [] : Array.isArray(current) ? current : [String(current)];
    if (!list.includes(cookie)) appendHeader.call(res, "Set-Cookie", cookie);
  }
  if (headers.vary) {
    const current = res.getHeader("vary");
    const text = Array.isArray(current) ? current.join(", ") : current === undefined ? "" : String(current);
    const next = varyWithCookie(text);
    if (next !== text) setHeader.call(res, "Vary", next);
  }
}

/** `appendHeader` for responses without one (HTTP/2's compatibility API). */
function appendBySetting(res: ServerResponse, setHeader: Method): Method {
  return (name, value) => {
    const current = res.getHeader(String(name));
    const list = current === undefined ? [] : Array.isArray(current) ? current : [String(current)];
    return setHeader.call(res, name, [...list, ...(Array.isArray(value) ? value : [String(value)])]);
  };
}

/** What `writeHead(status, [reason], [headers])` was given, spelled out. */
function writeHeadArgs(args: unknown[]): { status: number; reason: string | undefined; headers: unknown } {
  const [status, second, third] = args;
  return typeof second === "string"
    ? { status: Number(status), reason: second, headers: third }
    : { status: Number(status), reason: undefined, headers: second };
}

/** Applies `writeHead`'s header argument the way Node does once headers were set one by one. */
function applyWriteHeadHeaders(
  res: ServerResponse,
  headers: unknown,
  setHeader: Method,
  appendHeader: Method,
) {
  if (Array.isArray(headers)) {
    // A flat [name, value, name, value] list may repeat a name (two Set-Cookie lines): keep every one.
    const seen = new Set<string>();
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = String(headers[i]);
      if (name === "") continue;
      const lower = name.toLowerCase();
      (seen.has(lower) ? appendHeader : setHeader).call(res, name, headers[i + 1]);
      seen.add(lower);
    }
  } else if (typeof headers === "object" && headers !== null) {
    for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
      if (name !== "" && value !== undefined) setHeader.call(res, name, value);
    }
  }
}

export interface HoldOptions {
  /** Runs once, before the first byte; resolves the headers to add. */
  commit(status: number): Promise<ResponseHeaders>;
  /**
   * The commit failed. Nothing was sent: the held calls are dropped, the headers that describe
   * the dropped body are removed, and the response is free for an error response.
   */
  onError(error: unknown): void;
}

/**
 * Holds a `ServerResponse` at its first byte while an async commit runs, then replays.
 *
 * The first `writeHead`, `write`, `end` or `flushHeaders` starts `commit(status)`; that call and
 * every later one are queued (writes answer `false`, so a piped stream waits for `drain`), the
 * response reports `headersSent` and refuses header changes as Node would, and once the commit
 * resolves its headers are added and the calls are replayed in order. Works for anything built on
 * those four methods: Express's `send`/`json`/`redirect`/`sendFile`, `stream.pipe(res)`, HEAD, 204.
 */
export function holdHeaders(res: ServerResponse, options: HoldOptions): void {
  const target = res as unknown as Record<string, Method>;
  const originals = new Map<string, Method>();
  const wrappers = new Map<string, Method>();
  const queue: Held[] = [];
  let state: "open" | "held" | "done" = "open";
  let heldStatus = 200;

  const original = (name: string): Method => originals.get(name)!;

  function install(name: string, wrapper: Method): void {
    originals.set(name, target[name]!);
    wrappers.set(name, wrapper);
    target[name] = wrapper;
  }

  /** Puts back what was there, unless someone wrapped over us: then our wrapper stays, passing through. */
  function uninstall(): void {
    for (const [name, wrapper] of wrappers) {
      if (target[name] !== wrapper) continue;
      const before = originals.get(name)!;
      const inherited = Object.getPrototypeOf(res)[name];
      if (before === inherited) delete target[name];
      else target[name] = before;
    }
    delete (res as { headersSent?: boolean }).headersSent;
  }

  function hold(name: Held["name"], args: unknown[]): void {
    queue.push({ name, args });
    if (state !== "open") return;
    state = "held";
    heldStatus = name === "writeHead" ? writeHeadArgs(args).status : res.statusCode;
    Object.defineProperty(res, "headersSent", { configurable: true, get: () => true });
    options.commit(heldStatus).then(replay, fail);
  }

  function replay(headers: ResponseHeaders): void {
    state = "done";
    uninstall();
    const setHeader = original("setHeader");
    const appendHeader = originals.get("appendHeader") ?? appendBySetting(res, setHeader);
    const calls = queue.splice(0);
    let wrote = false;
    try {
      const first = calls[0];
      if (first?.name === "writeHead") {
        const { status, reason, headers: given } = writeHeadArgs(first.args);
        applyWriteHeadHeaders(res, given, setHeader, appendHeader);
        applyHeaders(res, headers, setHeader, appendHeader);
        const args = reason === undefined ? [status] : [status, reason];
        original("writeHead").apply(res, args);
        calls.shift();
      } else {
        res.statusCode = heldStatus;
        applyHeaders(res, headers, setHeader, appendHeader);
      }
      for (const call of calls) {
        if (call.name === "write") wrote = true;
        original(call.name).apply(res, call.args);
      }
    } catch (error) {
      // The same call would have thrown to the app had it not been held; now nobody can catch it.
      res.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (wrote && !res.writableNeedDrain) res.emit("drain");
  }

  function fail(error: unknown): void {
    state = "done";
    uninstall();
    const calls = queue.splice(0);
    for (const name of REPRESENTATION_HEADERS) res.removeHeader(name);
    try {
      options.onError(error);
    } catch (thrown) {
      res.destroy(thrown instanceof Error ? thrown : new Error(String(thrown)));
    }
    for (const call of calls) {
      const callback = call.args.findLast((arg) => typeof arg === "function") as Method | undefined;
      if (callback !== undefined && call.name === "write") process.nextTick(callback, error);
    }
  }

  for (const name of SENDING) {
    if (typeof target[name] !== "function") continue;
    install(name, (...args: unknown[]) => {
      if (state === "done") return original(name).apply(res, args);
      if (name === "writeHead" && state === "held") throw headersSentError();
      hold(name, args);
      if (name === "write") return false;
      if (name === "flushHeaders") return undefined;
      return res;
    });
  }
  // Code that wraps `res` after us (compression) calls `_implicitHeader()` before each write
  // while `_header` is unset, which it stays while held: the headers count as sent already.
  if (typeof target._implicitHeader === "function") {
    install("_implicitHeader", (...args: unknown[]) =>
      state === "held" ? undefined : original("_implicitHeader").apply(res, args),
    );
  }
  for (const name of HEADER_SETTERS) {
    if (typeof target[name] !== "function") continue;
    install(name, (...args: unknown[]) => {
      if (state === "held") throw headersSentError();
      return original(name).apply(res, args);
    });
  }
}
