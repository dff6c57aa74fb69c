import { BadSignatureError, InvalidArgumentError, SignatureExpiredError } from "../errors.js";
import type { SigningAlgorithm, SigningKey } from "./signer.js";
import { TimestampSigner } from "./signer.js";

/** Prepended to `SECRET_KEY` (and each fallback) to make the cookie signer's key. */
export const COOKIE_SIGNER_KEY_PREFIX = "django.http.cookies";
/** `get_cookie_signer`'s default salt. */
export const DEFAULT_COOKIE_SIGNER_SALT = "django.core.signing.get_cookie_signer";

export interface CookieSignerOptions {
  /** Django's `SECRET_KEY`; the signer's key is `"django.http.cookies" + secretKey`. */
  readonly secretKey: SigningKey;
  /** Django's `SECRET_KEY_FALLBACKS`, prefixed the same way. */
  readonly fallbackSecretKeys?: readonly SigningKey[] | undefined;
  /** @default "django.core.signing.get_cookie_signer" */
  readonly salt?: string | undefined;
  readonly now?: (() => number) | undefined;
  readonly algorithm?: SigningAlgorithm | undefined;
  readonly maxFutureSkew?: number | undefined;
}

function cookieKey(secret: SigningKey): SigningKey {
  if (typeof secret === "string") return COOKIE_SIGNER_KEY_PREFIX + secret;
  return Buffer.concat([Buffer.from(COOKIE_SIGNER_KEY_PREFIX), secret]);
}

/**
 * Django's `signing.get_cookie_signer(salt)`: a `TimestampSigner` keyed with
 * `"django.http.cookies" + SECRET_KEY` (fallbacks likewise), the key Django uses for signed
 * cookies and the cookie message storage.
 */
export function getCookieSigner(options: CookieSignerOptions): TimestampSigner {
  return new TimestampSigner({
    key: cookieKey(options.secretKey),
    fallbackKeys: options.fallbackSecretKeys?.map(cookieKey),
    salt: options.salt ?? DEFAULT_COOKIE_SIGNER_SALT,
    algorithm: options.algorithm,
    now: options.now,
    maxFutureSkew: options.maxFutureSkew,
  });
}

/**
 * How `set_signed_cookie` derives the signer salt from the cookie name and the caller's salt:
 * - `"v2"` (Django 5.2.15+ and 6.x): `django.http.cookies.v2:{len(salt)}:{salt}{name}`, where the
 *   length counts code points as Python does, so no two (salt, name) pairs collide;
 * - `"legacy"` (Django ≤ 5.2.14): `name + salt`, where `("a", "bc")` and `("ab", "c")` collide.
 */
export type SignedCookieSaltFormat = "v2" | "legacy";

export function signedCookieSalt(name: string, salt = "", format: SignedCookieSaltFormat = "v2"): string {
  if (typeof name !== "string" || typeof salt !== "string") {
    throw new InvalidArgumentError("cookie name and salt must be strings");
  }
  if (format === "legacy") return name + salt;
  return `django.http.cookies.v2:${[...salt].length}:${salt}${name}`;
}

export interface SignCookieValueOptions extends Omit<CookieSignerOptions, "salt"> {
  /** The `salt` argument of `set_signed_cookie`. @default "" */
  readonly salt?: string | undefined;
  /** `"legacy"` only to produce cookies for Django ≤ 5.2.14 readers. @default "v2" */
  readonly format?: SignedCookieSaltFormat | undefined;
}

/** The cookie value Django's `HttpResponse.set_signed_cookie(name, value, salt)` writes. */
export function signCookieValue(name: string, value: string, options: SignCookieValueOptions): string {
  const salt = signedCookieSalt(name, options.salt ?? "", options.format ?? "v2");
  return getCookieSigner({ ...options, salt }).sign(value);
}

export interface UnsignCookieValueOptions extends Omit<CookieSignerOptions, "salt"> {
  /** The `salt` argument of `get_signed_cookie`. @default "" */
  readonly salt?: string | undefined;
  /** Seconds; older cookies throw `SignatureExpiredError`. */
  readonly maxAge?: number | null | undefined;
  /**
   * Which salt derivations a cookie may use:
   * - `"v2"` (default; Django 6.1's default): only the v2 salt;
   * - `"v2-or-legacy"`: v2, then the legacy salt (Django 5.2.15+ with
   *   `SIGNED_COOKIE_LEGACY_SALT_FALLBACK = True`), but never after `SignatureExpiredError`;
   * - `"legacy"`: only the legacy salt (reads like Django ≤ 5.2.14).
   */
  readonly accept?: "v2" | "v2-or-legacy" | "legacy" | undefined;
}

/**
 * The value Django's `request.get_signed_cookie(name, salt=…, max_age=…)` returns for a cookie.
 * Throws `BadSignatureError` (or `SignatureExpiredError`) where Django raises.
 */
export function unsignCookieValue(
  name: string,
  signedValue: string,
  options: UnsignCookieValueOptions,
): string {
  const accept = options.accept ?? "v2";
  const unsignWith = (format: SignedCookieSaltFormat): string =>
    getCookieSigner({ ...options, salt: signedCookieSalt(name, options.salt ?? "", format) }).unsign(
      signedValue,
      {
        maxAge: options.maxAge,
      },
    );
  if (accept === "legacy") return unsignWith("legacy");
  try {
    return unsignWith("v2");
  } catch (error) {
    if (
      accept !== "v2-or-legacy" ||
      error instanceof SignatureExpiredError ||
      !(error instanceof BadSignatureError)
    ) {
      throw error;
    }
    return unsignWith("legacy");
  }
}
