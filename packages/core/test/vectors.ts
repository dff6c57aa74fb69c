import { readFileSync } from "node:fs";

/** One vector of real Django output (shared/interop/django-vectors.json). */
export interface DjangoVector {
  id: string;
  kind: string;
  django_version: string;
  inputs: Record<string, unknown>;
  expected: unknown;
  note?: string;
}

export interface DjangoVectorMeta {
  secret_key: string;
  fallback_secret_key: string;
  fixed_timestamp: number;
  django_runtimes: { label: string; django_version: string }[];
}

const file = JSON.parse(
  readFileSync(new URL("../../../../shared/interop/django-vectors.json", import.meta.url), "utf8"),
) as { meta: DjangoVectorMeta; count: number; vectors: DjangoVector[] };

if (file.vectors.length !== file.count) {
  throw new Error(`django-vectors.json says ${file.count} vectors but holds ${file.vectors.length}`);
}

/** The file's `meta`: the SECRET_KEY, the fallback secret and the fixed clock the vectors were made with. */
export const vectorMeta: DjangoVectorMeta = file.meta;

/** Every vector, in file order. */
export const allVectors: readonly DjangoVector[] = file.vectors;

/** The vectors of one kind. Throws when there are none, so a renamed kind cannot silently test nothing. */
export function vectorsOf(kind: string): DjangoVector[] {
  const found = file.vectors.filter((v) => v.kind === kind);
  if (found.length === 0) throw new Error(`no vectors of kind ${kind}`);
  return found;
}

/** A vector by id (`source_id` of a crossversion vector, for instance). */
export function vectorById(id: string): DjangoVector {
  const found = file.vectors.find((v) => v.id === id);
  if (found === undefined) throw new Error(`no vector ${id}`);
  return found;
}

/** Major.minor of the Django that produced (or, for crossversion kinds, reads) a vector: "3.2", "6.1". */
export function djangoSeries(version: string): string {
  return version.split(".").slice(0, 2).join(".");
}
