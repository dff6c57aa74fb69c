export { b62Decode, b62Encode } from "./base62.js";
export { DEFAULT_MAX_DECOMPRESSED_BYTES } from "./compress.js";
export {
  COOKIE_SIGNER_KEY_PREFIX,
  type CookieSignerOptions,
  DEFAULT_COOKIE_SIGNER_SALT,
  getCookieSigner,
  type SignCookieValueOptions,
  type SignedCookieSaltFormat,
  signCookieValue,
  signedCookieSalt,
  type UnsignCookieValueOptions,
  unsignCookieValue,
} from "./cookie.js";
export {
  DEFAULT_DUMPS_SALT,
  type DumpsOptions,
  dumps,
  dumpsPayload,
  type LoadsOptions,
  loads,
  loadsDetailed,
  loadsPayload,
} from "./dumps.js";
export {
  PYTHON_JSON_MAX_DEPTH,
  PythonFloat,
  type PythonJsonDumpsOptions,
  type PythonJsonLoadsOptions,
  pythonFloat,
  pythonJsonDumps,
  pythonJsonLoads,
} from "./python-json.js";
export {
  Signer,
  type SignerOptions,
  type SigningAlgorithm,
  type SigningKey,
  type SignObjectOptions,
  TimestampSigner,
  type TimestampSignerOptions,
  type UnsignObjectOptions,
  type UnsignOptions,
  type UnsignResult,
} from "./signer.js";
