import type { Message } from "../contracts.js";
import { pythonJsonDumps } from "../signing/python-json.js";

/** The marker Django's `MessageEncoder` puts first in each encoded message. */
export const MESSAGE_MARKER = "__json_message";

export interface MessageJsonOptions {
  /**
   * Django 3.2's encoding: extra tags are written only when non-empty, so `""` reads back as
   * `null`. Django 4.1+ (the default) writes them whenever they are not `null` (MC-3).
   */
  readonly legacyExtraTags?: boolean;
}

/**
 * Django's `MessageEncoder` for one message: `["__json_message", safe 0|1, level, text]`, plus
 * the extra tags unless they are `null`/`undefined`.
 */
export function messageToJson(message: Message, options: MessageJsonOptions = {}): unknown[] {
  const encoded: unknown[] = [MESSAGE_MARKER, message.safe === true ? 1 : 0, message.level, message.message];
  const extra = message.extraTags;
  if (
    options.legacyExtraTags === true
      ? typeof extra === "string" && extra !== ""
      : extra !== null && extra !== undefined
  ) {
    encoded.push(extra);
  }
  return encoded;
}

/**
 * The JSON text of a list of messages, byte for byte as Python's `json` writes it with the given
 * separators (Django's session storage uses Python's defaults, `", "` and `": "`; its cookie
 * storage the compact `","` and `":"`), non-ASCII escaped.
 */
export function encodeMessagesJson(
  messages: readonly Message[],
  options: MessageJsonOptions & { separators?: readonly [string, string] } = {},
): string {
  return pythonJsonDumps(
    messages.map((m) => messageToJson(m, options)),
    { separators: options.separators ?? [", ", ": "] },
  );
}

/**
 * Reads what `messageToJson` wrote (Django's `MessageDecoder`), strictly: `value` must be an
 * array of encoded messages, each `[marker, 0|1, integer level, text, (text|null)?]`. Anything
 * else is `null` (garbage, not "no messages"). `trustSafe: false` drops the safe flag, for
 * storage the client can write.
 */
export function messagesFromJson(value: unknown, options: { trustSafe?: boolean } = {}): Message[] | null {
  if (!Array.isArray(value)) return null;
  const trustSafe = options.trustSafe ?? true;
  const messages: Message[] = [];
  for (const item of value) {
    if (!Array.isArray(item) || item.length < 4 || item.length > 5 || item[0] !== MESSAGE_MARKER) return null;
    const [, safe, level, text, extra] = item as unknown[];
    if ((safe !== 0 && safe !== 1) || !Number.isSafeInteger(level) || typeof text !== "string") return null;
    if (item.length === 5 && extra !== null && typeof extra !== "string") return null;
    messages.push({
      level: level as number,
      message: text,
      extraTags: item.length === 5 ? (extra as string | null) : null,
      safe: trustSafe && safe === 1,
    });
  }
  return messages;
}

/** `JSON.parse` then `messagesFromJson`; `null` for anything unreadable. */
export function decodeMessagesJson(text: string, options: { trustSafe?: boolean } = {}): Message[] | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return messagesFromJson(value, options);
}
