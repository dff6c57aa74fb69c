/**
 * One test per vector of real Django output (`django-vectors.json`) for the kinds
 * `hashers.defaults`, `hashers.encode`, `hashers.check_password`, `hashers.must_update_salt` and
 * `crossversion.password`. Each vector runs against hashers configured as that Django version
 * was (`DJANGO_HASHER_DEFAULTS`), with salted MD5 enabled because the generating settings listed it.
 * argon2 and bcrypt are reported as unsupported, by name, as skipped tests.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  type CheckPasswordResult,
  createPasswordHashers,
  DEFAULT_PBKDF2_ITERATIONS,
  DEFAULT_SCRYPT,
  DJANGO_HASHER_DEFAULTS,
  isPasswordUsable,
  type PasswordHashers,
  SALT_LENGTH,
  UNSUPPORTED_ALGORITHMS,
  UNUSABLE_PASSWORD_PREFIX,
  UNUSABLE_PASSWORD_SUFFIX_LENGTH,
} from "../src/auth/index.js";
import { vectorsOf } from "./vectors.js";

interface Vector {
  id: string;
  kind: string;
  django_version: string;
  inputs: Record<string, unknown>;
  expected: unknown;
}

const ofKind = (kind: string) => vectorsOf(kind) as unknown as Vector[];

type Version = keyof typeof DJANGO_HASHER_DEFAULTS;
const versionOf = (v: Vector | string): Version => {
  const full = typeof v === "string" ? v : v.django_version;
  const label = full.split(".").slice(0, 2).join(".");
  if (!(label in DJANGO_HASHER_DEFAULTS)) throw new Error(`no hasher defaults for Django ${full}`);
  return label as Version;
};

const hashersByVersion = new Map<Version, PasswordHashers>();
function hashersFor(version: Version): PasswordHashers {
  let hashers = hashersByVersion.get(version);
  if (hashers === undefined) {
    const defaults = DJANGO_HASHER_DEFAULTS[version];
    hashers = createPasswordHashers({ ...defaults, enabled: [...defaults.enabled, "md5"] });
    hashersByVersion.set(version, hashers);
  }
  return hashers;
}

/** The algorithm a stored hash names when it is one Porter does not implement. */
function unsupportedAlgorithm(encoded: string): string | undefined {
  const prefix = encoded.split("$")[0] ?? "";
  return UNSUPPORTED_ALGORITHMS.includes(prefix) ? prefix : undefined;
}

/** An unsupported algorithm is identified by name, never verified, and answered like any mismatch. */
async function expectRefused(
  hashers: ReturnType<typeof createPasswordHashers>,
  password: string,
  encoded: string,
  algorithm: string,
): Promise<void> {
  expect(hashers.identify(encoded)).toEqual({ algorithm, supported: false });
  expect(await hashers.checkPassword(password, encoded)).toEqual({ ok: false, needsRehash: false });
}

/**
 * Whether a password verifies depends on the reader's enabled hashers only (iterations and scrypt
 * parameters decide `needsRehash`, not `ok`), so readers with the same hashers share one check.
 */
const readerOf = (v: Vector): Version => {
  const version = versionOf(v);
  return DJANGO_HASHER_DEFAULTS[version].enabled.includes("scrypt") ? "5.2" : version;
};

// Many vectors repeat one (version, password, hash); each distinct check runs once, all in parallel.
const checks = new Map<string, Promise<CheckPasswordResult>>();
function check(version: Version, password: string, encoded: string): Promise<CheckPasswordResult> {
  const key = JSON.stringify([version, password, encoded]);
  let result = checks.get(key);
  if (result === undefined) {
    result = hashersFor(version).checkPassword(password, encoded);
    checks.set(key, result);
  }
  return result;
}

