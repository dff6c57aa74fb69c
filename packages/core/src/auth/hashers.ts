import { createHash, pbkdf2, scrypt } from "node:crypto";
import { ALNUM, constantTimeEqual, randomString } from "../crypto/primitives.js";
import { ConfigError, InvalidArgumentError } from "../errors.js";
import { createHashLimiter, defaultHashConcurrency, type HashLimiter } from "./limiter.js";

/** Algorithms Porter can hash and verify, in Django's string formats. */
export type HasherAlgorithm = "pbkdf2_sha256" | "pbkdf2_sha1" | "scrypt" | "md5";

/** Algorithms a new hash may be made with by default (`md5` only verifies legacy hashes, opt-in). */
export type PreferredAlgorithm = "pbkdf2_sha256" | "pbkdf2_sha1" | "scrypt";

/** Django formats Porter recognizes by name but cannot verify (they need native libraries). */
export const UNSUPPORTED_ALGORITHMS: readonly string[] = Object.freeze(["argon2", "bcrypt_sha256", "bcrypt"]);

/** Django's `UNUSABLE_PASSWORD_PREFIX`. */
export const UNUSABLE_PASSWORD_PREFIX = "!";
/** Django's `UNUSABLE_PASSWORD_SUFFIX_LENGTH`. */
export const UNUSABLE_PASSWORD_SUFFIX_LENGTH = 40;
/** Generated salts: 22 characters of `[a-zA-Z0-9]`, i.e. at least 128 bits (Django's `BasePasswordHasher.salt`). */
export const SALT_LENGTH = 22;
/**
 * The longest password accepted, in UTF-8 bytes. Longer ones are refused before any hashing:
 * `makePassword` throws `InvalidArgumentError`, `checkPassword` answers `ok: false`.
 */
export const MAX_PASSWORD_BYTES = 4096;

/** Django 5.2's default PBKDF2 iteration count, Porter's default. */
export const DEFAULT_PBKDF2_ITERATIONS = 1_000_000;
/** The range accepted for the configured iteration count. Counts below 600 000 are for tests only. */
export const PBKDF2_ITERATIONS_RANGE = Object.freeze({ min: 10_000, max: 100_000_000 });

export interface ScryptParams {
  /** Work factor (Django's `work_factor`), a power of two. */
  readonly n: number;
  /** Block size (Django's `block_size`). */
  readonly r: number;
  /** Parallelism (Django's `parallelism`). */
  readonly p: number;
}

/** Django 5.x's scrypt parameters (4.x used p = 1). */
export const DEFAULT_SCRYPT: ScryptParams = Object.freeze({ n: 16384, r: 8, p: 5 });

/**
 * Limits on scrypt parameters, for configuration and for stored hashes alike. A stored hash
 * outside them is refused without being computed: `n` a power of two in [2, 2^20], `r` in
 * [1, 32], `p` in [1, 16], and the memory `128·n·r` at most 64 MiB (Django's default uses 16 MiB).
 */
export const SCRYPT_LIMITS = Object.freeze({
  maxN: 2 ** 20,
  maxR: 32,
  maxP: 16,
  maxMemoryBytes: 64 * 1024 * 1024,
});

/** Hasher defaults of the Django versions Porter was checked against, for sharing a user table with one of them. */
export const DJANGO_HASHER_DEFAULTS: Readonly<
  Record<
    "3.2" | "4.2" | "5.2" | "6.1",
    Readonly<Required<Pick<PasswordHashersOptions, "iterations" | "scrypt" | "enabled">>>
  >
> = Object.freeze({
  "3.2": { iterations: 260_000, scrypt: DEFAULT_SCRYPT, enabled: ["pbkdf2_sha256", "pbkdf2_sha1"] },
  "4.2": {
    iterations: 600_000,
    scrypt: { n: 16384, r: 8, p: 1 },
    enabled: ["pbkdf2_sha256", "pbkdf2_sha1", "scrypt"],
  },
  "5.2": {
    iterations: 1_000_000,
    scrypt: DEFAULT_SCRYPT,
    enabled: ["pbkdf2_sha256", "pbkdf2_sha1", "scrypt"],
  },
  "6.1": {
    iterations: 1_500_000,
    scrypt: DEFAULT_SCRYPT,
    enabled: ["pbkdf2_sha256", "pbkdf2_sha1", "scrypt"],
  },
});

