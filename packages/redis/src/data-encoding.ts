import { decodeLossless, isWellFormedText } from "@porter/core";

/**
 * Session data travels as UTF-8 when the string is well-formed (the common case, and the
 * cheapest), and as UTF-16LE code units otherwise: UTF-8 cannot carry a lone surrogate, and
 * ioredis would silently turn one into U+FFFD.
 */
export type DataFormat = "8" | "16";

export function encodeData(data: string): { payload: string | Buffer; format: DataFormat } {
  return isWellFormedText(data)
    ? { payload: data, format: "8" }
    : { payload: Buffer.from(data, "utf16le"), format: "16" };
}

/** The stored string, or `null` when the format marker is not one this store writes. */
export function decodeData(payload: Buffer, format: Buffer): string | null {
  const f = format.toString("latin1");
  if (f === "8") return decodeLossless(payload, "utf8");
  if (f === "16") return decodeLossless(payload, "utf16le");
  return null;
}
