import type { CookieJar, CookieOptions } from "@porter/core";
import { parseCookieHeader, serializeCookie, serializeDeletionCookie } from "@porter/core";

/**
 * A `CookieJar` over one request's `Cookie` header that remembers the `Set-Cookie` values to
 * send. Like Django's `request.COOKIES`, `get` answers what the request carried, whatever the
 * response will set.
 */
export interface RequestCookieJar extends CookieJar {
  /** The `Set-Cookie` values to send, one per cookie name, in the order the names were first set. */
  setCookieHeaders(): string[];
}

export function createRequestCookieJar(cookieHeader: string | null | undefined): RequestCookieJar {
  let incoming: Map<string, string> | undefined;
  const outgoing = new Map<string, string>();

  return {
    get(name) {
      incoming ??= parseCookieHeader(cookieHeader);
      return incoming.get(name);
    },
    set(name: string, value: string, options: CookieOptions = {}) {
      outgoing.set(name, serializeCookie(name, value, options));
    },
    delete(name: string, options: CookieOptions = {}) {
      outgoing.set(name, serializeDeletionCookie(name, options));
    },
    setCookieHeaders() {
      return [...outgoing.values()];
    },
  };
}