/** What a hasher reports for logs and metrics. Never carries a password or a hash. */
export type PasswordHasherEvent =
  | { type: "malformed-hash"; algorithm: string }
  | { type: "unsupported-hash"; algorithm: string }
  | { type: "unknown-hash" }
  | { type: "refused-password"; reason: "not-a-string" | "too-long" | "lone-surrogate" };

export interface PasswordHashersOptions {
  /** The algorithm new hashes use; a hash in another one is upgraded on the next login. @default "pbkdf2_sha256" */
  preferred?: PreferredAlgorithm;
  /** PBKDF2 iterations for new hashes, within `PBKDF2_ITERATIONS_RANGE`. @default 1_000_000 (Django 5.2) */
  iterations?: number;
  /**
   * The highest iteration count a stored PBKDF2 hash may carry; above it the hash is refused
   * without being computed (an attacker-planted hash must not cost hours). At most 10^9.
   * @default 10 × `iterations`
   */
  maxStoredIterations?: number;
  /** scrypt parameters for new hashes, within `SCRYPT_LIMITS`. @default { n: 16384, r: 8, p: 5 } (Django 5.x) */
  scrypt?: Partial<ScryptParams>;
  /**
   * The algorithms that verify (Django's `PASSWORD_HASHERS`). `md5` (salted, Django's
   * `MD5PasswordHasher`) is off by default; enable it only to migrate legacy hashes, which are
   * then upgraded at the next login.
   * @default ["pbkdf2_sha256", "pbkdf2_sha1", "scrypt"]
   */
  enabled?: readonly HasherAlgorithm[];
  /**
   * The queue every hash of this set goes through; give one limiter to several sets so they share
   * the thread budget. Excludes `concurrency` and `maxQueue`.
   * @default a queue shared by every set built without `concurrency`/`maxQueue`
   */
  limiter?: HashLimiter;
  /** Hashes computed at once. @default one fewer than libuv's thread pool, at most one per core */
  concurrency?: number;
  /** Hashes allowed to wait; beyond, `TooBusyError`. @default 1000 */
  maxQueue?: number;
  /** Security events (malformed stored hash, refused password), for logs. */
  onEvent?: (event: PasswordHasherEvent) => void;
}

export interface CheckPasswordResult {
  /** The password matches. */
  readonly ok: boolean;
  /**
   * The password matched and the stored hash should be replaced by `makePassword(password)`:
   * another algorithm than the preferred one, or outdated parameters (Django's setter, PH-7).
   * Always false when `ok` is false.
   */
  readonly needsRehash: boolean;
}

export interface MakePasswordOptions {
  /** A fixed salt (tests, interop). Non-empty, no `$`, characters of `[A-Za-z0-9./+=_-]`. @default 22 random alphanumerics */
  salt?: string;
  /** @default the configured preferred algorithm */
  hasher?: HasherAlgorithm;
  /** PBKDF2 only. @default the configured iterations */
  iterations?: number;
  /** scrypt only. @default the configured parameters */
  scrypt?: Partial<ScryptParams>;
}

export interface HasherIdentity {
  /** The algorithm named by the hash (Django's `identify_hasher(...).algorithm`). */
  readonly algorithm: string;
  /** Whether this configuration can verify it (false for argon2, bcrypt, and algorithms not enabled). */
  readonly supported: boolean;
}

/**
 * A configured set of password hashers: Django's `PASSWORD_HASHERS` with its parameters.
 *
 * Every hash runs asynchronously on libuv's thread pool behind a bounded queue (`TooBusyError`
 * beyond it), never on the event loop. `checkPassword` never throws for bad input, and every
 * `false` answer costs about one hash at the configured cost: an unusable, unknown, unsupported
 * or malformed stored hash, a `null` or refused password each run one dummy hash instead
 * (Django's fake runtime, PH-6), and a wrong password against an outdated PBKDF2 hash pads the
 * work up to the current count (`harden_runtime`, PH-8). A stored hash is parsed strictly and
 * one with absurd parameters is never computed.
 */
