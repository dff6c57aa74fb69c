import { describe, expect, it } from "vitest";
import { createRequestCookieJar } from "../src/cookie-jar.js";
import { varyWithCookie } from "../src/headers.js";

describe("varyWithCookie", () => {
  it("adds Cookie once, and leaves * alone", () => {
    expect(varyWithCookie(undefined)).toBe("Cookie");
    expect(varyWithCookie("")).toBe("Cookie");
    expect(varyWithCookie("Accept-Encoding")).toBe("Accept-Encoding, Cookie");
    expect(varyWithCookie("accept, COOKIE")).toBe("accept, COOKIE");
    expect(varyWithCookie("*")).toBe("*");
  });
});

describe("the request cookie jar", () => {
  it("reads what the request carried and collects one Set-Cookie per name", () => {
    const jar = createRequestCookieJar('a=1; messages="x:y"; a=2');
    expect(jar.get("a")).toBe("1");
    expect(jar.get("messages")).toBe("x:y");
    expect(jar.get("missing")).toBeUndefined();
    jar.set("messages", "new", { path: "/", httpOnly: true });
    jar.set("other", "v");
    jar.delete("messages", { path: "/" });
    // Reads still answer what came in, as Django's request.COOKIES does.
    expect(jar.get("messages")).toBe("x:y");
    expect(jar.setCookieHeaders()).toEqual([
      "messages=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/",
      "other=v; Path=/",
    ]);
  });

  it("treats a missing or garbage Cookie header as no cookies", () => {
    for (const header of [undefined, null, "", ";;;", "=novalue", "\u0000"]) {
      expect(createRequestCookieJar(header).get("a")).toBeUndefined();
    }
  });
});
