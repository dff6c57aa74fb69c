import type { SessionData } from "@porter/core";
import type { CookieSessionInfo } from "./cookie-session-store.js";

export interface ValidAfterOptions {
  /**
   * When the user's sessions were last revoked ("log out everywhere", a password reset, an admin
   * action), epoch ms, or `null`/`undefined` if never. Keep it where every server can read it
   * (the user row, Redis). Called only for sessions that carry a user id.
   */
  revokedAt: (userId: string) => number | null | undefined | Promise<number | null | undefined>;
  /** The session key that holds the user id. @default "_auth_user_id" (Django's, and Porter's login) */
  userKey?: string;
}

/**
 * An `isValid` hook for `createCookieSessionStore` that makes "log out everywhere" work on cookie
 * sessions, which no server-side delete can reach: a cookie of a logged-in user is refused when it
 * was issued before that user's `revokedAt`. Every cookie the engine writes is stamped when it is
 * written, and only a cookie that passed this check can be re-written, so a copy taken before the
 * revocation never comes back to life.
 *
 * - Revoke: store `revokedAt = Date.now()` for the user. Cookies issued at or after that
 *   millisecond stay valid, so the request that revokes keeps its own session if it writes it
 *   (e.g. after `cycleKey()`).
 * - Django mode stamps whole seconds (`issuedAt` is the second's start), so a cookie issued in
 *   the same second as the revocation, even just after it, is refused. To let the revoking
 *   request keep its session there, store `Math.floor(Date.now() / 1000) * 1000`; cookies issued
 *   earlier in that same second then survive too.
 * - Anonymous sessions (no user id) are never refused.
 */
export function validAfter(
  options: ValidAfterOptions,
): (data: SessionData, info: CookieSessionInfo) => Promise<boolean> {
  const userKey = options.userKey ?? "_auth_user_id";
  const revokedAt = options.revokedAt;
  return async (data, info) => {
    const userId = Object.hasOwn(data, userKey) ? data[userKey] : undefined;
    if (userId === undefined || userId === null) return true;
    const since = await revokedAt(String(userId));
    if (since === null || since === undefined) return true;
    return info.issuedAt >= since;
  };
}