export interface PasswordHashers {
  readonly preferred: PreferredAlgorithm;
  readonly iterations: number;
  readonly maxStoredIterations: number;
  readonly scrypt: ScryptParams;
  readonly enabled: ReadonlySet<HasherAlgorithm>;
  readonly limiter: HashLimiter;
  /**
   * A Django-format hash of `password` (Django's `make_password`); `null` makes an unusable password
   * (`!` + 40 random characters). Throws `InvalidArgumentError` for a non-string, a password over
   * `MAX_PASSWORD_BYTES`, a lone surrogate, or a bad salt; the password is never trimmed or normalized.
   */
  makePassword(password: string | null, options?: MakePasswordOptions): Promise<string>;
  /**
   * Verifies `password` against a stored hash (Django's `check_password`, constant-time over the
   * whole encoded string). `preferred` overrides the configured algorithm for `needsRehash`.
   */
  checkPassword(
    password: unknown,
    encoded: unknown,
    options?: { preferred?: PreferredAlgorithm },
  ): Promise<CheckPasswordResult>;
  /**
   * The identified hasher's own `must_update` (outdated iterations or scrypt parameters, or a
   * PBKDF2/MD5 salt under 128 bits); `null` when the hash cannot be identified or parsed.
   */
  mustUpdate(encoded: unknown): boolean | null;
  /** The algorithm a hash names; `null` for unusable, unsalted, removed or unknown formats (PH-14). */
  identify(encoded: unknown): HasherIdentity | null;
  /** Runs one hash of a random password at the preferred algorithm's cost and resolves `ok: false`. */
  dummyCheck(): Promise<CheckPasswordResult>;
}

const HASHER_ALGORITHMS: readonly HasherAlgorithm[] = ["pbkdf2_sha256", "pbkdf2_sha1", "scrypt", "md5"];
const DEFAULT_ENABLED: readonly HasherAlgorithm[] = ["pbkdf2_sha256", "pbkdf2_sha1", "scrypt"];
const DIGEST = {
  pbkdf2_sha256: { digest: "sha256", length: 32 },
  pbkdf2_sha1: { digest: "sha1", length: 20 },
} as const;
const SCRYPT_DKLEN = 64;
const MAX_STORED_ITERATIONS_CAP = 1_000_000_000;

const DECIMAL = /^[1-9][0-9]{0,9}$/;
const SALT = /^[A-Za-z0-9./+=_-]{1,256}$/;
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX32 = /^[0-9a-f]{32}$/;
const LONE_SURROGATE = /\p{Cs}/u;
// log2(62) bits per character: 22 characters are the first to reach 128 bits.
const SALT_ENTROPY_BITS = Math.log2(62);

const FAILED: CheckPasswordResult = Object.freeze({ ok: false, needsRehash: false });

type Parsed =
  | { algorithm: "pbkdf2_sha256" | "pbkdf2_sha1"; iterations: number; salt: string; hash: string }
  | { algorithm: "scrypt"; n: number; r: number; p: number; salt: string; hash: string }
  | { algorithm: "md5"; salt: string; hash: string };

type Classified =
  | { kind: "parsed"; parsed: Parsed }
  | { kind: "unusable" }
  | { kind: "unknown" }
  | { kind: "unsupported"; algorithm: string }
  | { kind: "malformed"; algorithm: string };

/** Django's `is_password_usable`: false only for a string starting with `!` (true even for `null` and garbage, PH-11). */
export function isPasswordUsable(encoded: unknown): boolean {
  return !(typeof encoded === "string" && encoded.startsWith(UNUSABLE_PASSWORD_PREFIX));
}

/** The algorithm prefix Django's `identify_hasher` reads, or null for the unsalted legacy formats (removed in Django 5). */
function algorithmOf(encoded: string): string | null {
  if (/^[0-9a-f]{32}$/.test(encoded) || /^md5\$\$[0-9a-f]{32}$/.test(encoded)) return null;
  if (/^sha1\$\$[0-9a-f]{40}$/.test(encoded)) return null;
  const cut = encoded.indexOf("$");
  return cut <= 0 ? null : encoded.slice(0, cut);
}

function isPowerOfTwo(n: number): boolean {
  return n >= 2 && (n & (n - 1)) === 0;
}

