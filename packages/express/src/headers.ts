/** Adds `Cookie` to a `Vary` value unless it is already there (or `*`). */
export function varyWithCookie(current: string | null | undefined): string {
  if (current === null || current === undefined || current.trim() === "") return "Cookie";
  const fields = current.split(",").map((field) => field.trim().toLowerCase());
  if (fields.includes("*") || fields.includes("cookie")) return current;
  return `${current}, Cookie`;
}
