import { ALNUM, constantTimeEqual, randomString, type Session } from "@porter/core";

/**
 * Cross-site request forgery protection, Django's `CSRF_USE_SESSIONS` way: one token per
 * session, put in every form, compared in constant time on every POST; rotated at login
 * (AU-10) so a token seen before login is worthless after it. The session cookie's
 * `SameSite=Lax` and the `Origin` check in `app.ts` are further layers.
 */
export const CSRF_SESSION_KEY = "_csrftoken";
export const CSRF_FIELD = "csrfmiddlewaretoken";
const TOKEN_LENGTH = 32;

/** This session's token, created on first use. */
export function csrfToken(session: Session): string {
  const current = session.get(CSRF_SESSION_KEY);
  if (typeof current === "string" && current.length === TOKEN_LENGTH) return current;
  return rotateCsrfToken(session);
}

/** A new token (Django's `rotate_token`), after login. */
export function rotateCsrfToken(session: Session): string {
  const token = randomString(TOKEN_LENGTH, ALNUM);
  session.set(CSRF_SESSION_KEY, token);
  return token;
}

/** Whether a submitted token is this session's. A session without a token accepts nothing. */
export function csrfTokenMatches(session: Session, submitted: unknown): boolean {
  const expected = session.get(CSRF_SESSION_KEY);
  if (typeof expected !== "string" || typeof submitted !== "string") return false;
  return constantTimeEqual(expected, submitted);
}
