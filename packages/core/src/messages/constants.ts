import type { Message } from "../contracts.js";
import { ConfigError } from "../errors.js";

/** Django's message levels (`django.contrib.messages.constants`). */
export const DEBUG = 10;
export const INFO = 20;
export const SUCCESS = 25;
export const WARNING = 30;
export const ERROR = 40;

/** The lowest level recorded unless configured otherwise (Django's `MESSAGE_LEVEL`). */
export const DEFAULT_MESSAGE_LEVEL = INFO;

/** Django's `DEFAULT_TAGS`: the CSS-friendly tag of each level. */
export const DEFAULT_TAGS: Readonly<Record<number, string>> = Object.freeze({
  [DEBUG]: "debug",
  [INFO]: "info",
  [SUCCESS]: "success",
  [WARNING]: "warning",
  [ERROR]: "error",
});

/** Level → tag, as `levelTags` builds it. */
export type LevelTags = ReadonlyMap<number, string>;

/** The default level tags, unmodified. */
export const DEFAULT_LEVEL_TAGS: LevelTags = levelTags();

/**
 * Django's `get_level_tags()`: `custom` (Django's `MESSAGE_TAGS`) merged over `DEFAULT_TAGS`.
 * Keys are integer levels; values are tags (`""` removes a level's tag).
 */
export function levelTags(
  custom: Readonly<Record<number, string>> | ReadonlyMap<number, string> = {},
): LevelTags {
  const tags = new Map<number, string>(
    Object.entries(DEFAULT_TAGS).map(([level, tag]) => [Number(level), tag]),
  );
  const entries = custom instanceof Map ? [...custom.entries()] : Object.entries(custom);
  for (const [rawLevel, tag] of entries) {
    const level = Number(rawLevel);
    if (!Number.isSafeInteger(level))
      throw new ConfigError(`message tag levels must be integers, got ${String(rawLevel)}`);
    if (typeof tag !== "string") throw new ConfigError(`the tag of level ${level} must be a string`);
    tags.set(level, tag);
  }
  return tags;
}

/** Django's `Message.level_tag`: the level's tag, or `""` for a level without one. */
export function levelTag(level: number, tags: LevelTags = DEFAULT_LEVEL_TAGS): string {
  return tags.get(level) ?? "";
}

/** Django's `Message.tags`: the extra tags and the level tag, space-separated, empty ones left out. */
export function messageTags(message: Message, tags: LevelTags = DEFAULT_LEVEL_TAGS): string {
  return [message.extraTags, levelTag(message.level, tags)]
    .filter((t) => typeof t === "string" && t !== "")
    .join(" ");
}

/** Django's `Message.__eq__`: the same level and text; extra tags and the safe flag do not count. */
export function messagesEqual(a: Message, b: Message): boolean {
  return a.level === b.level && a.message === b.message;
}
