import { createCipheriv, createDecipheriv, hkdfSync, randomFillSync } from "node:crypto";
import { base64UrlEncode } from "@porter/core";
import { decodeBase64Url } from "./base64url.js";
import {
  type CookieFormat,
  EXPIRED,
  INVALID,
  MAX_FUTURE_SKEW_MS,
  MAX_VALUE_LENGTH,
  type Opened,
  type Refused,
} from "./format.js";
import { bytesToText } from "./text.js";

/** The version prefix of the encrypted layout. */
export const ENCRYPTED_PREFIX = "v1.";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** expiresAt and issuedAt, epoch ms, unsigned 64-bit big-endian, ahead of the data. */
const HEADER_BYTES = 16;
const MIN_BYTES = NONCE_BYTES + HEADER_BYTES + TAG_BYTES;
const HKDF_SALT = Buffer.from("porter.cookie-session", "utf8");

/** HKDF-SHA256 `info` for a purpose: one key per (secret, purpose), never shared with another use. */
export function encryptionInfo(purpose: string): string {
  return `porter.cookie-session.v1/aes-256-gcm/${purpose}`;
}

/** The AES-256 key for one secret and purpose. */
export function deriveEncryptionKey(secret: Uint8Array, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, HKDF_SALT, encryptionInfo(purpose), 32));
}

const TWO_32 = 2 ** 32;
/** The high 32 bits of the largest safe integer, 2^53 - 1: a larger high word is not a safe integer. */
const MAX_SAFE_HIGH = 0x1f_ffff;

/** `value` as an unsigned 64-bit big-endian integer; anything but a non-negative safe integer throws. */
function writeUint64(buffer: Buffer, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    // Throws the RangeError (or, for a fraction, BigInt's) that was always thrown here.
    buffer.writeBigUInt64BE(BigInt(value), offset);
    return;
  }
  buffer.writeUInt32BE(Math.floor(value / TWO_32), offset);
  buffer.writeUInt32BE(value >>> 0, offset + 4);
}

/** The unsigned 64-bit big-endian integer at `offset`, or -1 when it passes 2^53 - 1. */
function readUint64(buffer: Buffer, offset: number): number {
  const high = buffer.readUInt32BE(offset);
  if (high > MAX_SAFE_HIGH) return -1;
  return high * TWO_32 + buffer.readUInt32BE(offset + 4);
}

// Nonces come from a CSPRNG pool refilled in blocks: one syscall per 1024 cookies, none reused.
const POOL_NONCES = 1024;
const pool = Buffer.alloc(NONCE_BYTES * POOL_NONCES);
let poolOffset = pool.length;

function nextNonce(): Buffer {
  if (poolOffset >= pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const nonce = Buffer.from(pool.subarray(poolOffset, poolOffset + NONCE_BYTES));
  pool.fill(0, poolOffset, poolOffset + NONCE_BYTES);
  poolOffset += NONCE_BYTES;
  return nonce;
}

/**
 * AES-256-GCM: `v1.` + base64url(nonce ‖ ciphertext ‖ tag). The plaintext is the two
 * timestamps then the data; the AAD binds the version and the purpose. Decryption tries the
 * current key, then each fallback. A malformed value takes the same path as a bad tag: it is
 * run through the same decryptions (over a dummy buffer) and refused with the same answer.
 */
export function encryptedFormat(keys: readonly Buffer[], purpose: string): CookieFormat {
  const aad = Buffer.from(`${ENCRYPTED_PREFIX}${purpose}`, "utf8");
  const dummy = Buffer.alloc(MIN_BYTES + 64);

  function decrypt(key: Buffer, bytes: Buffer): Buffer | null {
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, NONCE_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(aad);
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const head = decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES));
      const tail = decipher.final();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch {
      return null;
    }
  }

  return {
    seal(data, issuedAt, expiresAt) {
      const header = Buffer.alloc(HEADER_BYTES);
      writeUint64(header, 0, expiresAt);
      writeUint64(header, 8, issuedAt);
      const nonce = nextNonce();
      const cipher = createCipheriv("aes-256-gcm", keys[0]!, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad);
      const body = Buffer.concat([
        nonce,
        cipher.update(header),
        cipher.update(data),
        cipher.final(),
        cipher.getAuthTag(),
      ]);
      return ENCRYPTED_PREFIX + base64UrlEncode(body);
    },

    open(value, now): Opened | Refused {
      let bytes: Buffer | null = null;
      if (
        typeof value === "string" &&
        value.length <= MAX_VALUE_LENGTH &&
        value.startsWith(ENCRYPTED_PREFIX)
      ) {
        const decoded = decodeBase64Url(value.slice(ENCRYPTED_PREFIX.length));
        if (decoded !== null && decoded.length >= MIN_BYTES) bytes = decoded;
      }
      const input = bytes ?? dummy;
      let plain: Buffer | null = null;
      let index = -1;
      for (let i = 0; i < keys.length && plain === null; i++) {
        plain = decrypt(keys[i]!, input);
        index = i;
      }
      if (bytes === null || plain === null) return INVALID;
      const expiresAt = readUint64(plain, 0);
      const issuedAt = readUint64(plain, 8);
      if (expiresAt < 0 || issuedAt < 0) return INVALID;
      const data = bytesToText(plain.subarray(HEADER_BYTES));
      if (data === null) return INVALID;
      if (issuedAt > now + MAX_FUTURE_SKEW_MS) return INVALID;
      if (expiresAt <= now) return EXPIRED;
      return { ok: true, data, issuedAt, expiresAt, usedFallback: index > 0 };
    },
  };
}