describe("Django password-hasher vectors", () => {
  beforeAll(async () => {
    for (const v of ofKind("hashers.check_password")) {
      const { password, encoded } = v.inputs as { password: string; encoded: string };
      if (unsupportedAlgorithm(encoded) === undefined) void check(versionOf(v), password, encoded);
    }
    for (const v of ofKind("crossversion.password")) {
      const { password, value } = v.inputs as { password: string; value: string };
      if (unsupportedAlgorithm(value) === undefined) void check(readerOf(v), password, value);
    }
    await Promise.all(checks.values());
  }, 120_000);

  describe("hashers.defaults", () => {
    it("Porter's own defaults are Django 5.2's", () => {
      const hashers = createPasswordHashers();
      expect(hashers.iterations).toBe(DEFAULT_PBKDF2_ITERATIONS);
      expect(DEFAULT_PBKDF2_ITERATIONS).toBe(DJANGO_HASHER_DEFAULTS["5.2"].iterations);
      expect(hashers.scrypt).toEqual(DEFAULT_SCRYPT);
      expect(hashers.preferred).toBe("pbkdf2_sha256");
    });

    for (const v of ofKind("hashers.defaults")) {
      it(v.id, () => {
        const e = v.expected as {
          pbkdf2_sha256_iterations: number;
          default_hasher: string;
          salt_length: number;
          unusable_prefix: string;
          unusable_suffix_length: number;
          scrypt?: { work_factor: number; block_size: number; parallelism: number };
        };
        const defaults = DJANGO_HASHER_DEFAULTS[versionOf(v)];
        const hashers = createPasswordHashers(defaults);
        expect(hashers.iterations).toBe(e.pbkdf2_sha256_iterations);
        expect(hashers.preferred).toBe(e.default_hasher);
        expect(SALT_LENGTH).toBe(e.salt_length);
        expect(UNUSABLE_PASSWORD_PREFIX).toBe(e.unusable_prefix);
        expect(UNUSABLE_PASSWORD_SUFFIX_LENGTH).toBe(e.unusable_suffix_length);
        if (e.scrypt === undefined) {
          expect(hashers.enabled.has("scrypt")).toBe(false);
        } else {
          // Django's maxmem 0 means "unbounded"; Porter computes what the parameters need.
          expect(hashers.scrypt).toEqual({
            n: e.scrypt.work_factor,
            r: e.scrypt.block_size,
            p: e.scrypt.parallelism,
          });
        }
      });
    }
  });

  describe("hashers.encode", () => {
    for (const v of ofKind("hashers.encode")) {
      const inputs = v.inputs as {
        algorithm: string;
        password: string;
        salt: string;
        params: { iterations?: number; n?: number; r?: number; p?: number };
      };
      if (UNSUPPORTED_ALGORITHMS.includes(inputs.algorithm)) {
        it(`${v.id} — Porter refuses to make a ${inputs.algorithm} hash (it needs a native library Porter does not ship)`, async () => {
          const hashers = hashersFor(versionOf(v));
          await expect(
            hashers.makePassword(inputs.password, {
              salt: inputs.salt,
              hasher: inputs.algorithm as "pbkdf2_sha256",
            }),
          ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
        });
        continue;
      }
      it(v.id, async () => {
        const hashers = hashersFor(versionOf(v));
        const { params } = inputs;
        const encoded = await hashers.makePassword(inputs.password, {
          salt: inputs.salt,
          hasher: inputs.algorithm as "pbkdf2_sha256",
          ...(params.iterations === undefined ? {} : { iterations: params.iterations }),
          ...(params.n === undefined ? {} : { scrypt: { n: params.n, r: params.r!, p: params.p! } }),
        });
        expect(encoded).toBe(v.expected);
      });
    }
  });

  describe("hashers.check_password", () => {
    for (const v of ofKind("hashers.check_password")) {
      const { password, encoded } = v.inputs as { password: string; encoded: string };
      const unsupported = unsupportedAlgorithm(encoded);
      if (unsupported !== undefined) {
        it(`${v.id} — Porter names ${unsupported} but never verifies it (it needs a native library Porter does not ship)`, async () => {
          await expectRefused(hashersFor(versionOf(v)), password, encoded, unsupported);
          expect(isPasswordUsable(encoded)).toBe((v.expected as { usable: boolean }).usable);
        });
        continue;
      }
      it(v.id, async () => {
        const e = v.expected as {
          check_password: boolean;
          identify_hasher: string | { error: string };
          usable: boolean;
          hasher_must_update: boolean | null;
          setter_called: boolean;
        };
        const version = versionOf(v);
        const hashers = hashersFor(version);
        const result = await check(version, password, encoded);
        expect(result.ok).toBe(e.check_password);
        expect(result.needsRehash).toBe(e.setter_called);
        expect(isPasswordUsable(encoded)).toBe(e.usable);
        if (typeof e.identify_hasher === "string") {
          expect(hashers.identify(encoded)).toEqual({ algorithm: e.identify_hasher, supported: true });
        } else {
          expect(hashers.identify(encoded)).toBeNull();
        }
        expect(hashers.mustUpdate(encoded)).toBe(e.hasher_must_update);
      });
    }

    it("unsupported: argon2, bcrypt_sha256, bcrypt — named, never verified, answered false", async () => {
      const hashers = createPasswordHashers({ iterations: 10_000 });
      expect([...UNSUPPORTED_ALGORITHMS]).toEqual(["argon2", "bcrypt_sha256", "bcrypt"]);
      const samples = ofKind("hashers.check_password")
        .map((v) => v.inputs as { password: string; encoded: string })
        .filter((i) => unsupportedAlgorithm(i.encoded) !== undefined);
      expect(new Set(samples.map((s) => unsupportedAlgorithm(s.encoded)))).toEqual(
        new Set(UNSUPPORTED_ALGORITHMS),
      );
      for (const { password, encoded } of samples) {
        expect(hashers.identify(encoded)).toEqual({
          algorithm: unsupportedAlgorithm(encoded),
          supported: false,
        });
        expect(await hashers.checkPassword(password, encoded)).toEqual({ ok: false, needsRehash: false });
      }
    });
  });

  describe("hashers.must_update_salt", () => {
    for (const v of ofKind("hashers.must_update_salt")) {
      it(v.id, () => {
        const { encoded } = v.inputs as { encoded: string };
        expect(hashersFor(versionOf(v)).mustUpdate(encoded)).toBe(v.expected);
      });
    }
  });

  describe("crossversion.password (read by hashers configured as the reading version)", () => {
    for (const v of ofKind("crossversion.password")) {
      const { password, value } = v.inputs as { password: string; value: string };
      const unsupported = unsupportedAlgorithm(value);
      if (unsupported !== undefined) {
        it(`${v.id} — Porter names ${unsupported} but never verifies it (it needs a native library Porter does not ship)`, async () => {
          await expectRefused(hashersFor(readerOf(v)), password, value, unsupported);
        });
        continue;
      }
      it(v.id, async () => {
        const e = v.expected as { ok: boolean };
        expect((await check(readerOf(v), password, value)).ok).toBe(e.ok);
      });
    }
  });
});
