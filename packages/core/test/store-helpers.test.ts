import { describe, expect, it } from "vitest";
import type { UserRecord } from "../src/contracts.js";
import { PorterError, SessionConflictError } from "../src/errors.js";
import { createDeadlineRunner } from "../src/session/deadlines.js";
import {
  applyUserPatch,
  checkExpiresAt,
  checkGroupName,
  checkSessionData,
  checkSessionRecord,
  checkStoreKey,
  copyUserRecord,
  decodeLossless,
  GROUP_NAME_MAX_LENGTH,
  isRandomUserId,
  isWellFormedText,
  losslessByteLength,
  losslessEncoding,
  randomUserId,
  validateNewUser,
  validateStringSet,
  validateUserPatch,
  validateUserRecord,
} from "../src/stores/index.js";

/** The definition, code unit by code unit: the reference the native check is held to. */
function wellFormedByHand(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}

const WELL_FORMED: readonly [string, string][] = [
  ["empty", ""],
  ["ASCII JSON", '{"a":1,"b":[true,null]}'],
  ["NUL", "a\u0000b"],
  ["only NUL", "\u0000"],
  ["Latin-1", "héllo wörld ÿ"],
  ["BMP beyond Latin-1", "日本語 ‮ \ufffd \uffff"],
  ["a valid pair", "\ud83d\ude00"],
  ["valid pairs at both ends", "\ud83d\ude00 middle \udbff\udfff"],
  ["a long ASCII string", "x".repeat(1 << 20)],
  ["a long two-byte string", "é😀".repeat(100_000)],
];

const ILL_FORMED: readonly [string, string][] = [
  ["a lone high surrogate", "\ud800"],
  ["a lone low surrogate", "\udc00"],
  ["a lone high surrogate at the start", "\udbffabc"],
  ["a lone high surrogate at the end", "abc\ud800"],
  ["a lone low surrogate at the start", "\udfffabc"],
  ["a lone low surrogate at the end", "abc\udc00"],
  ["low then high (not a pair)", "\udc00\ud800"],
  ["two high surrogates", "\ud800\ud800\udc00"],
  ["a pair then a lone low", "\ud83d\ude00\ude00"],
  ["a lone surrogate beside NUL", "\u0000\ud800\u0000"],
  ["a lone surrogate at the end of a long string", `${"x".repeat(1 << 20)}\ud800`],
  ["a lone surrogate in the middle of a long string", `${"é".repeat(50_000)}\udc00${"é".repeat(50_000)}`],
];

describe("isWellFormedText", () => {
  it.each(WELL_FORMED)("is true for %s", (_name, text) => {
    expect(isWellFormedText(text)).toBe(true);
    expect(wellFormedByHand(text)).toBe(true);
  });

  it.each(ILL_FORMED)("is false for %s", (_name, text) => {
    expect(isWellFormedText(text)).toBe(false);
    expect(wellFormedByHand(text)).toBe(false);
  });

  it("agrees with the definition on every pair of code units around the surrogate ranges", () => {
    const units = [0x00, 0x41, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xffff];
    for (const a of units) {
      for (const b of units) {
        for (const text of [String.fromCharCode(a, b), `x${String.fromCharCode(a, b)}`]) {
          expect(isWellFormedText(text), JSON.stringify(text)).toBe(wellFormedByHand(text));
        }
      }
    }
  });

  it("is exactly what UTF-8 can carry: well-formed text survives a UTF-8 round trip, other text does not", () => {
    for (const [, text] of [...WELL_FORMED, ...ILL_FORMED]) {
      const survives = Buffer.from(text, "utf8").toString("utf8") === text;
      expect(survives).toBe(isWellFormedText(text));
    }
  });
});