function scryptWithinLimits({ n, r, p }: ScryptParams): boolean {
  return (
    Number.isSafeInteger(n) &&
    Number.isSafeInteger(r) &&
    Number.isSafeInteger(p) &&
    isPowerOfTwo(n) &&
    n <= SCRYPT_LIMITS.maxN &&
    r >= 1 &&
    r <= SCRYPT_LIMITS.maxR &&
    p >= 1 &&
    p <= SCRYPT_LIMITS.maxP &&
    128 * n * r <= SCRYPT_LIMITS.maxMemoryBytes
  );
}

/** What OpenSSL needs for these parameters (V: 128·r·(n+2), B: 128·r·p), with slack. */
function scryptMaxmem({ n, r, p }: ScryptParams): number {
  return 128 * r * (n + 2) + 128 * r * p + 1024 * 1024;
}

function isCanonicalBase64(text: string): boolean {
  return text.length > 0 && STD_BASE64.test(text) && Buffer.from(text, "base64").toString("base64") === text;
}

function decimal(text: string | undefined): number | null {
  return text !== undefined && DECIMAL.test(text) ? Number(text) : null;
}

function checkPasswordInput(password: string): "too-long" | "lone-surrogate" | null {
  // A string longer than the byte limit in UTF-16 units is longer in UTF-8 too; no need to measure it.
  if (password.length > MAX_PASSWORD_BYTES || Buffer.byteLength(password, "utf8") > MAX_PASSWORD_BYTES)
    return "too-long";
  if (LONE_SURROGATE.test(password)) return "lone-surrogate";
  return null;
}

