/** Django's `AbstractUser.username` max length. */
export const USERNAME_MAX_LENGTH = 150;

// NFKC expands a character at most 18-fold; anything this long is refused before normalizing.
const RAW_LIMIT = 1024;
const CONTROL = /\p{Cc}/u;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The username policy every `UserStore` applies on create, rename and lookup: NFKC, then
 * matched exactly (no case folding, no trimming). Returns `null` for anything that cannot be a
 * username: not a string, empty, longer than `USERNAME_MAX_LENGTH` after normalization, or
 * containing a control character (NUL, CR, LF…) or a lone surrogate.
 */
export function normalizeUsername(value: unknown): string | null {
  if (typeof value !== "string" || value.length === 0 || value.length > RAW_LIMIT) return null;
  if (LONE_SURROGATE.test(value)) return null;
  const normalized = value.normalize("NFKC");
  if (normalized.length === 0 || normalized.length > USERNAME_MAX_LENGTH || CONTROL.test(normalized))
    return null;
  return normalized;
}