describe("lossless encoding", () => {
  it.each([...WELL_FORMED, ...ILL_FORMED])("round-trips %s exactly", (_name, text) => {
    const encoding = losslessEncoding(text);
    const bytes = Buffer.from(text, encoding);
    expect(bytes.length).toBe(losslessByteLength(text));
    expect(decodeLossless(bytes, encoding)).toBe(text);
  });

  it("keeps well-formed text as UTF-8, byte for byte, and other text as UTF-16LE code units", () => {
    expect(losslessEncoding("héllo 😀")).toBe("utf8");
    expect(losslessByteLength("héllo 😀")).toBe(Buffer.byteLength("héllo 😀", "utf8"));
    expect(losslessEncoding("a\ud800")).toBe("utf16le");
    expect(losslessByteLength("a\ud800")).toBe(4);
    expect(Buffer.from("a\ud800", losslessEncoding("a\ud800"))).toEqual(Buffer.from([0x61, 0, 0x00, 0xd8]));
    expect(losslessEncoding("")).toBe("utf8");
    expect(losslessByteLength("")).toBe(0);
  });

  it("refuses UTF-16LE of an odd length, which no encoder writes", () => {
    expect(decodeLossless(Buffer.from([0x61]), "utf16le")).toBeNull();
    expect(decodeLossless(Buffer.from([0x61, 0x00, 0x62]), "utf16le")).toBeNull();
    expect(decodeLossless(Buffer.alloc(0), "utf16le")).toBe("");
    expect(decodeLossless(Buffer.alloc(0), "utf8")).toBe("");
  });

  it("reads UTF-8 the way Buffer does: bytes that are not UTF-8 become U+FFFD, never an error", () => {
    expect(decodeLossless(Buffer.from([0xff, 0x7b]), "utf8")).toBe("\ufffd{");
  });

  it("reads any Uint8Array view in place: offsets into a larger buffer are honoured", () => {
    const backing = new Uint8Array([0xee, 0x61, 0x00, 0x00, 0xd8, 0xee]);
    const view = new Uint8Array(backing.buffer, 1, 4);
    expect(decodeLossless(view, "utf16le")).toBe("a\ud800");
    const utf8 = new Uint8Array(Buffer.from("xyz", "utf8")).subarray(1);
    expect(decodeLossless(utf8, "utf8")).toBe("yz");
  });
});

const HASH = "pbkdf2_sha256$1000$salt$aGFzaA==";

/** The code of the PorterError `run` throws; fails the test when it throws anything else or nothing. */
function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(PorterError.is(err)).toBe(true);
    return (err as PorterError).code;
  }
  throw new Error("expected a PorterError");
}

describe("validateNewUser", () => {
  it("fills the defaults, and dateJoined from now", () => {
    expect(validateNewUser({ username: "alice", passwordHash: HASH }, 1_700_000_000_000)).toEqual({
      username: "alice",
      passwordHash: HASH,
      isActive: true,
      isSuperuser: false,
      permissions: [],
      groups: [],
      lastLogin: null,
      dateJoined: 1_700_000_000_000,
    });
  });

  it("keeps every given field, NFKC-normalizes the username and drops duplicate list entries", () => {
    const fields = validateNewUser(
      {
        username: "ｆｏｏ",
        passwordHash: HASH,
        isActive: false,
        isSuperuser: true,
        permissions: ["a.b", "c.d", "a.b"],
        groups: ["staff", "staff"],
        email: "f@example.com",
        dateJoined: 5,
      },
      99,
    );
    expect(fields).toEqual({
      username: "foo",
      passwordHash: HASH,
      isActive: false,
      isSuperuser: true,
      permissions: ["a.b", "c.d"],
      groups: ["staff"],
      lastLogin: null,
      dateJoined: 5,
      email: "f@example.com",
    });
  });

  it("has no email key when none is given, and shares no array with its input", () => {
    const permissions = ["a.b"];
    const fields = validateNewUser({ username: "a", passwordHash: HASH, permissions, email: undefined }, 0);
    expect(Object.hasOwn(fields, "email")).toBe(false);
    permissions.push("x.y");
    expect(fields.permissions).toEqual(["a.b"]);
  });

  it.each<[string, unknown]>([
    ["not an object", null],
    ["a string", "alice"],
    ["an empty username", { username: "", passwordHash: HASH }],
    ["a username with NUL", { username: "a\u0000b", passwordHash: HASH }],
    ["a username with a line break", { username: "a\nb", passwordHash: HASH }],
    ["a username with a lone surrogate", { username: "x\ud800", passwordHash: HASH }],
    ["a username of 151 characters", { username: "a".repeat(151), passwordHash: HASH }],
    ["a username of 1 MiB", { username: "a".repeat(1 << 20), passwordHash: HASH }],
    ["an operator object as username", { username: { $ne: null }, passwordHash: HASH }],
    ["a missing password hash", { username: "a" }],
    ["a non-boolean isActive", { username: "a", passwordHash: HASH, isActive: "yes" }],
    ["a null isSuperuser", { username: "a", passwordHash: HASH, isSuperuser: null }],
    ["permissions that are not strings", { username: "a", passwordHash: HASH, permissions: ["a", 1] }],
    ["groups that are a string", { username: "a", passwordHash: HASH, groups: "staff" }],
    ["a null email", { username: "a", passwordHash: HASH, email: null }],
    ["a fractional dateJoined", { username: "a", passwordHash: HASH, dateJoined: 1.5 }],
    ["an unsafe dateJoined", { username: "a", passwordHash: HASH, dateJoined: 2 ** 60 }],
  ])("rejects %s with InvalidArgumentError", (_name, user) => {
    expect(codeOf(() => validateNewUser(user as never, 0))).toBe("INVALID_ARGUMENT");
  });

  it("accepts a username of exactly 150 characters after normalization", () => {
    expect(validateNewUser({ username: "a".repeat(150), passwordHash: HASH }, 0).username).toHaveLength(150);
  });
});

