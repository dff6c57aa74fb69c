import { PorterError } from "@porter/core";
import { AWKWARD_TEXT, HOSTILE_KEYS, testKey } from "@porter/core/conformance";
import { Binary, BSON } from "mongodb";
import { describe, expect, it } from "vitest";
import {
  decodeText,
  encodeText,
  expiredFilter,
  liveFilter,
  liveRecord,
  liveVersionFilter,
  SESSION_INDEXES,
  sessionDocument,
  sessionFilter,
  sessionUpdate,
  USER_INDEXES,
} from "../src/documents.js";
import { readUser, userDocument } from "../src/mongo-user-store.js";
import { badInputs } from "./bad-inputs.js";

const HOUR = 3_600_000;

/** True when no object anywhere in `value` has a key starting with `$` other than the store's own operators. */
function operatorsIn(value: unknown, found: string[] = []): string[] {
  if (value instanceof Date || value instanceof Binary || typeof value !== "object" || value === null)
    return found;
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith("$")) found.push(k);
    operatorsIn(v, found);
  }
  return found;
}

function refused(run: () => unknown): PorterError {
  try {
    run();
  } catch (error) {
    expect(PorterError.is(error, "INVALID_ARGUMENT"), String(error)).toBe(true);
    return error as PorterError;
  }
  return expect.fail("expected InvalidArgumentError");
}

describe("filters", () => {
  const key = testKey();
  const corpus = badInputs("session-key", key).map((entry) => [entry.id, entry.value] as const);
  const hostile = [
    ...corpus,
    ...HOSTILE_KEYS.map((value, i) => [`HOSTILE_KEYS[${i}]`, value] as const),
    ["operator object $ne", { $ne: null }],
    ["operator object $gt", { $gt: "" }],
    ["operator object $where", { $where: "sleep(5000) || true" }],
    ["operator object $regex", { $regex: ".*" }],
    ["array", [key]],
    ["boxed string", new String(key)],
    ["object with toString", { toString: () => key }],
  ] as const;

  it("the corpus reaches every builder as a refusal, never as a filter", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(20);
    for (const [id, value] of hostile) {
      const k = value as never;
      for (const build of [
        () => sessionFilter(k),
        () => liveFilter(k, Date.now()),
        () => liveVersionFilter(k, 1, Date.now()),
        () => expiredFilter(k, Date.now()),
        () => sessionDocument(k, "x", Date.now() + HOUR, 1),
      ]) {
        // The message never echoes the input.
        expect(refused(build).message, id).toBe("not a valid store key");
      }
    }
  });

  it("a valid key becomes { _id: { $eq: key } } with the key as a plain string", () => {
    const filter = sessionFilter(key);
    expect(filter).toEqual({ _id: { $eq: key } });
    expect(typeof filter._id.$eq).toBe("string");
    const now = Date.now();
    expect(liveVersionFilter(key, 3, now)).toEqual({
      _id: { $eq: key },
      v: { $eq: 3 },
      x: { $gt: new Date(now) },
    });
    expect(liveFilter(key, now)).toEqual({ _id: { $eq: key }, x: { $gt: new Date(now) } });
    expect(expiredFilter(key, now)).toEqual({ _id: { $eq: key }, x: { $lte: new Date(now) } });
    expect(operatorsIn(liveVersionFilter(key, 3, now)).sort()).toEqual(["$eq", "$eq", "$gt"]);
  });

  it("versions and expiries of the wrong type are refused, so no operator arrives through them", () => {
    for (const version of [{ $ne: null }, "1", Number.NaN, 1.5, null]) {
      refused(() => liveVersionFilter(key, version as never, Date.now()));
    }
    for (const expiresAt of [{ $gt: 0 }, "1", Number.POSITIVE_INFINITY, null]) {
      refused(() => sessionDocument(key, "x", expiresAt as never, 1));
      refused(() => sessionUpdate("x", expiresAt as never));
    }
    refused(() => sessionDocument(key, { $set: { v: 0 } } as never, Date.now(), 1));
  });

  it("session data that looks like operators is stored as an inert string", () => {
    const data = '{"$where":"1","a.b":{"$ne":null}}';
    const doc = sessionDocument(key, data, Date.now() + HOUR, 1);
    expect(doc.d).toBe(data);
    expect(operatorsIn(doc)).toEqual([]);
    expect(operatorsIn(sessionUpdate(data, Date.now() + HOUR)).sort()).toEqual(["$inc", "$set"]);
  });

  it("refuses a session too large for one document before anything is sent", () => {
    const error = (() => {
      try {
        sessionDocument(key, "x".repeat(17 * 1024 * 1024), Date.now() + HOUR, 1);
      } catch (e) {
        return e;
      }
    })();
    expect(PorterError.is(error, "SESSION_TOO_LARGE")).toBe(true);
  });
});

