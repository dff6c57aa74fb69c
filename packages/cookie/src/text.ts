import { isWellFormedText } from "@porter/core";

// Session data is any JavaScript string, lone surrogates included, and must come back exactly.
// UTF-8 cannot carry a lone surrogate (Buffer.from replaces it with U+FFFD), so strings that are
// not well formed are written as WTF-8: UTF-8 that also encodes an unpaired surrogate as its own
// three-byte sequence. Well-formed text, and so all ASCII JSON, is byte-identical to UTF-8.

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The bytes of `text`: UTF-8, or WTF-8 when it holds unpaired surrogates. */
export function textToBytes(text: string): Buffer {
  if (isWellFormedText(text)) return Buffer.from(text, "utf8");
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      }
    }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else
      out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Buffer.from(out);
}

/**
 * The text `textToBytes` wrote, or `null` for bytes it never writes: invalid UTF-8, overlong
 * forms, code points past U+10FFFF, and a surrogate pair spelled as two three-byte sequences.
 * Never substitutes U+FFFD.
 */
export function bytesToText(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return decodeWtf8(bytes);
  }
}

function decodeWtf8(b: Uint8Array): string | null {
  let out = "";
  let previousHigh = false;
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    let cp: number;
    let size: number;
    if (c < 0x80) {
      cp = c;
      size = 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      cp = c & 0x1f;
      size = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      cp = c & 0x0f;
      size = 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      cp = c & 0x07;
      size = 4;
    } else {
      return null;
    }
    if (i + size > b.length) return null;
    for (let k = 1; k < size; k++) {
      const cont = b[i + k]!;
      if ((cont & 0xc0) !== 0x80) return null;
      cp = (cp << 6) | (cont & 0x3f);
    }
    if ((size === 3 && cp < 0x800) || (size === 4 && (cp < 0x10000 || cp > 0x10ffff))) return null;
    const isHigh = cp >= 0xd800 && cp <= 0xdbff;
    const isLow = cp >= 0xdc00 && cp <= 0xdfff;
    // A high surrogate followed by a low one is a pair, which textToBytes writes as four bytes.
    if (previousHigh && isLow) return null;
    previousHigh = isHigh;
    out += String.fromCodePoint(cp);
    i += size;
  }
  return out;
}
