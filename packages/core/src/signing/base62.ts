import { InvalidArgumentError } from "../errors.js";

const BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE62_TEXT = /^-?[0-9A-Za-z]+$/;

/**
 * Django's `b62_encode`: an integer in base 62 (`0-9A-Za-z`), `"0"` for zero, a leading `-` for
 * negatives. Throws `InvalidArgumentError` for anything but a safe integer or a bigint.
 */
export function b62Encode(value: number | bigint): string {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError("b62Encode takes a safe integer or a bigint");
  }
  let n = BigInt(value);
  if (n === 0n) return "0";
  const sign = n < 0n ? "-" : "";
  if (n < 0n) n = -n;
  let out = "";
  while (n > 0n) {
    out = BASE62_ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return sign + out;
}

/**
 * Django's `b62_decode`. Throws `InvalidArgumentError` for an empty string, a character outside the
 * alphabet, or a value beyond `Number.MAX_SAFE_INTEGER`.
 */
export function b62Decode(text: string): number {
  if (typeof text !== "string" || text.length > 12 || !BASE62_TEXT.test(text)) {
    throw new InvalidArgumentError("not a base62 integer");
  }
  const negative = text.startsWith("-");
  let n = 0;
  for (let i = negative ? 1 : 0; i < text.length; i++) {
    n = n * 62 + BASE62_ALPHABET.indexOf(text[i]!);
  }
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError("base62 integer out of range");
  return negative ? -n : n;
}