describe("text encoding", () => {
  it("keeps well-formed text as a string and other text as UTF-16LE binary, exactly, through real BSON", () => {
    const texts = [AWKWARD_TEXT, "\ud800", "\udc00x", "a\u0000b", "", "plain", `${"😀".repeat(1000)}\ud83d`];
    for (const text of texts) {
      const stored = encodeText(text);
      expect(typeof stored === "string").toBe(
        (text as unknown as { isWellFormed(): boolean }).isWellFormed(),
      );
      const back = BSON.deserialize(BSON.serialize({ v: stored }), { promoteBuffers: false }).v;
      expect(decodeText(back)).toBe(text);
    }
  });

  it("a plain BSON string would not have kept a lone surrogate (why the binary form exists)", () => {
    const back = BSON.deserialize(BSON.serialize({ v: "a\ud800b" })).v as string;
    expect(back).not.toBe("a\ud800b");
  });

  it("session documents round-trip through BSON to the same record", () => {
    const key = testKey();
    const expiresAt = Date.now() + HOUR;
    for (const data of [AWKWARD_TEXT, "", "x".repeat(1 << 20)]) {
      const doc = sessionDocument(key, data, expiresAt, 7);
      expect(doc.x).toBeInstanceOf(Date);
      const back = BSON.deserialize(BSON.serialize(doc));
      expect(liveRecord(back, Date.now())).toEqual({ data, expiresAt, version: 7 });
      expect(liveRecord(back, expiresAt)).toBeNull();
    }
    expect(liveRecord(null, 0)).toBeNull();
    expect(liveRecord({ _id: key, d: 5, v: 1, x: new Date(expiresAt) }, 0)).toBeNull();
    expect(liveRecord({ _id: key, d: "x", v: 1, x: expiresAt }, 0)).toBeNull();
  });

  it("user documents round-trip through BSON, odd text included", () => {
    const user = {
      id: "0b7c6a52-4a0e-4d4b-9d8e-2f0c9c1f5a10",
      username: "ünïcode",
      passwordHash: "pbkdf2_sha256$600000$salt$hash",
      isActive: true,
      isSuperuser: false,
      permissions: ["blog.add_post", "lone\ud800"],
      groups: ["editors"],
      lastLogin: null,
      dateJoined: 1_700_000_000_000,
      email: "a\u0000b@example.com",
    };
    const back = BSON.deserialize(BSON.serialize(userDocument(user)));
    expect(readUser(back)).toEqual(user);
    expect(readUser({ ...back, isActive: "yes" })).toBeUndefined();
    expect(readUser(null)).toBeUndefined();
  });
});

describe("indexes", () => {
  it("sessions: a TTL index on the Date expiry that expires at the stored instant", () => {
    expect(SESSION_INDEXES).toEqual([{ key: { x: 1 }, name: "porter_expires_ttl", expireAfterSeconds: 0 }]);
    expect(sessionDocument(testKey(), "x", 1_700_000_000_123, 1).x).toEqual(new Date(1_700_000_000_123));
  });

  it("users: a unique index on the username", () => {
    expect(USER_INDEXES).toEqual([{ key: { username: 1 }, name: "porter_username_unique", unique: true }]);
  });
});
