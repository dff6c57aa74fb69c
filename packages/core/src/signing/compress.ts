import { inflateSync } from "node:zlib";
import { zlibCompress } from "./deflate.js";

/** What a signed `.`-compressed payload may inflate to by default: 1 MiB. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 1024 * 1024;

/** `zlib.compress(data)` as CPython computes it (stock zlib, level 6), byte for byte. */
export function compress(data: Uint8Array): Uint8Array {
  return zlibCompress(data);
}

/**
 * Inflates a zlib stream, refusing to produce more than `maxBytes`. Returns `null` for a corrupt
 * stream or one that would exceed the bound (a zip bomb), never throws.
 */
export function inflateBounded(data: Uint8Array, maxBytes: number): Buffer | null {
  try {
    return inflateSync(data, { maxOutputLength: Math.max(1, maxBytes) });
  } catch {
    return null;
  }
}
