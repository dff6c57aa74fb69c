import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  randomFillSync,
  timingSafeEqual,
} from "node:crypto";
import { createCookieSessionStore } from "@porter/cookie";
import { jsonCodec } from "@porter/core";
import { sealData, unsealData } from "iron-session";
import type { Scenario } from "../harness.js";
import { MAX_AGE, sessionData } from "../session-data.js";

const SECRET = randomBytes(48).toString("base64url");

/**
 * What sealing at the hardware's pace costs: AES-256-GCM over the same bytes with a key
 * derived once, a random 96-bit nonce from a pooled CSPRNG buffer, base64url on the way out
 * and back. No header, no expiry, no size check: the floor under any encrypted cookie.
 */
function bareAesGcm() {
  const key = randomBytes(32);
  const pool = Buffer.alloc(12 * 1024);
  let offset = pool.length;
  return {
    seal(text: string): string {
      if (offset >= pool.length) {
        randomFillSync(pool);
        offset = 0;
      }
      const nonce = pool.subarray(offset, (offset += 12));
      const cipher = createCipheriv("aes-256-gcm", key, nonce);
      const body = Buffer.concat([nonce, cipher.update(text, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return body.toString("base64url");
    },
    open(value: string): string {
      const bytes = Buffer.from(value, "base64url");
      const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, 12));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      return Buffer.concat([
        decipher.update(bytes.subarray(12, bytes.length - 16)),
        decipher.final(),
      ]).toString("utf8");
    },
  };
}

/** The floor under a signed cookie: base64url(data) + "." + base64url(HMAC-SHA256), checked in constant time. */
function bareHmac() {
  const key = randomBytes(32);
  const mac = (text: string) => createHmac("sha256", key).update(text).digest();
  return {
    seal(text: string): string {
      const body = Buffer.from(text, "utf8").toString("base64url");
      return `${body}.${mac(body).toString("base64url")}`;
    },
    open(value: string): string {
      const dot = value.lastIndexOf(".");
      const body = value.slice(0, dot);
      const given = Buffer.from(value.slice(dot + 1), "base64url");
      const expected = mac(body);
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        throw new Error("bad signature");
      return Buffer.from(body, "base64url").toString("utf8");
    },
  };
}

const fail = (what: string): never => {
  throw new Error(`cookie: ${what} did not round-trip`);
};

/**
 * Cookie sessions, three comparisons:
 * - session ⇄ cookie: the session object to a cookie value and back, codec included, against
 *   iron-session's `sealData` + `unsealData` (which JSON-encode the object themselves);
 * - seal+open, encrypted and signed: the store's `encode` + `decode` of the codec's string,
 *   against the bare primitive over the same bytes.
 */
export function cookieScenarios(): Scenario[] {
  const data = sessionData(1);
  const codec = jsonCodec();
  const text = codec.encode(data);
  const encrypted = createCookieSessionStore({ secret: SECRET, mode: "encrypted" });
  const signed = createCookieSessionStore({ secret: SECRET, mode: "signed" });
  const expiresAt = () => Date.now() + MAX_AGE * 1000;
  const aes = bareAesGcm();
  const hmac = bareHmac();
  const iron = { password: SECRET, ttl: MAX_AGE };

  return [
    {
      name: "session ⇄ cookie (encrypted)",
      engine: "cookie",
      contenders: [
        {
          name: "porter encrypted (codec + encode + decode)",
          role: "porter",
          async op() {
            const value = await encrypted.encode(codec.encode(data), expiresAt());
            const opened = await encrypted.decode(value);
            if (opened === null || codec.decode(opened.data).counter !== 0) fail("porter encrypted");
          },
        },
        {
          name: "iron-session sealData + unsealData",
          role: "peer",
          async op() {
            const sealed = await sealData(data, iron);
            const opened = await unsealData<{ counter?: number }>(sealed, iron);
            if (opened.counter !== 0) fail("iron-session");
          },
        },
      ],
    },
    {
      name: "seal+open (encrypted)",
      engine: "cookie",
      contenders: [
        {
          name: "porter encrypted encode + decode",
          role: "porter",
          async op() {
            const opened = await encrypted.decode(await encrypted.encode(text, expiresAt()));
            if (opened?.data.length !== text.length) fail("porter encrypted");
          },
        },
        {
          name: "bare AES-256-GCM",
          role: "bound",
          async op() {
            if (aes.open(aes.seal(text)).length !== text.length) fail("bare AES-256-GCM");
          },
        },
      ],
    },
    {
      name: "seal+open (signed)",
      engine: "cookie",
      contenders: [
        {
          name: "porter signed encode + decode",
          role: "porter",
          async op() {
            const opened = await signed.decode(await signed.encode(text, expiresAt()));
            if (opened?.data.length !== text.length) fail("porter signed");
          },
        },
        {
          name: "bare HMAC-SHA256",
          role: "bound",
          async op() {
            if (hmac.open(hmac.seal(text)).length !== text.length) fail("bare HMAC-SHA256");
          },
        },
      ],
    },
  ];
}
