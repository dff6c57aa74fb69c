import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";

/**
 * A request/response pair from Node's own http classes, with no network underneath: what a
 * middleware sees in a real server, minus the socket, so a benchmark measures the session
 * layer and not the kernel. `done` resolves when the response is ended (after any async save
 * the middleware does in its `res.end` wrapper).
 */
export function fakeExchange(cookieHeader: string | undefined) {
  const req = new IncomingMessage(new Socket());
  req.method = "GET";
  req.url = "/";
  if (cookieHeader !== undefined) req.headers.cookie = cookieHeader;
  const res = new ServerResponse(req);
  let resolve!: () => void;
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  res.end = function end(this: ServerResponse) {
    if (!this.headersSent) this.writeHead(this.statusCode);
    resolve();
    return this;
  } as ServerResponse["end"];
  return { req, res, done };
}

/** The `name=value` of a response's Set-Cookie, ready to send back as a Cookie header. */
export function cookieFrom(res: ServerResponse): string | undefined {
  const header = res.getHeader("set-cookie");
  const first = Array.isArray(header) ? header[0] : typeof header === "string" ? header : undefined;
  return first?.split(";")[0];
}
