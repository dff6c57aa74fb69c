import { describe, expect, it } from "vitest";
import {
  ALNUM,
  ConfigError,
  checkPassword,
  createHashLimiter,
  createPasswordHashers,
  type HashLimiter,
  InvalidArgumentError,
  identifyHasher,
  isPasswordUsable,
  MAX_PASSWORD_BYTES,
  makePassword,
  type PasswordHasherEvent,
  PorterError,
} from "../src/index.js";
import { rawBadInputs } from "./bad-inputs.js";

interface BadInput {
  id: string;
  target: string;
  value: string;
  expect: string;
  generate?: ({ lit: string } | { rep: string; n: number })[];
}

const badInputs = rawBadInputs() as BadInput[];
const inputValue = (entry: BadInput) =>
  entry.generate === undefined
    ? entry.value
    : entry.generate.map((s) => ("lit" in s ? s.lit : s.rep.repeat(s.n))).join("");

/** A limiter that counts the jobs it runs: each job is one check's hashing (a dummy, a verify, or a verify plus its padding). */
function countingLimiter(): HashLimiter & { jobs: number } {
  const inner = createHashLimiter(2, 100);
  const counter = {
    jobs: 0,
    get concurrency() {
      return inner.concurrency;
    },
    get maxQueue() {
      return inner.maxQueue;
    },
    get active() {
      return inner.active;
    },
    get queued() {
      return inner.queued;
    },
    run<T>(job: () => Promise<T>) {
      counter.jobs++;
      return inner.run(job);
    },
  };
  return counter;
}

const LOW = { iterations: 10_000 } as const;
const ALNUM_22 = /^[A-Za-z0-9]{22}$/;

