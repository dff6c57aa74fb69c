import { promisify } from "node:util";
import { deflateRaw, inflateRaw } from "node:zlib";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { decodeLossless, losslessByteLength, losslessEncoding } from "@porter/core";
import { readTextAttribute, textAttribute } from "./text-attribute.js";

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

/** No stored session inflates past this; a larger output means the item was not written by this store. */
const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

export interface EncodedData {
  /** `d`, and `f` when compressed. */
  readonly attributes: Record<string, AttributeValue>;
  /** What the attributes count towards DynamoDB's item size, names included. */
  readonly bytes: number;
}

/**
 * Session data as item attributes. `d` holds the string (`S`, or `B` of UTF-16LE when it is
 * not well-formed). Above `compressAboveBytes` the text is deflated on the thread pool and kept
 * as `B` with `f` = `z8` (UTF-8 inside) or `z16` (UTF-16LE inside), when that is smaller:
 * DynamoDB bills writes per KB and refuses items over 400 KB.
 */
export async function encodeSessionData(data: string, compressAboveBytes: number): Promise<EncodedData> {
  const plainBytes = losslessByteLength(data);
  if (plainBytes > compressAboveBytes) {
    const encoding = losslessEncoding(data);
    const packed = await deflate(Buffer.from(data, encoding));
    const format = encoding === "utf8" ? "z8" : "z16";
    if (packed.length < plainBytes) {
      return {
        attributes: { d: { B: packed }, f: { S: format } },
        bytes: 1 + packed.length + 1 + format.length,
      };
    }
  }
  return { attributes: { d: textAttribute(data) }, bytes: 1 + plainBytes };
}

/** The string `encodeSessionData` wrote, or `undefined` for attributes it does not write. */
export async function decodeSessionData(item: Record<string, AttributeValue>): Promise<string | undefined> {
  const format = item.f?.S;
  if (format === undefined) return readTextAttribute(item.d);
  const packed = item.d?.B;
  if ((format !== "z8" && format !== "z16") || !(packed instanceof Uint8Array)) return undefined;
  let text: Buffer;
  try {
    text = await inflate(packed, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch {
    return undefined;
  }
  return decodeLossless(text, format === "z8" ? "utf8" : "utf16le") ?? undefined;
}
