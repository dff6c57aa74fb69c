import { readFileSync } from "node:fs";

/** One entry of the shared hostile-input corpus (see shared/security/requirements.md §5). */
export interface BadInput {
  id: string;
  target: string;
  value: unknown;
  expect: string;
  generate?: ({ lit: string } | { rep: string; n: number })[];
}

const corpus = JSON.parse(
  readFileSync(new URL("../../../../shared/security/bad-inputs.json", import.meta.url), "utf8"),
) as BadInput[];

/** The corpus entries for one target, with generated values built. */
export function badInputs(target: string): BadInput[] {
  return corpus
    .filter((entry) => entry.target === target)
    .map((entry) =>
      entry.generate === undefined
        ? entry
        : {
            ...entry,
            value: entry.generate.map((seg) => ("lit" in seg ? seg.lit : seg.rep.repeat(seg.n))).join(""),
          },
    );
}

/** Every corpus entry as stored (generated values not built); throws if the corpus is missing. */
export function rawBadInputs(): readonly BadInput[] {
  return corpus;
}