describe("makePassword", () => {
  it("makes Django's default format: pbkdf2_sha256, 1 000 000 iterations, a 22-character salt, 32 bytes in padded base64", async () => {
    const encoded = await makePassword("letmein");
    const [algorithm, iterations, salt, hash, ...rest] = encoded.split("$");
    expect(rest).toEqual([]);
    expect(algorithm).toBe("pbkdf2_sha256");
    expect(iterations).toBe("1000000");
    expect(salt).toMatch(ALNUM_22);
    expect(Buffer.from(hash!, "base64").length).toBe(32);
    expect(hash).toHaveLength(44);
    expect(await checkPassword("letmein", encoded)).toEqual({ ok: true, needsRehash: false });
  });

  it("draws a fresh 22-character salt from the Django alphabet for every hash (10 000 distinct)", async () => {
    const hashers = createPasswordHashers({ ...LOW, enabled: ["pbkdf2_sha256", "md5"] });
    const salts = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const salt = (await hashers.makePassword("same password", { hasher: "md5" })).split("$")[1]!;
      expect(salt).toMatch(ALNUM_22);
      salts.add(salt);
    }
    expect(salts.size).toBe(10_000);
    expect(ALNUM).toBe("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
  });

  it("makes an unusable password from null: '!' and 40 alphanumerics, never verifying anything", async () => {
    const hashers = createPasswordHashers(LOW);
    const a = await hashers.makePassword(null);
    const b = await hashers.makePassword(null);
    expect(a).toMatch(/^![A-Za-z0-9]{40}$/);
    expect(a).not.toBe(b);
    expect(isPasswordUsable(a)).toBe(false);
    expect(hashers.identify(a)).toBeNull();
    for (const guess of ["", a, a.slice(1), "null"]) {
      expect(await hashers.checkPassword(guess, a)).toEqual({ ok: false, needsRehash: false });
    }
  });

  it("refuses what it cannot hash faithfully with InvalidArgumentError", async () => {
    const hashers = createPasswordHashers(LOW);
    const refusals: [unknown, object?][] = [
      [42],
      [{ $ne: null }],
      [undefined],
      ["x".repeat(MAX_PASSWORD_BYTES + 1)],
      ["é".repeat(MAX_PASSWORD_BYTES / 2 + 1)],
      ["\ud800"],
      ["ok\udfffok"],
      ["x", { salt: "" }],
      ["x", { salt: "a$b" }],
      ["x", { salt: "sea\u0000salt" }],
      ["x", { iterations: 0 }],
      ["x", { iterations: 1.5 }],
      ["x", { iterations: 10 ** 12 }],
      ["x", { hasher: "md5" }],
      ["x", { hasher: "argon2" }],
      ["x", { hasher: "scrypt", scrypt: { n: 1000 } }],
    ];
    for (const [password, options] of refusals) {
      const attempt = hashers.makePassword(password as string, options as never);
      await expect(attempt).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    // Exactly at the limit is fine, and a well-formed surrogate pair is an ordinary character.
    expect(await hashers.makePassword("x".repeat(MAX_PASSWORD_BYTES))).toMatch(/^pbkdf2_sha256\$10000\$/);
    const emoji = await hashers.makePassword("😀");
    expect((await hashers.checkPassword("😀", emoji)).ok).toBe(true);
    expect((await hashers.checkPassword("\ufffd", emoji)).ok).toBe(false);
  });

  it("makes scrypt hashes with the configured parameters and a computed maxmem", async () => {
    const hashers = createPasswordHashers({ ...LOW, preferred: "scrypt" });
    const encoded = await hashers.makePassword("letmein");
    expect(encoded).toMatch(/^scrypt\$16384\$[A-Za-z0-9]{22}\$8\$5\$[A-Za-z0-9+/]{86}==$/);
    expect(await hashers.checkPassword("letmein", encoded)).toEqual({ ok: true, needsRehash: false });
    expect(hashers.mustUpdate(encoded)).toBe(false);
    const older = await hashers.makePassword("letmein", { scrypt: { p: 1 } });
    expect(hashers.mustUpdate(older)).toBe(true);
    expect(await hashers.checkPassword("letmein", older)).toEqual({ ok: true, needsRehash: true });
  });
});

describe("configuration", () => {
  it("refuses iteration counts outside [10 000, 10^8] and absurd scrypt parameters with ConfigError", () => {
    const bad: object[] = [
      { iterations: 0 },
      { iterations: 9_999 },
      { iterations: 1e12 },
      { iterations: 600_000.5 },
      { iterations: "600000" },
      { iterations: 600_000, maxStoredIterations: 500_000 },
      { maxStoredIterations: 2e9 },
      { scrypt: { n: 1000 } },
      { scrypt: { n: 2 ** 21 } },
      { scrypt: { n: 2 ** 20, r: 8 } },
      { scrypt: { p: 100 } },
      { scrypt: { r: 0 } },
      { preferred: "md5" },
      { preferred: "argon2" },
      { enabled: ["pbkdf2_sha256", "argon2"] },
      { enabled: ["pbkdf2_sha1"] },
      { concurrency: 0 },
      { maxQueue: -1 },
      { limiter: createHashLimiter(1, 1), concurrency: 2 },
    ];
    for (const options of bad) {
      expect(() => createPasswordHashers(options), JSON.stringify(options)).toThrow(ConfigError);
    }
    expect(createPasswordHashers({ iterations: 600_000 }).maxStoredIterations).toBe(6_000_000);
  });
});

describe("checkPassword", () => {
  it("verifies blank passwords and nothing else against them (PH-21, PW-001)", async () => {
    const hashers = createPasswordHashers(LOW);
    const blank = await hashers.makePassword("");
    expect((await hashers.checkPassword("", blank)).ok).toBe(true);
    for (const other of [" ", "null", "undefined", "\u0000x"]) {
      expect((await hashers.checkPassword(other, blank)).ok).toBe(false);
    }
    // HMAC zero-pads its key, so PBKDF2 cannot tell "" from "\0" (nor "pw" from "pw\0"): so does Django.
    expect((await hashers.checkPassword("\u0000", blank)).ok).toBe(true);
    expect((await hashers.checkPassword("", await hashers.makePassword("x"))).ok).toBe(false);
  });

  it("reports needsRehash only for a correct password (PH-7) and pads a wrong one against an outdated hash (PH-8)", async () => {
    const hashers = createPasswordHashers({ iterations: 200_000 });
    const old = await hashers.makePassword("letmein", { iterations: 1 });
    const current = await hashers.makePassword("letmein");
    expect(await hashers.checkPassword("letmein", old)).toEqual({ ok: true, needsRehash: true });
    expect(await hashers.checkPassword("nope", old)).toEqual({ ok: false, needsRehash: false });
    expect(await hashers.checkPassword("letmein", current)).toEqual({ ok: true, needsRehash: false });
    expect(await hashers.checkPassword("letmein", current, { preferred: "scrypt" })).toEqual({
      ok: true,
      needsRehash: true,
    });

    // A wrong guess against the 1-iteration hash costs about as much as one against a current hash.
    const time = async (encoded: string) => {
      const start = process.hrtime.bigint();
      await hashers.checkPassword("wrong", encoded);
      return Number(process.hrtime.bigint() - start);
    };
    const oldTimes: number[] = [];
    const currentTimes: number[] = [];
    for (let i = 0; i < 7; i++) {
      oldTimes.push(await time(old));
      currentTimes.push(await time(current));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
    expect(median(oldTimes) / median(currentTimes)).toBeGreaterThan(0.75);
  });

  it("treats pbkdf2_sha1 as verifiable and always due for an upgrade to the preferred hasher", async () => {
    const hashers = createPasswordHashers(LOW);
    const sha1 = await hashers.makePassword("letmein", { hasher: "pbkdf2_sha1" });
    expect(sha1).toMatch(/^pbkdf2_sha1\$10000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{27}=$/);
    expect(await hashers.checkPassword("letmein", sha1)).toEqual({ ok: true, needsRehash: true });
    expect(hashers.mustUpdate(sha1)).toBe(false);
  });

  it("never throws for a stored hash of the wrong type, and still costs one hash", async () => {
    const limiter = countingLimiter();
    const hashers = createPasswordHashers({ ...LOW, limiter });
    const values: unknown[] = [null, undefined, 42, {}, [], ["pbkdf2_sha256"], true, Symbol("x"), () => 1];
    for (const value of values) {
      expect(await hashers.checkPassword("letmein", value)).toEqual({ ok: false, needsRehash: false });
      expect(hashers.identify(value)).toBeNull();
    }
    expect(limiter.jobs).toBe(values.length);
  });

  it("identifies formats as Django does, with unsalted and removed formats unknown (PH-14, PH-20)", () => {
    const hashers = createPasswordHashers(LOW);
    const cases: [string, object | null][] = [
      ["pbkdf2_sha256$1000$salt$abcd", { algorithm: "pbkdf2_sha256", supported: true }],
      ["pbkdf2_sha1$1000$salt$abcd", { algorithm: "pbkdf2_sha1", supported: true }],
      ["scrypt$16384$salt$8$5$abcd", { algorithm: "scrypt", supported: true }],
      ["md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3", { algorithm: "md5", supported: false }],
      ["argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA", { algorithm: "argon2", supported: false }],
      ["bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuu", { algorithm: "bcrypt_sha256", supported: false }],
      ["bcrypt$$2b$12$abcdefghijklmnopqrstuu", { algorithm: "bcrypt", supported: false }],
      ["5f4dcc3b5aa765d61d8327deb882cf99", null],
      ["md5$$5f4dcc3b5aa765d61d8327deb882cf99", null],
      ["sha1$$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", null],
      ["sha1$seasalt$cff36ea83f5706ce9aa7454e63e431fc726b2dc8", null],
      ["crypt$$abN/qM.L/H8EQ", null],
      ["unsalted_md5$x", null],
      ["lolcat$salt$hash", null],
      ["$pbkdf2_sha256$1$a$b", null],
      ["", null],
      ["!", null],
    ];
    for (const [encoded, identity] of cases) expect(hashers.identify(encoded), encoded).toEqual(identity);
    expect(identifyHasher("scrypt$16384$salt$8$5$abcd")).toEqual({ algorithm: "scrypt", supported: true });
    expect(isPasswordUsable(null)).toBe(true);
    expect(isPasswordUsable("")).toBe(true);
    expect(isPasswordUsable("garbage")).toBe(true);
    expect(isPasswordUsable("!")).toBe(false);
  });

  it("verifies salted MD5 only when enabled, and then always asks for an upgrade", async () => {
    const legacy = "md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3";
    expect((await createPasswordHashers(LOW).checkPassword("lètmein", legacy)).ok).toBe(false);
    const migrating = createPasswordHashers({ ...LOW, enabled: ["pbkdf2_sha256", "md5"] });
    expect(await migrating.checkPassword("lètmein", legacy)).toEqual({ ok: true, needsRehash: true });
    expect(await migrating.checkPassword("letmein", legacy)).toEqual({ ok: false, needsRehash: false });
  });

  it("refuses absurd scrypt parameters in a stored hash without computing them", async () => {
    const events: PasswordHasherEvent[] = [];
    const hashers = createPasswordHashers({ ...LOW, onEvent: (e) => events.push(e) });
    const hash = Buffer.alloc(64).toString("base64");
    const absurd = [
      `scrypt$1048576$salt$64$1$${hash}`,
      `scrypt$1000$salt$8$1$${hash}`,
      `scrypt$16384$salt$8$1000$${hash}`,
      `scrypt$4294967296$salt$8$1$${hash}`,
      `scrypt$16384$salt$0$1$${hash}`,
      `scrypt$16384$salt$8$1$${Buffer.alloc(32).toString("base64")}`,
    ];
    const start = Date.now();
    for (const encoded of absurd) {
      expect(await hashers.checkPassword("x", encoded)).toEqual({ ok: false, needsRehash: false });
    }
    expect(Date.now() - start).toBeLessThan(5_000);
    expect(events).toEqual(absurd.map(() => ({ type: "malformed-hash", algorithm: "scrypt" })));
  });

  it("rejects with TooBusyError beyond the queue bound, and never runs more than `concurrency` at once", async () => {
    const limiter = createHashLimiter(1, 2);
    const hashers = createPasswordHashers({ ...LOW, limiter });
    const encoded = await hashers.makePassword("pw");
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => hashers.checkPassword("pw", encoded)),
    );
    const fulfilled = results.filter((r) => r.status === "fulfilled");
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(fulfilled).toHaveLength(3);
    expect(rejected).toHaveLength(2);
    for (const r of rejected) expect(PorterError.is(r.reason, "TOO_BUSY")).toBe(true);

    const pool = createHashLimiter(3, 100);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        pool.run(async () => {
          peak = Math.max(peak, ++running);
          await new Promise((resolve) => setTimeout(resolve, 2));
          running--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(pool.active).toBe(0);
    expect(pool.queued).toBe(0);
  });
});

describe("bad-inputs.json", () => {
  const hashers = () => {
    const events: PasswordHasherEvent[] = [];
    const limiter = countingLimiter();
    // Accepts the corpus's 600 000-iteration records; refuses anything over 10^6 without computing it.
    const h = createPasswordHashers({
      ...LOW,
      maxStoredIterations: 1_000_000,
      limiter,
      onEvent: (e) => events.push(e),
    });
    return { h, events, limiter };
  };

  const hashEvents: Record<string, PasswordHasherEvent[]> = {
    "HASH-001": [{ type: "malformed-hash", algorithm: "pbkdf2_sha256" }],
    "HASH-003": [{ type: "malformed-hash", algorithm: "pbkdf2_sha256" }],
    "HASH-004": [{ type: "malformed-hash", algorithm: "pbkdf2_sha256" }],
    "HASH-006": [{ type: "malformed-hash", algorithm: "pbkdf2_sha256" }],
    "HASH-008": [{ type: "malformed-hash", algorithm: "pbkdf2_sha256" }],
    "HASH-011": [{ type: "unknown-hash" }],
    "HASH-013": [],
    "HASH-014": [{ type: "unknown-hash" }],
    "HASH-016": [{ type: "malformed-hash", algorithm: "pbkdf2_sha256" }],
    "HASH-018": [{ type: "malformed-hash", algorithm: "pbkdf2_sha256" }],
    "HASH-019": [{ type: "malformed-hash", algorithm: "pbkdf2_sha256" }],
    "HASH-021": [{ type: "malformed-hash", algorithm: "pbkdf2_sha256" }],
    "HASH-023": [{ type: "unsupported-hash", algorithm: "bcrypt_sha256" }],
    "HASH-024": [{ type: "unsupported-hash", algorithm: "argon2" }],
    "HASH-026": [{ type: "malformed-hash", algorithm: "pbkdf2_sha256" }],
  };

  for (const entry of badInputs.filter((e) => e.target === "password-hash-string")) {
    it(`${entry.id}: ${entry.expect.slice(0, 90)}`, async () => {
      const { h, events, limiter } = hashers();
      const start = Date.now();
      const result = await h.checkPassword("letmein", entry.value);
      expect(Date.now() - start).toBeLessThan(5_000);
      // Every answer, right or wrong, is exactly one queued hashing job.
      expect(limiter.jobs).toBe(1);
      if (entry.id === "HASH-009") {
        expect(result).toEqual({ ok: true, needsRehash: true });
        expect(await h.checkPassword("letmein!", entry.value)).toEqual({ ok: false, needsRehash: false });
        expect(events).toEqual([]);
        return;
      }
      expect(result).toEqual({ ok: false, needsRehash: false });
      expect(events).toEqual(hashEvents[entry.id] ?? expect.fail(`no expectation written for ${entry.id}`));
    });
  }

  it("the corpus's real 600 000-iteration hash verifies 'letmein' (PWD-01)", async () => {
    const { h } = hashers();
    const record = "pbkdf2_sha256$600000$seasalt$Dgn1dldl4VXmmfKGyTMBBYnS10AZeC0qknzm+1t2DX4=";
    expect(await h.checkPassword("letmein", record)).toEqual({ ok: true, needsRehash: true });
    const sha1 = "pbkdf2_sha1$600000$seasalt$IQtiCF0YTKa0V1w22ApHhXHmF58=";
    expect(await h.checkPassword("letmein", sha1)).toEqual({ ok: true, needsRehash: true });
  });

  for (const entry of badInputs.filter((e) => e.target === "password")) {
    it(`${entry.id}: ${entry.expect.slice(0, 90)}`, async () => {
      const { h, events, limiter } = hashers();
      const value = inputValue(entry);
      switch (entry.id) {
        case "PW-001": {
          const blank = await h.makePassword(value);
          expect((await h.checkPassword("", blank)).ok).toBe(true);
          expect((await h.checkPassword(" ", blank)).ok).toBe(false);
          expect((await h.checkPassword("", await h.makePassword("other"))).ok).toBe(false);
          return;
        }
        case "PW-003": {
          await expect(h.makePassword(value)).rejects.toBeInstanceOf(InvalidArgumentError);
          const stored = await h.makePassword("A");
          limiter.jobs = 0;
          expect(await h.checkPassword(value, stored)).toEqual({ ok: false, needsRehash: false });
          expect(limiter.jobs).toBe(1);
          expect(events).toEqual([{ type: "refused-password", reason: "too-long" }]);
          return;
        }
        case "PW-004": {
          const withNul = await h.makePassword(value);
          expect((await h.checkPassword(value, withNul)).ok).toBe(true);
          expect((await h.checkPassword("pass", withNul)).ok).toBe(false);
          expect((await h.checkPassword("word", withNul)).ok).toBe(false);
          expect((await h.checkPassword(value, await h.makePassword("pass"))).ok).toBe(false);
          return;
        }
        case "PW-006": {
          await expect(h.makePassword(value)).rejects.toBeInstanceOf(InvalidArgumentError);
          const replacement = await h.makePassword("\ufffd");
          expect(await h.checkPassword(value, replacement)).toEqual({ ok: false, needsRehash: false });
          expect(events).toEqual([{ type: "refused-password", reason: "lone-surrogate" }]);
          return;
        }
        case "PW-008": {
          const stored = await h.makePassword("secret");
          expect((await h.checkPassword(value, stored)).ok).toBe(false);
          expect((await h.checkPassword(JSON.parse(value), stored)).ok).toBe(false);
          expect(events).toEqual([{ type: "refused-password", reason: "not-a-string" }]);
          return;
        }
        case "PW-009": {
          const stored = await h.makePassword(`${"A".repeat(72)}C`);
          expect((await h.checkPassword(value, stored)).ok).toBe(false);
          expect((await h.checkPassword(`${"A".repeat(72)}C`, stored)).ok).toBe(true);
          return;
        }
        case "PW-011": {
          const stored = await h.makePassword("letmein");
          expect((await h.checkPassword(value, stored)).ok).toBe(false);
          expect((await h.checkPassword("letmein", await h.makePassword(value))).ok).toBe(false);
          expect((await h.checkPassword(value, await h.makePassword(value))).ok).toBe(true);
          return;
        }
        default:
          expect.fail(`no expectation written for ${entry.id}`);
      }
    });
  }
});
