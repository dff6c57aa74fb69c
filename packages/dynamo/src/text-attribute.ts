import type { AttributeValue } from "@aws-sdk/client-dynamodb";

const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * A string as a DynamoDB attribute, losslessly. DynamoDB strings are UTF-8, which cannot carry
 * a lone surrogate (it would come back as U+FFFD), so a string that is not well-formed UTF-16 is
 * kept as a binary attribute holding its UTF-16LE code units.
 */
export function textAttribute(text: string): AttributeValue {
  return isWellFormed(text) ? { S: text } : { B: Buffer.from(text, "utf16le") };
}

/** The string `textAttribute` wrote, or `undefined` for an attribute it does not write. */
export function readTextAttribute(value: AttributeValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value.S === "string") return value.S;
  if (value.B instanceof Uint8Array && value.B.byteLength % 2 === 0) {
    return Buffer.from(value.B.buffer, value.B.byteOffset, value.B.byteLength).toString("utf16le");
  }
  return undefined;
}

/** Bytes the attribute's value counts towards DynamoDB's item size. */
export function textAttributeBytes(text: string): number {
  return isWellFormed(text) ? Buffer.byteLength(text, "utf8") : text.length * 2;
}

/** A finite number stored in an `N` attribute, or `undefined`. */
export function readNumber(value: AttributeValue | undefined): number | undefined {
  if (value === undefined || typeof value.N !== "string") return undefined;
  const n = Number(value.N);
  return Number.isFinite(n) ? n : undefined;
}

export const numberAttribute = (n: number): AttributeValue => ({ N: String(n) });
