/**
 * Strict URL-safe base64 decode: the bytes, or `null` for a character outside `A-Za-z0-9-_`,
 * padding, a length no encoder writes (4n+1), or a set bit after the last byte, so one value has
 * exactly one accepted spelling. The same answers as core's `base64UrlDecode`, without its
 * regular-expression pass over the text.
 *
 * Why decoding and re-encoding is enough: Node's encoder writes only canonical text (the 64
 * URL-safe characters, no padding, never 4n+1 long, no stray bits), so a text that comes back
 * unchanged is canonical, whatever the lenient decoder made of it; and a canonical text always
 * comes back unchanged.
 */
export function decodeBase64Url(text: string): Buffer | null {
  const bytes = Buffer.from(text, "base64url");
  return bytes.toString("base64url") === text ? bytes : null;
}
