import type { AuthUser, UserRecord } from "@porter/core";
import { PorterError } from "@porter/core";
import { varyWithCookie } from "./headers.js";
import {
  openRequest,
  type PorterContext,
  type PorterOptions,
  type ResponseHeaders,
  resolveOptions,
} from "./scope.js";

export type { PorterContext, PorterMessagesOptions, PorterOptions, ResponseHeaders } from "./scope.js";

export interface WebPorterOptions<User extends AuthUser = UserRecord> extends PorterOptions<User> {
  /**
   * The response when the session was ended by a concurrent request (a logout) before this
   * request could save it (Django's `SessionInterrupted`). @default a plain-text 400
   */
  onInterrupted?: "400" | ((error: PorterError, request: Request) => Response | Promise<Response>);
}

/** A web-standard handler that also receives the request's Porter context. */
export type PorterHandler<User extends AuthUser, Args extends unknown[]> = (
  request: Request,
  porter: PorterContext<User>,
  ...args: Args
) => Response | Promise<Response>;

/** One request, opened: its context, and `respond` to commit and add the headers. */
export interface WebPorterRequest<User extends AuthUser = UserRecord> {
  readonly porter: PorterContext<User>;
  /**
   * Commits messages and the session for this response (nothing saved for 5xx) and resolves
   * the response to send: the same one when nothing is to be added, otherwise a copy with the
   * `Set-Cookie` and `Vary` headers (the original's headers may be immutable, and it may be
   * shared). Call it once. Rejects with `StoreUnavailableError` when a store cannot be reached.
   */
  respond(response: Response): Promise<Response>;
}

export interface WebPorter<User extends AuthUser = UserRecord> {
  /** Loads the request's session (no store call without a session cookie). */
  open(request: Request): Promise<WebPorterRequest<User>>;
  /** Wraps a handler: open, run it, respond. A handler that throws saves nothing. */
  handle<Args extends unknown[]>(
    handler: PorterHandler<User, Args>,
  ): (request: Request, ...args: Args) => Promise<Response>;
}

function interrupted400(error: PorterError): Response {
  return new Response(`${error.message}\n`, {
    status: 400,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
}

/** `response` with the commit's headers appended, as a new `Response` when there is anything to add. */
export function addHeaders(response: Response, headers: ResponseHeaders): Response {
  if (headers.setCookie.length === 0 && !headers.vary) return response;
  const apply = (target: Headers) => {
    for (const cookie of headers.setCookie) target.append("set-cookie", cookie);
    if (headers.vary) target.set("vary", varyWithCookie(target.get("vary")));
  };
  if (response.status < 200 || response.status > 599) {
    // `new Response` refuses these statuses (a 101 upgrade, say): add in place where allowed.
    try {
      apply(response.headers);
    } catch {
      // Immutable headers on a response that cannot be rebuilt: nothing can carry the cookie.
    }
    return response;
  }
  const copy = new Headers(response.headers);
  apply(copy);
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: copy,
  });
}

/**
 * Porter for web-standard `Request`/`Response` servers (Hono, Next.js route handlers, Bun,
 * Deno, `node:http` through an adapter). Same guarantees as the Express middleware; since
 * the commit runs before the `Response` is handed back, its headers are complete by
 * construction, streamed bodies included.
 */
export function createWebPorter<User extends AuthUser = UserRecord>(
  options: WebPorterOptions<User>,
): WebPorter<User> {
  const resolved = resolveOptions(options);
  const onInterrupted = options.onInterrupted ?? "400";

  async function open(request: Request): Promise<WebPorterRequest<User>> {
    const opened = await openRequest(resolved, request.headers.get("cookie"), request);
    return {
      porter: opened.context,
      async respond(response) {
        // Response.error() has status 0: a failure, so nothing is saved.
        const status = response.status === 0 ? 500 : response.status;
        let headers: ResponseHeaders;
        try {
          headers = await opened.finish(status);
        } catch (error) {
          if (!PorterError.is(error, "SESSION_INTERRUPTED")) throw error;
          return onInterrupted === "400" ? interrupted400(error) : onInterrupted(error, request);
        }
        return addHeaders(response, headers);
      },
    };
  }

  return {
    open,
    handle(handler) {
      return async (request, ...args) => {
        const opened = await open(request);
        const response = await handler(request, opened.porter, ...args);
        return opened.respond(response);
      };
    },
  };
}

/**
 * Wraps one web-standard handler: `export const GET = withPorter(async (request, porter) => …, options)`.
 * Extra arguments (Next.js's `{ params }`, Hono's context) are passed through after `porter`.
 */
export function withPorter<User extends AuthUser = UserRecord, Args extends unknown[] = []>(
  handler: PorterHandler<User, Args>,
  options: WebPorterOptions<User>,
): (request: Request, ...args: Args) => Promise<Response> {
  return createWebPorter(options).handle(handler);
}
