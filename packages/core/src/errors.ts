const BRAND = Symbol.for("porter.error");

/** Every stable error code Porter throws. Codes never change meaning once published. */
export type PorterErrorCode =
  | "SESSION_EXISTS"
  | "SESSION_CONFLICT"
  | "SESSION_MISSING"
  | "SESSION_INTERRUPTED"
  | "SESSION_TOO_LARGE"
  | "COOKIE_TOO_LARGE"
  | "DECODE_FAILED"
  | "STORE_UNAVAILABLE"
  | "BAD_SIGNATURE"
  | "SIGNATURE_EXPIRED"
  | "PERMISSION_DENIED"
  | "USERNAME_TAKEN"
  | "USER_NOT_FOUND"
  | "INVALID_PASSWORD_HASH"
  | "TOO_BUSY"
  | "INVALID_CONFIG"
  | "INVALID_ARGUMENT";

/** Shows enough of a session key to correlate log lines, never enough to use it. */
export function redact(key: unknown): string {
  if (typeof key !== "string") return `<${typeof key}>`;
  return key.length <= 4 ? "…" : `${key.slice(0, 4)}…`;
}

/**
 * The base of every error Porter throws on purpose. Branded, so `PorterError.is(err)`
 * works across two installed copies of core, where `instanceof` does not.
 * Messages say what happened and what to do; they never contain a full session key,
 * a secret or a password.
 */
export class PorterError extends Error {
  readonly [BRAND] = true;
  readonly code: PorterErrorCode;

  constructor(code: PorterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** Works across two installed copies of core, where `instanceof` does not. */
  static is(value: unknown, code?: PorterErrorCode): value is PorterError {
    return (
      typeof value === "object" &&
      value !== null &&
      BRAND in value &&
      (code === undefined || (value as PorterError).code === code)
    );
  }
}

/** `create` was asked for a key that already holds a record. The record is untouched. */
export class SessionExistsError extends PorterError {
  constructor(key: string) {
    super("SESSION_EXISTS", `session ${redact(key)} already exists; create never overwrites`);
  }
}

/** `update` carried a version another writer has already replaced. Nothing was written. */
export class SessionConflictError extends PorterError {
  constructor(key: string) {
    super("SESSION_CONFLICT", `session ${redact(key)} was written concurrently; reload and retry`);
  }
}

/** `update` found no record: the session was deleted (logged out) or expired meanwhile. */
export class SessionMissingError extends PorterError {
  constructor(key: string) {
    super("SESSION_MISSING", `session ${redact(key)} no longer exists; it was not recreated`);
  }
}

/**
 * Django's `SessionInterrupted`: the session was ended by a concurrent request (a logout,
 * for example) before this request could save it. HTTP bindings answer 400 by default.
 */
export class SessionInterruptedError extends PorterError {
  readonly status = 400;
  constructor(options?: { cause?: unknown }) {
    super(
      "SESSION_INTERRUPTED",
      "The request's session was deleted before the request completed. The user may have logged out in a concurrent request, for example.",
      options,
    );
  }
}

/** The encoded session is larger than the configured limit; nothing was written. */
export class SessionTooLargeError extends PorterError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      "SESSION_TOO_LARGE",
      `session data is ${size} bytes, over the limit of ${limit}; nothing was saved`,
    );
  }
}

/** The cookie would exceed what browsers keep (4096 bytes for name + value); browsers drop such cookies silently. */
export class CookieTooLargeError extends PorterError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      "COOKIE_TOO_LARGE",
      `the session cookie would be ${size} bytes, over the browser limit of ${limit}; store less in the session or use a server-side store`,
    );
  }
}

/** Stored or received data could not be decoded. The engine treats it as "no session". */
export class DecodeError extends PorterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("DECODE_FAILED", message, options);
  }
}

/**
 * The backend could not be asked: a connection error, a timeout, a deadline passed.
 * "Absent" (`null`) and "could not ask" are different answers; a store never turns
 * this into `null`. The driver's error, if any, is the `cause`.
 */
export class StoreUnavailableError extends PorterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("STORE_UNAVAILABLE", message, options);
  }
}

/** A signature did not verify with the current secret or any fallback. */
export class BadSignatureError extends PorterError {
  constructor(message = "signature does not match", code: PorterErrorCode = "BAD_SIGNATURE") {
    super(code, message);
  }
}

/** A timestamped signature verified but is older than the allowed age. A `BadSignatureError` too. */
export class SignatureExpiredError extends BadSignatureError {
  constructor(
    readonly age: number,
    readonly maxAge: number,
  ) {
    super(`signature age ${age} > ${maxAge} seconds`, "SIGNATURE_EXPIRED");
  }
}

/** Thrown by an auth backend to stop the chain: no later backend is asked. */
export class PermissionDeniedError extends PorterError {
  constructor(message = "permission denied") {
    super("PERMISSION_DENIED", message);
  }
}

/** A user with this (normalized) username already exists. */
export class UsernameTakenError extends PorterError {
  constructor() {
    super("USERNAME_TAKEN", "a user with that username already exists");
  }
}

/** An update or lookup named a user that does not exist. */
export class UserNotFoundError extends PorterError {
  constructor() {
    super("USER_NOT_FOUND", "no such user");
  }
}

/** Too many password hashes are already queued; try again later. */
export class TooBusyError extends PorterError {
  constructor() {
    super("TOO_BUSY", "too many password checks are queued; try again shortly");
  }
}

/** Porter is configured wrongly: an invalid option (thrown at construction) or a missing piece a request needs (e.g. message storage in the session without a session). */
export class ConfigError extends PorterError {
  constructor(message: string) {
    super("INVALID_CONFIG", message);
  }
}

/** An argument given to a public function is of the wrong shape. */
export class InvalidArgumentError extends PorterError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}
