import { describe, expect, it } from "vitest";
import { createMemoryUserStore, normalizeUsername, USERNAME_MAX_LENGTH } from "../src/auth/index.js";
import { describeUserStore } from "../src/conformance/user-store.js";

describeUserStore("memory", { create: () => createMemoryUserStore() });

describe("memory user store specifics", () => {
  it("numbers users like Django's integer keys and takes dateJoined from its clock", async () => {
    const store = createMemoryUserStore({ clock: () => 1_700_000_000_000 });
    const a = await store.create({ username: "a", passwordHash: "x" });
    const b = await store.create({ username: "b", passwordHash: "x" });
    expect([a.id, b.id]).toEqual(["1", "2"]);
    expect(a.dateJoined).toBe(1_700_000_000_000);
    expect(store.size).toBe(2);
  });

  it("normalizeUsername is the one policy: NFKC, exact, bounded, no control characters", () => {
    expect(normalizeUsername("ｆｏｏ")).toBe("foo");
    expect(normalizeUsername("Foo")).toBe("Foo");
    expect(normalizeUsername("foo ")).toBe("foo ");
    expect(normalizeUsername("a".repeat(USERNAME_MAX_LENGTH))).toHaveLength(150);
    for (const bad of ["", "a".repeat(151), "a\u0000b", "a\nb", "\ud800", 42, null, {}, ["a"]]) {
      expect(normalizeUsername(bad)).toBeNull();
    }
    // U+FDFA expands to 18 characters under NFKC; nine of them exceed the limit.
    expect(normalizeUsername("\ufdfa".repeat(9))).toBeNull();
  });
});