const ALICE: UserRecord = {
  id: "1",
  username: "alice",
  passwordHash: HASH,
  isActive: true,
  isSuperuser: false,
  permissions: ["a.b"],
  groups: ["staff"],
  lastLogin: null,
  dateJoined: 10,
  email: "a@example.com",
};

describe("validateUserPatch and applyUserPatch", () => {
  it("an empty patch changes nothing", () => {
    const checked = validateUserPatch({});
    expect(checked).toEqual({ set: {}, unsetEmail: false });
    expect(applyUserPatch(ALICE, checked)).toEqual(ALICE);
  });

  it("checks and sets each given field; undefined fields are no change", () => {
    const checked = validateUserPatch({
      email: "bob@example.com",
      groups: ["ops", "ops", "dev"],
      isSuperuser: true,
      isActive: false,
      lastLogin: 1_600_000_000_001,
      passwordHash: "!disabled",
      permissions: [],
      username: "ｂｏｂ",
      // @ts-expect-error: not a patchable field; ignored
      dateJoined: 0,
    });
    expect(checked).toEqual({
      set: {
        email: "bob@example.com",
        groups: ["ops", "dev"],
        isSuperuser: true,
        isActive: false,
        lastLogin: 1_600_000_000_001,
        passwordHash: "!disabled",
        permissions: [],
        username: "bob",
      },
      unsetEmail: false,
    });
    expect(applyUserPatch(ALICE, checked)).toEqual({ ...ALICE, ...checked.set });
    expect(validateUserPatch({ isActive: undefined, username: undefined } as never)).toEqual({
      set: {},
      unsetEmail: false,
    });
  });

  it("lastLogin: null clears it; email: undefined removes it", () => {
    const checked = validateUserPatch({ lastLogin: null, email: undefined });
    expect(checked).toEqual({ set: { lastLogin: null }, unsetEmail: true });
    const next = applyUserPatch({ ...ALICE, lastLogin: 5 }, checked);
    expect(next.lastLogin).toBeNull();
    expect(Object.hasOwn(next, "email")).toBe(false);
  });

  it("applyUserPatch leaves the current record as it was", () => {
    const current = { ...ALICE };
    applyUserPatch(current, validateUserPatch({ username: "bob", email: undefined }));
    expect(current).toEqual(ALICE);
  });

  it.each<[string, unknown]>([
    ["not an object", null],
    ["a number", 7],
    ["a username with a control character", { username: "a\u0007" }],
    ["an empty username", { username: "" }],
    ["a non-string password hash", { passwordHash: 5 }],
    ["a non-boolean isActive", { isActive: 1 }],
    ["permissions that are not an array", { permissions: "a.b" }],
    ["a fractional lastLogin", { lastLogin: 0.5 }],
    ["a string lastLogin", { lastLogin: "1" }],
    ["a null email", { email: null }],
  ])("rejects %s with InvalidArgumentError", (_name, patch) => {
    expect(codeOf(() => validateUserPatch(patch as never))).toBe("INVALID_ARGUMENT");
  });
});