function pbkdf2Async(
  password: Uint8Array,
  salt: string,
  iterations: number,
  digest: "sha256" | "sha1",
  length: number,
) {
  return new Promise<Buffer>((resolve, reject) =>
    pbkdf2(password, salt, iterations, length, digest, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

function scryptAsync(password: Uint8Array, salt: string, params: ScryptParams) {
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(
      password,
      salt,
      SCRYPT_DKLEN,
      { N: params.n, r: params.r, p: params.p, maxmem: scryptMaxmem(params) },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

let defaultHashers: PasswordHashers | undefined;
let sharedLimiter: HashLimiter | undefined;

/** The hashers used when none are given: Django 5.2's defaults. */
export function getDefaultPasswordHashers(): PasswordHashers {
  defaultHashers ??= createPasswordHashers();
  return defaultHashers;
}

function validateScryptConfig(params: Partial<ScryptParams> | undefined, base: ScryptParams): ScryptParams {
  const merged = { n: params?.n ?? base.n, r: params?.r ?? base.r, p: params?.p ?? base.p };
  if (!scryptWithinLimits(merged)) {
    throw new ConfigError(
      `scrypt parameters n=${merged.n} r=${merged.r} p=${merged.p} are outside the limits (n a power of two ≤ 2^20, r ≤ 32, p ≤ 16, 128·n·r ≤ 64 MiB)`,
    );
  }
  return Object.freeze(merged);
}

/** Builds a configured set of hashers. Invalid options throw `ConfigError`. */
export function createPasswordHashers(options: PasswordHashersOptions = {}): PasswordHashers {
  const preferred = options.preferred ?? "pbkdf2_sha256";
  if (!(["pbkdf2_sha256", "pbkdf2_sha1", "scrypt"] as const).includes(preferred)) {
    throw new ConfigError(`preferred must be pbkdf2_sha256, pbkdf2_sha1 or scrypt, not ${String(preferred)}`);
  }
  const iterations = options.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
  if (
    !Number.isSafeInteger(iterations) ||
    iterations < PBKDF2_ITERATIONS_RANGE.min ||
    iterations > PBKDF2_ITERATIONS_RANGE.max
  ) {
    throw new ConfigError(
      `iterations must be an integer in [${PBKDF2_ITERATIONS_RANGE.min}, ${PBKDF2_ITERATIONS_RANGE.max}], got ${String(iterations)}`,
    );
  }
  const maxStoredIterations =
    options.maxStoredIterations ?? Math.min(10 * iterations, MAX_STORED_ITERATIONS_CAP);
  if (
    !Number.isSafeInteger(maxStoredIterations) ||
    maxStoredIterations < iterations ||
    maxStoredIterations > MAX_STORED_ITERATIONS_CAP
  ) {
    throw new ConfigError(
      `maxStoredIterations must be an integer in [iterations, ${MAX_STORED_ITERATIONS_CAP}]`,
    );
  }
  const scryptParams = validateScryptConfig(options.scrypt, DEFAULT_SCRYPT);
  const enabledList = options.enabled ?? DEFAULT_ENABLED;
  for (const algorithm of enabledList) {
    if (!HASHER_ALGORITHMS.includes(algorithm)) {
      throw new ConfigError(
        `unknown hasher ${String(algorithm)}; supported: ${HASHER_ALGORITHMS.join(", ")} (argon2 and bcrypt are not)`,
      );
    }
  }
  const enabled: ReadonlySet<HasherAlgorithm> = new Set(enabledList);
  if (!enabled.has(preferred)) throw new ConfigError(`the preferred hasher ${preferred} must be enabled`);

  let limiter: HashLimiter;
  if (options.limiter !== undefined) {
    if (options.concurrency !== undefined || options.maxQueue !== undefined) {
      throw new ConfigError("give either limiter or concurrency/maxQueue, not both");
    }
    limiter = options.limiter;
  } else if (options.concurrency === undefined && options.maxQueue === undefined) {
    // Hashers built with default limits share one queue, so several instances still respect the pool.
    sharedLimiter ??= createHashLimiter();
    limiter = sharedLimiter;
  } else {
    const concurrency = options.concurrency ?? defaultHashConcurrency();
    const maxQueue = options.maxQueue ?? 1000;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 256) {
      throw new ConfigError("concurrency must be an integer in [1, 256]");
    }
    if (!Number.isSafeInteger(maxQueue) || maxQueue < 0)
      throw new ConfigError("maxQueue must be a non-negative integer");
    limiter = createHashLimiter(concurrency, maxQueue);
  }

  const emit = (event: PasswordHasherEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A failing log hook must not change an authentication answer.
    }
  };

  function classify(encoded: unknown): Classified {
    if (typeof encoded !== "string") return { kind: "unknown" };
    if (!isPasswordUsable(encoded)) return { kind: "unusable" };
    const algorithm = algorithmOf(encoded);
    if (algorithm === null) return { kind: "unknown" };
    if (!(HASHER_ALGORITHMS as readonly string[]).includes(algorithm)) {
      return UNSUPPORTED_ALGORITHMS.includes(algorithm)
        ? { kind: "unsupported", algorithm }
        : { kind: "unknown" };
    }
    if (!enabled.has(algorithm as HasherAlgorithm)) return { kind: "unsupported", algorithm };
    const parsed = parse(algorithm as HasherAlgorithm, encoded);
    return parsed === null ? { kind: "malformed", algorithm } : { kind: "parsed", parsed };
  }

  function parse(algorithm: HasherAlgorithm, encoded: string): Parsed | null {
    const parts = encoded.split("$");
    switch (algorithm) {
      case "pbkdf2_sha256":
      case "pbkdf2_sha1": {
        if (parts.length !== 4) return null;
        const count = decimal(parts[1]);
        const salt = parts[2]!;
        const hash = parts[3]!;
        if (count === null || count > maxStoredIterations || !SALT.test(salt) || !isCanonicalBase64(hash))
          return null;
        return { algorithm, iterations: count, salt, hash };
      }
      case "scrypt": {
        if (parts.length !== 6) return null;
        const n = decimal(parts[1]);
        const r = decimal(parts[3]);
        const p = decimal(parts[4]);
        const salt = parts[2]!;
        const hash = parts[5]!;
        if (n === null || r === null || p === null || !scryptWithinLimits({ n, r, p })) return null;
        if (!SALT.test(salt) || !isCanonicalBase64(hash)) return null;
        return { algorithm, n, r, p, salt, hash };
      }
      case "md5": {
        if (parts.length !== 3) return null;
        const salt = parts[1]!;
        const hash = parts[2]!;
        if (!SALT.test(salt) || !HEX32.test(hash)) return null;
        return { algorithm, salt, hash };
      }
    }
  }

  function saltTooShort(salt: string): boolean {
    return salt.length * SALT_ENTROPY_BITS < 128;
  }

  function ownMustUpdate(parsed: Parsed): boolean {
    switch (parsed.algorithm) {
      case "pbkdf2_sha256":
      case "pbkdf2_sha1":
        return parsed.iterations !== iterations || saltTooShort(parsed.salt);
      case "scrypt":
        return parsed.n !== scryptParams.n || parsed.r !== scryptParams.r || parsed.p !== scryptParams.p;
      case "md5":
        return saltTooShort(parsed.salt);
    }
  }

  /** The derivation itself, on the thread pool (md5 is a single cheap digest). */
  async function derive(parsed: Parsed, password: Uint8Array): Promise<string> {
    switch (parsed.algorithm) {
      case "pbkdf2_sha256":
      case "pbkdf2_sha1": {
        const { digest, length } = DIGEST[parsed.algorithm];
        const key = await pbkdf2Async(password, parsed.salt, parsed.iterations, digest, length);
        return `${parsed.algorithm}$${parsed.iterations}$${parsed.salt}$${key.toString("base64")}`;
      }
      case "scrypt": {
        const key = await scryptAsync(password, parsed.salt, parsed);
        return `scrypt$${parsed.n}$${parsed.salt}$${parsed.r}$${parsed.p}$${key.toString("base64")}`;
      }
      case "md5": {
        const hex = createHash("md5").update(parsed.salt).update(password).digest("hex");
        return `md5$${parsed.salt}$${hex}`;
      }
    }
  }

  function expectedLength(parsed: Parsed): boolean {
    switch (parsed.algorithm) {
      case "pbkdf2_sha256":
      case "pbkdf2_sha1":
        return Buffer.from(parsed.hash, "base64").length === DIGEST[parsed.algorithm].length;
      case "scrypt":
        return Buffer.from(parsed.hash, "base64").length === SCRYPT_DKLEN;
      case "md5":
        return true;
    }
  }

  function dummyParsed(): Parsed {
    const salt = randomString(SALT_LENGTH, ALNUM);
    if (preferred === "scrypt") return { algorithm: "scrypt", ...scryptParams, salt, hash: "" };
    return { algorithm: preferred, iterations, salt, hash: "" };
  }

  function dummyCheck(): Promise<CheckPasswordResult> {
    const password = Buffer.from(randomString(UNUSABLE_PASSWORD_SUFFIX_LENGTH, ALNUM));
    return limiter.run(async () => {
      await derive(dummyParsed(), password);
      return FAILED;
    });
  }

  async function checkPassword(
    password: unknown,
    encoded: unknown,
    checkOptions?: { preferred?: PreferredAlgorithm },
  ): Promise<CheckPasswordResult> {
    const preferredNow = checkOptions?.preferred ?? preferred;
    if (password === null || password === undefined) return dummyCheck();
    if (typeof password !== "string") {
      emit({ type: "refused-password", reason: "not-a-string" });
      return dummyCheck();
    }
    const refused = checkPasswordInput(password);
    if (refused !== null) {
      emit({ type: "refused-password", reason: refused });
      return dummyCheck();
    }
    const classified = classify(encoded);
    if (classified.kind !== "parsed") {
      if (classified.kind === "unknown") emit({ type: "unknown-hash" });
      else if (classified.kind === "unsupported")
        emit({ type: "unsupported-hash", algorithm: classified.algorithm });
      else if (classified.kind === "malformed")
        emit({ type: "malformed-hash", algorithm: classified.algorithm });
      return dummyCheck();
    }
    const { parsed } = classified;
    if (!expectedLength(parsed)) {
      emit({ type: "malformed-hash", algorithm: parsed.algorithm });
      return dummyCheck();
    }
    const stored = encoded as string;
    const bytes = Buffer.from(password, "utf8");
    const hasherChanged = parsed.algorithm !== preferredNow;
    const mustUpdate = hasherChanged || preferredMustUpdate(parsed, preferredNow);
    return limiter.run(async () => {
      const ok = constantTimeEqual(await derive(parsed, bytes), stored);
      const pbkdf2Hash = parsed.algorithm === "pbkdf2_sha256" || parsed.algorithm === "pbkdf2_sha1";
      if (!ok && !hasherChanged && mustUpdate && pbkdf2Hash) {
        // harden_runtime: pad a wrong guess against an outdated hash up to the current cost.
        const extra = iterations - parsed.iterations;
        if (extra > 0) await derive({ ...parsed, iterations: extra }, bytes);
      }
      return ok ? { ok: true, needsRehash: mustUpdate } : FAILED;
    });
  }

  /** Django's `preferred.must_update(encoded)`, asked only when the stored algorithm is the preferred one. */
  function preferredMustUpdate(parsed: Parsed, preferredNow: PreferredAlgorithm): boolean {
    return parsed.algorithm === preferredNow ? ownMustUpdate(parsed) : true;
  }

  async function makePassword(
    password: string | null,
    makeOptions: MakePasswordOptions = {},
  ): Promise<string> {
    if (password === null)
      return UNUSABLE_PASSWORD_PREFIX + randomString(UNUSABLE_PASSWORD_SUFFIX_LENGTH, ALNUM);
    if (typeof password !== "string") {
      throw new InvalidArgumentError(`password must be a string or null, got ${typeof password}`);
    }
    const refused = checkPasswordInput(password);
    if (refused === "too-long")
      throw new InvalidArgumentError(`password is longer than ${MAX_PASSWORD_BYTES} bytes`);
    if (refused === "lone-surrogate") {
      throw new InvalidArgumentError("password contains a lone UTF-16 surrogate and has no UTF-8 encoding");
    }
    const algorithm = makeOptions.hasher ?? preferred;
    if (!enabled.has(algorithm)) throw new InvalidArgumentError(`hasher ${String(algorithm)} is not enabled`);
    const salt = makeOptions.salt ?? randomString(SALT_LENGTH, ALNUM);
    if (typeof salt !== "string" || !SALT.test(salt)) {
      throw new InvalidArgumentError(
        "salt must be provided and cannot contain $ (allowed: [A-Za-z0-9./+=_-], 1–256)",
      );
    }
    let parsed: Parsed;
    if (algorithm === "scrypt") {
      const params = validateParams(makeOptions.scrypt);
      parsed = { algorithm, ...params, salt, hash: "" };
    } else if (algorithm === "md5") {
      parsed = { algorithm, salt, hash: "" };
    } else {
      const count = makeOptions.iterations ?? iterations;
      if (!Number.isSafeInteger(count) || count < 1 || count > maxStoredIterations) {
        throw new InvalidArgumentError(`iterations must be an integer in [1, ${maxStoredIterations}]`);
      }
      parsed = { algorithm, iterations: count, salt, hash: "" };
    }
    const bytes = Buffer.from(password, "utf8");
    return limiter.run(() => derive(parsed, bytes));
  }

  function validateParams(params: Partial<ScryptParams> | undefined): ScryptParams {
    try {
      return validateScryptConfig(params, scryptParams);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  }

  return {
    preferred,
    iterations,
    maxStoredIterations,
    scrypt: scryptParams,
    enabled,
    limiter,
    makePassword,
    checkPassword,
    dummyCheck,
    mustUpdate(encoded) {
      const classified = classify(encoded);
      return classified.kind === "parsed" ? ownMustUpdate(classified.parsed) : null;
    },
    identify(encoded) {
      const classified = classify(encoded);
      switch (classified.kind) {
        case "parsed":
          return { algorithm: classified.parsed.algorithm, supported: true };
        case "malformed":
          return { algorithm: classified.algorithm, supported: true };
        case "unsupported":
          return { algorithm: classified.algorithm, supported: false };
        default:
          return null;
      }
    },
  };
}

/** `makePassword` with the default hashers, or the ones given (Django's `make_password`). */
export function makePassword(
  password: string | null,
  options: MakePasswordOptions & { hashers?: PasswordHashers } = {},
): Promise<string> {
  const { hashers = getDefaultPasswordHashers(), ...rest } = options;
  return hashers.makePassword(password, rest);
}

/** `checkPassword` with the default hashers, or the ones given (Django's `check_password`). */
export function checkPassword(
  password: unknown,
  encoded: unknown,
  options: { preferred?: PreferredAlgorithm; hashers?: PasswordHashers } = {},
): Promise<CheckPasswordResult> {
  const { hashers = getDefaultPasswordHashers(), ...rest } = options;
  return hashers.checkPassword(password, encoded, rest);
}

/** Django's `identify_hasher`, without throwing: `null` where Django raises `ValueError`. */
export function identifyHasher(
  encoded: unknown,
  options: { hashers?: PasswordHashers } = {},
): HasherIdentity | null {
  return (options.hashers ?? getDefaultPasswordHashers()).identify(encoded);
}
