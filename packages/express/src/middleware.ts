import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuthBackend, AuthUser, Messages, Session, UserRecord } from "@porter/core";
import { PorterError } from "@porter/core";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { holdHeaders } from "./hold-headers.js";
import { openRequest, type PorterContext, type PorterOptions, resolveOptions } from "./scope.js";

/**
 * Types `req.user()` and friends app-wide. Augment it once:
 * `declare module "@porter/express" { interface PorterTypes { user: MyUser } }`.
 * Without it the user is a `UserRecord`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the app's module augmentation.
export interface PorterTypes {}

/** The user type of `req.user()`: `PorterTypes["user"]` when declared, else `UserRecord`. */
export type PorterUser = PorterTypes extends { user: infer User extends AuthUser } ? User : UserRecord;

declare global {
  namespace Express {
    interface Request {
      /** This request's session (Porter), loaded from its cookie. */
      session: Session;
      /** This request's flash messages; read ones are gone after this request, unread ones wait. */
      readonly messages: Messages;
      /** The logged-in user or `null`; resolved on the first call, then cached for the request. */
      user(): Promise<PorterUser | null>;
      /** Asks the auth backends in order; `null` when none accepts the credentials. */
      authenticate(credentials: Record<string, unknown>): Promise<PorterUser | null>;
      /** Logs the user in: the session key changes (or the session is flushed for another user). */
      login(user: PorterUser, backend?: AuthBackend<PorterUser> | string): Promise<void>;
      /** Logs out: the session is flushed and its cookie deleted. */
      logout(): Promise<void>;
      /** After a password change: this session stays logged in under a new key; the others end. */
      updateSessionAuthHash(user: PorterUser): void;
      /** Whether the current user has a permission; anonymous has none. */
      hasPerm(permission: string): Promise<boolean>;
    }
  }
}

/** Handles a `SessionInterruptedError` the Express way; see `PorterExpressOptions.onInterrupted`. */
export type InterruptedHandler = (
  error: PorterError,
  req: Request,
  res: Response,
  next: NextFunction,
) => void;

export interface PorterExpressOptions<User extends AuthUser = PorterUser> extends PorterOptions<User> {
  /**
   * What to answer when the session was ended by a concurrent request (a logout) before this
   * request could save it (Django's `SessionInterrupted`). `"400"` answers a plain-text 400;
   * a handler takes over like an Express error handler. @default "400"
   */
  onInterrupted?: "400" | InterruptedHandler;
}

const ATTACHED = Symbol.for("porter.express.attached");

function interrupted400(error: PorterError, res: ServerResponse): void {
  const body = `${error.message}\n`;
  res.statusCode = 400;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.setHeader("Cache-Control", "no-store");
  res.end(body);
}

function attach<User extends AuthUser>(req: IncomingMessage, context: PorterContext<User>): void {
  Object.defineProperty(req, ATTACHED, { value: true });
  const { session, user, authenticate, login, logout, updateSessionAuthHash, hasPerm } = context;
  Object.assign(req, { session, user, authenticate, login, logout, updateSessionAuthHash, hasPerm });
  // A getter: without the messages option, reading `req.messages` throws (Django's MessageFailure).
  Object.defineProperty(req, "messages", { configurable: true, get: () => context.messages });
}

/**
 * Porter for Express (4.21+ and 5). Puts `req.session`, `req.messages`, `req.user()`,
 * `req.authenticate()`, `req.login()`, `req.logout()` on each request, and commits messages and
 * session before the response's first byte, whatever sends it: `send`, `json`, `redirect`,
 * `sendFile`, a piped stream, `res.write`. Nothing is saved for a 5xx response. A store outage
 * goes to Express's error handling (`next(err)`); a session ended by a concurrent request
 * answers 400 (see `onInterrupted`).
 */
export function porter<User extends AuthUser = PorterUser>(
  options: PorterExpressOptions<User>,
): RequestHandler {
  const resolved = resolveOptions(options);
  const onInterrupted = options.onInterrupted ?? "400";

  return function porterMiddleware(req, res, next) {
    if (ATTACHED in req) {
      next();
      return;
    }
    openRequest(resolved, req.headers.cookie, req)
      .then((request) => {
        attach(req, request.context);
        holdHeaders(res, {
          commit: (status) => request.finish(status),
          onError(error) {
            if (!PorterError.is(error, "SESSION_INTERRUPTED")) next(error);
            else if (onInterrupted === "400") interrupted400(error, res);
            else onInterrupted(error, req, res, next);
          },
        });
      })
      .then(() => next(), next);
  };
}
