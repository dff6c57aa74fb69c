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

/**
 * The corpus entries for one target, with generated values built and `{{VALID_KEY}}` tokens
 * replaced by `validKey` (upper-cased for `{{VALID_KEY|upper}}`).
 */
export function badInputs(target: string, validKey: string): BadInput[] {
  return corpus
    .filter((entry) => entry.target === target)
    .map((entry) => {
      const value =
        entry.generate === undefined
          ? entry.value
          : entry.generate.map((seg) => ("lit" in seg ? seg.lit : seg.rep.repeat(seg.n))).join("");
      return {
        ...entry,
        value:
          typeof value === "string"
            ? value
                .replaceAll("{{VALID_KEY|upper}}", validKey.toUpperCase())
                .replaceAll("{{VALID_KEY}}", validKey)
            : value,
      };
    });
}