describe("copyUserRecord and validateUserRecord", () => {
  it("copyUserRecord shares no array and drops an undefined email", () => {
    const copy = copyUserRecord(ALICE);
    expect(copy).toEqual(ALICE);
    expect(copy.permissions).not.toBe(ALICE.permissions);
    expect(copy.groups).not.toBe(ALICE.groups);
    expect(Object.hasOwn(copyUserRecord({ ...ALICE, email: undefined }), "email")).toBe(false);
  });

  it("validateUserRecord reads a stored record back as it was", () => {
    expect(validateUserRecord(JSON.parse(JSON.stringify(ALICE)))).toEqual(ALICE);
    const { email: _email, ...noEmail } = ALICE;
    expect(validateUserRecord({ ...noEmail, lastLogin: 7 })).toEqual({ ...noEmail, lastLogin: 7 });
  });

  it.each<[string, unknown]>([
    ["null", null],
    ["a missing id", { ...ALICE, id: undefined }],
    ["a numeric id", { ...ALICE, id: 1 }],
    ["a missing isActive (no defaults when reading)", { ...ALICE, isActive: undefined }],
    ["missing permissions", { ...ALICE, permissions: undefined }],
    ["a missing dateJoined", { ...ALICE, dateJoined: undefined }],
    ["a bad username", { ...ALICE, username: "a\u0000" }],
    ["a non-string email", { ...ALICE, email: 3 }],
  ])("validateUserRecord rejects %s", (_name, value) => {
    expect(codeOf(() => validateUserRecord(value))).toBe("INVALID_ARGUMENT");
  });
});

describe("validateStringSet", () => {
  it("keeps the first occurrence of each string, in order", () => {
    expect(validateStringSet(["b", "a", "b", "", "a"], "x")).toEqual(["b", "a", ""]);
    expect(validateStringSet([], "x")).toEqual([]);
  });

  it.each<[string, unknown]>([
    ["a string", "a"],
    ["null", null],
    ["an array with a number", ["a", 1]],
    ["an array with null", [null]],
  ])("rejects %s, naming the field", (_name, value) => {
    expect(() => validateStringSet(value, "permissions")).toThrow(/permissions must be an array of strings/);
  });
});

