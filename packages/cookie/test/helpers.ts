import { readFileSync } from "node:fs";

export interface Vector {
  id: string;
  kind: string;
  django_version: string;
  inputs: Record<string, unknown>;
  expected: unknown;
  note?: string;
}

const vectorFile = JSON.parse(
  readFileSync(new URL("../../../../shared/interop/django-vectors.json", import.meta.url), "utf8"),
) as {
  meta: { secret_key: string; fallback_secret_key: string; fixed_timestamp: number };
  vectors: Vector[];
};

export const META = vectorFile.meta;
export const DJANGO_SECRET = META.secret_key;

export function vectorsOf(kind: string): Vector[] {
  const found = vectorFile.vectors.filter((v) => v.kind === kind);
  if (found.length === 0) throw new Error(`no vectors of kind ${kind}`);
  return found;
}

export interface BadInput {
  id: string;
  target: string;
  value: string;
  expect: string;
  generate?: ({ lit: string } | { rep: string; n: number })[];
}

export function badInputs(target: string): BadInput[] {
  const all = JSON.parse(
    readFileSync(new URL("../../../../shared/security/bad-inputs.json", import.meta.url), "utf8"),
  ) as BadInput[];
  const found = all.filter((e) => e.target === target);
  if (found.length === 0) throw new Error(`no bad inputs for ${target}`);
  return found.map((e) =>
    e.generate
      ? { ...e, value: e.generate.map((g) => ("lit" in g ? g.lit : g.rep.repeat(g.n))).join("") }
      : e,
  );
}

/** Two unrelated 32+ byte secrets for tests. */
export const SECRET = "porter-test-secret-0123456789-abcdefghijklmnop";
export const OLD_SECRET = "porter-retired-secret-9876543210-zyxwvutsrqpo";
export const OTHER_SECRET = "an-unrelated-secret-for-tests-ABCDEFGHIJKLMN";

import type { CookieJar, CookieOptions, Message, RequestContext, Session } from "@porter/core";

/** A request's cookie jar that records what the response would set. */
export class TestJar implements CookieJar {
  readonly incoming: Map<string, string>;
  readonly outgoing = new Map<string, { value: string | null; options: CookieOptions | undefined }>();
  constructor(incoming: Record<string, string> = {}) {
    this.incoming = new Map(Object.entries(incoming));
  }
  get(name: string): string | undefined {
    return this.incoming.get(name);
  }
  set(name: string, value: string, options?: CookieOptions): void {
    this.outgoing.set(name, { value, options });
  }
  delete(name: string, options?: CookieOptions): void {
    this.outgoing.set(name, { value: null, options });
  }
  /** The value set for `name`, `null` when deleted, `undefined` when untouched. */
  sent(name: string): string | null | undefined {
    return this.outgoing.get(name)?.value;
  }
}

export function context(
  incoming: Record<string, string> = {},
  session?: Session,
): RequestContext & { cookies: TestJar } {
  return { cookies: new TestJar(incoming), session };
}

/** The vectors' message notation `[level, text, extra_tags, "safe"?]` as a Message. */
export function messageOf(spec: unknown[]): Message {
  return {
    level: spec[0] as number,
    message: spec[1] as string,
    extraTags: spec[2] as string | null,
    safe: spec[3] === "safe",
  };
}

/** A Message in the vectors' decoded notation `[level, text, extra_tags, is_safe]`. */
export function tupleOf(m: Message): [number, string, string | null, boolean] {
  return [m.level, m.message, m.extraTags ?? null, m.safe === true];
}
