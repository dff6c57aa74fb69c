/**
 * Text helpers for stores that must give back any JavaScript string exactly, lone surrogates
 * included. UTF-8 cannot carry a lone surrogate (Node and most drivers turn one into U+FFFD), so
 * a store keeps well-formed text as UTF-8, the common case and the cheapest, and anything else
 * as its UTF-16LE code units. How a store marks which of the two it wrote is its own format.
 */

/** How `losslessEncoding` keeps a string: UTF-8 when it is well-formed, else UTF-16LE code units. */
export type LosslessEncoding = "utf8" | "utf16le";

/**
 * Whether `text` is well-formed UTF-16: no high surrogate without a low one after it, and no low
 * surrogate without a high one before it. Exactly the strings UTF-8 can carry. Constant time for
 * strings V8 holds one byte per character (all Latin-1, so all ASCII JSON); one native scan
 * otherwise.
 */
export function isWellFormedText(text: string): boolean {
  // ES2024's String.prototype.isWellFormed, present since Node 20; the ES2023 lib lacks its type.
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** The encoding that keeps `text` exactly: `"utf8"` when it is well-formed, else `"utf16le"`. */
export function losslessEncoding(text: string): LosslessEncoding {
  return isWellFormedText(text) ? "utf8" : "utf16le";
}

/** The length in bytes of `text` in `losslessEncoding(text)`. */
export function losslessByteLength(text: string): number {
  return isWellFormedText(text) ? Buffer.byteLength(text, "utf8") : text.length * 2;
}

/**
 * The string in `bytes`, read as `encoding`: `Buffer.from(text, losslessEncoding(text))` read
 * back. UTF-8 is decoded as `Buffer` decodes it (a byte sequence that is not UTF-8 comes back as
 * U+FFFD); UTF-16LE of an odd number of bytes was never written by an encoder and is `null`.
 * `bytes` may be any `Uint8Array` view: it is read in place, not copied.
 */
export function decodeLossless(bytes: Uint8Array, encoding: LosslessEncoding): string | null {
  if (encoding === "utf16le" && bytes.byteLength % 2 !== 0) return null;
  const buffer = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.toString(encoding);
}