describe("random user ids and group names", () => {
  it("randomUserId makes distinct ids that isRandomUserId accepts", () => {
    const ids = new Set(Array.from({ length: 100 }, randomUserId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(isRandomUserId(id)).toBe(true);
  });

  it.each<unknown>([
    "",
    "1",
    "00000000-0000-0000-0000-00000000000",
    "00000000-0000-0000-0000-0000000000000",
    "ABCDEF00-0000-4000-8000-000000000000",
    " 00000000-0000-4000-8000-000000000000",
    "00000000-0000-4000-8000-000000000000\n",
    { $ne: null },
    null,
    7,
  ])("isRandomUserId refuses %j", (value) => {
    expect(isRandomUserId(value)).toBe(false);
  });

  it("checkGroupName takes 1–150 code units of well-formed text, and nothing else", () => {
    expect(checkGroupName("editors")).toBe("editors");
    expect(checkGroupName("g".repeat(GROUP_NAME_MAX_LENGTH))).toBe("g".repeat(150));
    expect(checkGroupName("\u0000")).toBe("\u0000");
    for (const bad of ["", "g".repeat(151), "x\ud800", "\udc00", null, 1, ["editors"], { $ne: null }]) {
      expect(checkGroupName(bad)).toBeNull();
    }
  });
});

describe("session store arguments", () => {
  const KEY = "k".repeat(32);

  it("checkStoreKey returns a key that passes isStoreKey, and refuses anything else without echoing it", () => {
    expect(checkStoreKey(KEY)).toBe(KEY);
    expect(checkStoreKey("abc12345")).toBe("abc12345");
    for (const bad of [
      "",
      "short",
      "K".repeat(32),
      `${KEY}\n`,
      "../../etc/passwd",
      "a".repeat(65),
      null,
      7,
      {},
    ]) {
      expect(codeOf(() => checkStoreKey(bad))).toBe("INVALID_ARGUMENT");
    }
    expect(() => checkStoreKey("secret-looking-key-0123456789")).toThrow(/^not a valid store key$/);
  });

  it("checkExpiresAt takes whole epoch milliseconds only", () => {
    expect(checkExpiresAt(0)).toBe(0);
    expect(checkExpiresAt(1_700_000_000_000)).toBe(1_700_000_000_000);
    expect(checkExpiresAt(-1)).toBe(-1);
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "1", null, undefined]) {
      expect(codeOf(() => checkExpiresAt(bad))).toBe("INVALID_ARGUMENT");
    }
  });

  it("checkSessionData takes strings, the empty one included", () => {
    expect(checkSessionData("")).toBe("");
    expect(checkSessionData("a\ud800")).toBe("a\ud800");
    for (const bad of [null, undefined, 1, {}, Buffer.from("x")]) {
      expect(codeOf(() => checkSessionData(bad))).toBe("INVALID_ARGUMENT");
    }
  });

  it("checkSessionRecord returns a checked copy of the record", () => {
    const record = { data: "{}", expiresAt: 10, version: 0, extra: true };
    const checked = checkSessionRecord(record);
    expect(checked).toEqual({ data: "{}", expiresAt: 10, version: 0 });
    record.data = "changed";
    expect(checked.data).toBe("{}");
  });

  it.each<[string, unknown]>([
    ["null", null],
    ["a string", "{}"],
    ["data that is not a string", { data: 1, expiresAt: 10, version: 1 }],
    ["a fractional expiresAt", { data: "", expiresAt: 10.5, version: 1 }],
    ["a missing expiresAt", { data: "", version: 1 }],
    ["a negative version", { data: "", expiresAt: 10, version: -1 }],
    ["a fractional version", { data: "", expiresAt: 10, version: 1.5 }],
    ["a string version", { data: "", expiresAt: 10, version: "1" }],
  ])("checkSessionRecord rejects %s", (_name, record) => {
    expect(codeOf(() => checkSessionRecord(record))).toBe("INVALID_ARGUMENT");
  });
});

describe("createDeadlineRunner", () => {
  it("rejects a call past its deadline with timeoutError, maps failures with mapError, resolves the rest", async () => {
    const run = createDeadlineRunner(50, {
      timeoutError: (ms) => new Error(`late after ${ms} ms`),
      mapError: (error) => ({ mapped: error }),
    });
    const started = performance.now();
    await expect(run(() => new Promise(() => {}))).rejects.toThrow("late after 50 ms");
    expect(performance.now() - started).toBeLessThan(50 + 200);
    await expect(run(() => Promise.reject("x"))).rejects.toEqual({ mapped: "x" });
    await expect(run(() => Promise.resolve(7))).resolves.toBe(7);
  });

  it("by default reports a timeout or a foreign failure as StoreUnavailableError, and keeps typed errors", async () => {
    const run = createDeadlineRunner(20);
    const late = await run(() => new Promise(() => {})).catch((e: unknown) => e);
    expect(PorterError.is(late, "STORE_UNAVAILABLE")).toBe(true);
    expect((late as Error).message).toMatch(/within 20 ms/);
    const failed = await run(() => Promise.reject(new Error("boom"))).catch((e: unknown) => e);
    expect(PorterError.is(failed, "STORE_UNAVAILABLE")).toBe(true);
    expect(((failed as Error).cause as Error).message).toBe("boom");
    const typed = new SessionConflictError("k");
    await expect(run(() => Promise.reject(typed))).rejects.toBe(typed);
  });
});
