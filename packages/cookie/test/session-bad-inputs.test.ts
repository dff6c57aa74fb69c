import { createSessionEngine, jsonCodec } from "@porter/core";
import { describe, expect, it } from "vitest";
import { type CookieSessionEvent, createCookieSessionStore } from "../src/index.js";
import { badInputs, SECRET } from "./helpers.js";
import { djangoCodec, encryptedKit, expand, KITS, MAX_AGE, type ModeKit, NOW } from "./tokens.js";

const entries = badInputs("cookie-session-value");

function engineFor(kit: ModeKit) {
  return createSessionEngine({
    store: kit.store(),
    codec: kit.mode === "django" ? djangoCodec : jsonCodec(),
    clock: () => NOW * 1000,
    maxAge: MAX_AGE,
  });
}

/** What the corpus expects of a value nobody may use: no session, no throw, no new cookie unless the app writes. */
async function expectNoSession(kit: ModeKit, value: string) {
  const store = kit.store();
  expect(await store.decode(value)).toBeNull();
  expect(store.needsReissue(value)).toBe(false);
  const engine = engineFor(kit);
  const session = await engine.load(value);
  expect(session.isEmpty).toBe(true);
  const { setCookie } = await engine.commit(session);
  // Nothing is issued for the hostile value; at most the bad cookie is deleted.
  if (setCookie !== null) expect(setCookie).toMatch(/^sessionid=; .*Max-Age=0/);
}

/** Names the case when a token's meaning does not carry over to this mode. */
function caseName(id: string, kit: ModeKit): string {
  const raw = entries.find((e) => e.id === id)!.value;
  if (id === "CSV-030" && kit.mode !== "django")
    return `${id} (this format has no compression flag: the Django-signed bomb is a foreign value)`;
  if (id === "CSV-031" && kit.mode === "encrypted")
    return `${id} (nothing is signed verbatim in this format: the Django-signed payload is a foreign value)`;
  if (id === "CSV-043" && kit.mode !== "encrypted")
    return `${id} (VALID_ENC is an encrypted-mode cookie: foreign to ${kit.mode} mode)`;
  if (id === "CSV-045" && kit.mode === "signed")
    return `${id} (VALID_SIGNED_ONLY is this mode's own format, no encryption is configured: it is accepted)`;
  if (id === "CSV-045" && kit.mode === "django")
    return `${id} (VALID_SIGNED_ONLY is a Porter signed-mode cookie: foreign to django mode)`;
  if (id === "CSV-025" && kit.mode === "encrypted")
    return `${id} (the header holds 64-bit ms: the largest value, 2^64-1, stands in)`;
  if (kit.mode === "encrypted" && /VALID_(PAYLOAD|TS|SIG)\b/.test(raw))
    return `${id} (payload/timestamp/signature map to ciphertext/nonce/tag)`;
  return id;
}

for (const kit of KITS) {
  describe(`bad-inputs.json cookie-session-value, ${kit.mode} mode`, () => {
    for (const entry of entries) {
      it(caseName(entry.id, kit), async () => {
        const { value, note } = await expand(kit, entry.value);
        const store = kit.store();
        switch (entry.id) {
          case "CSV-023": {
            const decoded = await store.decode(value);
            expect(decoded?.data).toBe('{"k":"v"}');
            expect(decoded!.expiresAt).toBeGreaterThan(NOW * 1000);
            return;
          }
          case "CSV-028": {
            expect(note).toBe("fallback-key");
            expect((await store.decode(value))?.data).toBe('{"k":"v"}');
            expect(store.needsReissue(value)).toBe(true);
            const engine = engineFor(kit);
            const session = await engine.load(value);
            expect(session.get("k")).toBe("v");
            const { setCookie } = await engine.commit(session);
            const reissued = /^sessionid=([^;]+);/.exec(setCookie ?? "")?.[1];
            expect(reissued).toBeDefined();
            const currentOnly = createCookieSessionStore({
              secret: SECRET,
              mode: kit.mode,
              maxAge: MAX_AGE,
              clock: () => NOW * 1000,
            });
            expect(await currentOnly.decode(value)).toBeNull();
            expect((await currentOnly.decode(reissued!))?.data).toBe('{"k":"v"}');
            return;
          }
          case "CSV-035": {
            // The store refuses the quotes; the engine's RFC 6265 parser unwraps them once, then verifies.
            expect(await store.decode(value)).toBeNull();
            const session = await engineFor(kit).loadFromHeader(`sessionid=${value}`);
            expect(session.get("k")).toBe("v");
            return;
          }
          case "CSV-038": {
            expect((await store.decode(value))?.data).toBe("null");
            const session = await engineFor(kit).load(value);
            expect(session.isEmpty).toBe(true);
            expect(session.keys()).toEqual([]);
            return;
          }
          case "CSV-040": {
            const session = await engineFor(kit).load(value);
            expect(session.get("x")).toBe("_$$ND_FUNC$$_function(){process.exit(1)}()");
            return;
          }
          case "CSV-045":
            if (kit.mode === "signed") {
              expect((await store.decode(value))?.data).toBe('{"k":"v"}');
              return;
            }
            break;
          case "CSV-015":
          case "CSV-016": {
            const started = performance.now();
            for (let i = 0; i < 20; i++) expect(await store.decode(value)).toBeNull();
            // The length cap answers before any base64 decode or MAC over a megabyte.
            expect((performance.now() - started) / 20).toBeLessThan(5);
            break;
          }
        }
        await expectNoSession(kit, value);
      });
    }
  });
}

describe("SIGN-08: every encrypted-mode failure looks the same", () => {
  it("a bad tag, a short nonce, a changed byte, a cut tag, a wrong version and garbage all give null and the same single event", async () => {
    const valid = await encryptedKit.issue('{"k":"v"}');
    const probes = [
      (await expand(encryptedKit, "{{VALID_ENC|flip-tag}}")).value,
      (await expand(encryptedKit, "{{VALID_ENC|drop-iv-byte}}")).value,
      valid.slice(0, -1) + (valid.endsWith("A") ? "B" : "A"),
      valid.slice(0, -22),
      "v2.".concat(valid.slice(3)),
      "garbage",
      valid.slice(0, 40),
    ];
    const seen: CookieSessionEvent[][] = [];
    for (const probe of probes) {
      const events: CookieSessionEvent[] = [];
      const store = createCookieSessionStore({
        secret: SECRET,
        onEvent: (e) => events.push(e),
        clock: () => NOW * 1000,
      });
      expect(await store.decode(probe)).toBeNull();
      seen.push(events);
    }
    for (const events of seen) expect(events).toEqual([{ type: "invalid" }]);
  });

  it("a malformed value costs about as much as a bad tag (it runs the same decryption)", async () => {
    const store = createCookieSessionStore({ secret: SECRET, clock: () => NOW * 1000 });
    const badTag = (await expand(encryptedKit, "{{VALID_ENC|flip-tag}}")).value;
    const time = async (value: string) => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < 2000; i++) await store.decode(value);
      return Number(process.hrtime.bigint() - started) / 2000;
    };
    await time(badTag);
    await time("garbage");
    const [tagNs, garbageNs] = [await time(badTag), await time("garbage")];
    // Coarse: the point is that garbage is not an early return that is 10x cheaper.
    expect(garbageNs).toBeGreaterThan(tagNs / 4);
  });
});
