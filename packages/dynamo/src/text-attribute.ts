import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { decodeLossless, isWellFormedText } from "@porter/core";

/**
 * A string as a DynamoDB attribute, losslessly. DynamoDB strings are UTF-8, which cannot carry
 * a lone surrogate (it would come back as U+FFFD), so a string that is not well-formed UTF-16 is
 * kept as a binary attribute holding its UTF-16LE code units.
 */
export function textAttribute(text: string): AttributeValue {
  return isWellFormedText(text) ? { S: text } : { B: Buffer.from(text, "utf16le") };
}

/** The string `textAttribute` wrote, or `undefined` for an attribute it does not write. */
export function readTextAttribute(value: AttributeValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value.S === "string") return value.S;
  if (value.B instanceof Uint8Array) return decodeLossless(value.B, "utf16le") ?? undefined;
  return undefined;
}

/** A finite number stored in an `N` attribute, or `undefined`. */
export function readNumber(value: AttributeValue | undefined): number | undefined {
  if (value === undefined || typeof value.N !== "string") return undefined;
  const n = Number(value.N);
  return Number.isFinite(n) ? n : undefined;
}

export const numberAttribute = (n: number): AttributeValue => ({ N: String(n) });
