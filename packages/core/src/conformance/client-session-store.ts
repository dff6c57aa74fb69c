import assert from "node:assert/strict";
import type { ClientSessionStore } from "../contracts.js";
import { isCookieValue } from "../session/cookies.js";
import { resolveRunner, type TestRunner } from "./runner.js";
import { AWKWARD_TEXT } from "./session-store.js";

export interface DescribeClientSessionStoreOptions<S extends ClientSessionStore = ClientSessionStore> {
  /** A store with the secret(s) under test. */
  create: () => S | Promise<S>;
  /** A store configured with a different, unrelated secret: nothing it issues may decode. */
  createWithOtherSecret?: () => S | Promise<S>;
  /** The largest `data` (characters) the store promises to encode; the kit round-trips one that size. @default 2000 */
  maxDataLength?: number;
  runner?: TestRunner;
}

const HOUR = 3_600_000;

/** Registers the conformance suite for a `ClientSessionStore` (a session kept in the cookie). */
export function describeClientSessionStore<S extends ClientSessionStore>(
  name: string,
  options: DescribeClientSessionStoreOptions<S>,
): void {
  const t = resolveRunner(options.runner);
  const maxData = options.maxDataLength ?? 2000;

  t.describe(`ClientSessionStore conformance: ${name}`, () => {
    t.it("declares contract version 1 and clientSide", async () => {
      const store = await options.create();
      assert.equal(store.contractVersion, 1);
      assert.equal(store.clientSide, true);
    });

    t.it("round-trips data and expiry, in a cookie-safe value", async () => {
      const store = await options.create();
      const expiresAt = Date.now() + HOUR;
      const value = await store.encode('{"user":"alice"}', expiresAt);
      assert.ok(isCookieValue(value), "the encoded value needs no quoting in a cookie");
      const decoded = await store.decode(value);
      assert.equal(decoded?.data, '{"user":"alice"}');
      assert.ok(
        decoded !== null && Math.abs(decoded.expiresAt - expiresAt) < 1000,
        "expiry survives (to the second)",
      );
    });

    t.it("round-trips unicode exactly (astral, NUL, lone surrogates, RTL)", async () => {
      const store = await options.create();
      const value = await store.encode(AWKWARD_TEXT, Date.now() + HOUR);
      assert.equal((await store.decode(value))?.data, AWKWARD_TEXT);
    });

    t.it(`round-trips ${maxData} characters of data`, async () => {
      const store = await options.create();
      let data = "";
      for (let i = 0; data.length < maxData; i++) data += String.fromCharCode(33 + ((i * 7919) % 90));
      data = data.slice(0, maxData);
      assert.equal((await store.decode(await store.encode(data, Date.now() + HOUR)))?.data, data);
    });

    t.it("enforces the expiry from inside the payload", async () => {
      const store = await options.create();
      const value = await store.encode('{"a":1}', Date.now() - 1000);
      assert.equal(await store.decode(value), null);
    });

    t.it(
      "decodes garbage, truncations and every single-character change to null without throwing",
      async () => {
        const store = await options.create();
        const value = await store.encode('{"user":"alice","role":"admin"}', Date.now() + HOUR);
        const probes = new Set<string>([
          "",
          " ",
          ":",
          "::",
          ".",
          "a:b:c",
          "\u0000",
          "😀",
          "%",
          "x".repeat(10_000),
          `${value} `,
        ]);
        for (let cut = 1; cut < value.length; cut += Math.max(1, Math.floor(value.length / 40)))
          probes.add(value.slice(0, cut));
        probes.add(`${value}x`);
        probes.add(`x${value}`);
        for (let i = 0; i < value.length; i++) {
          const ch = value[i]!;
          const swap = ch === "A" ? "B" : "A";
          probes.add(value.slice(0, i) + swap + value.slice(i + 1));
        }
        for (const probe of probes) {
          if (probe === value) continue;
          let result: unknown;
          try {
            result = await store.decode(probe);
          } catch (error) {
            assert.fail(`decode threw for a probe of length ${probe.length}: ${String(error)}`);
          }
          assert.equal(result, null, `probe of length ${probe.length} must not decode`);
        }
      },
    );

    if (options.createWithOtherSecret) {
      const other = options.createWithOtherSecret;
      t.it("a value made with another secret is no session", async () => {
        const mine = await options.create();
        const theirs = await other();
        const value = await theirs.encode('{"user":"mallory"}', Date.now() + HOUR);
        assert.equal(await mine.decode(value), null);
      });
    } else {
      t.skip("a value made with another secret", "no createWithOtherSecret() factory was supplied");
    }
  });
}
