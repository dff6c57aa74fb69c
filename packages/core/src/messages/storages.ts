import type {
  Message,
  MessageLoadResult,
  MessageStorage,
  MessageStoreOptions,
  RequestContext,
  Session,
} from "../contracts.js";
import { ConfigError } from "../errors.js";
import { decodeMessagesJson, encodeMessagesJson, type MessageJsonOptions, messagesFromJson } from "./json.js";

/**
 * What a storage's `load` may add to the contract's result: `corrupt` when the storage held
 * something unreadable (tampered, garbage). The messages API then treats the messages as read,
 * so that `commit` clears the storage, as Django does for a bad cookie (MC-11).
 */
export type MessageLoadResultWithCorruption = MessageLoadResult & { readonly corrupt?: boolean };

export interface SessionMessageStorageOptions extends MessageJsonOptions {
  /** The session key (Django's `session_key`). @default "_messages" */
  key?: string;
}

const ABSENT: MessageLoadResultWithCorruption = Object.freeze({
  messages: [],
  allRetrieved: true,
  present: false,
});
const GARBAGE: MessageLoadResultWithCorruption = Object.freeze({
  messages: [],
  allRetrieved: true,
  present: true,
  corrupt: true,
});

function sessionOf(ctx: RequestContext): Session {
  const session = ctx?.session;
  if (session === undefined || session === null) {
    throw new ConfigError(
      "The session-based message storage requires a session: give the request context a session (Django: install SessionMiddleware).",
    );
  }
  return session;
}

/**
 * Django's `SessionStorage` (MSS-1, MSS-2): the messages live in the session under `_messages`
 * as JSON text with Python's default separators, byte-compatible with Django 4.1+ (or 3.2 with
 * `legacyExtraTags`). Storing an empty list removes the key. Garbage under the key reads as no
 * messages (and is cleared at the next commit). Never loses a message: nothing is "too large"
 * here. Without `ctx.session`, `load` and `store` reject with `ConfigError`.
 */
export function createSessionMessageStorage(options: SessionMessageStorageOptions = {}): MessageStorage {
  const key = options.key ?? "_messages";
  if (typeof key !== "string" || key.length === 0) throw new ConfigError("key must be a non-empty string");
  const json: MessageJsonOptions =
    options.legacyExtraTags === undefined ? {} : { legacyExtraTags: options.legacyExtraTags };

  return {
    name: "session",
    async load(ctx): Promise<MessageLoadResultWithCorruption> {
      const data = sessionOf(ctx).get(key);
      if (data === undefined || data === null) return ABSENT;
      // A session written by a codec that keeps structure may hold the list itself.
      const messages = typeof data === "string" ? decodeMessagesJson(data) : messagesFromJson(data);
      return messages === null ? GARBAGE : { messages, allRetrieved: true, present: true };
    },
    async store(ctx, messages): Promise<Message[]> {
      const session = sessionOf(ctx);
      if (messages.length > 0) session.set(key, encodeMessagesJson(messages, json));
      else if (session.has(key)) session.delete(key);
      return [];
    },
  };
}

/**
 * Django's `FallbackStorage` (MF-1…MF-4): reads each storage in order (cookie first, by
 * default), stopping after one that held nothing at all or reported that it had everything;
 * stores into each in order, every storage but the last keeping the oldest messages that fit
 * (`removeOldest: false`) and passing the rest on; a storage that held messages at load but
 * receives none is cleared. Django's default is `createFallbackStorage([cookieStorage, sessionStorage])`.
 */
export function createFallbackStorage(storages: readonly MessageStorage[]): MessageStorage {
  if (!Array.isArray(storages) || storages.length === 0)
    throw new ConfigError("give at least one message storage");
  const list = [...storages];
  // Which storages held messages at this request's load: those are cleared if they get none back.
  const holding = new WeakMap<RequestContext, Set<MessageStorage>>();

  async function load(ctx: RequestContext): Promise<MessageLoadResultWithCorruption> {
    const held = new Set<MessageStorage>();
    const messages: Message[] = [];
    let allRetrieved = true;
    let present = false;
    let corrupt = false;
    for (const storage of list) {
      const result: MessageLoadResultWithCorruption = await storage.load(ctx);
      allRetrieved = result.allRetrieved;
      if (result.corrupt === true) {
        corrupt = true;
        held.add(storage);
      }
      if (!result.present) break;
      present = true;
      if (result.messages.length > 0) held.add(storage);
      messages.push(...result.messages);
      if (result.allRetrieved) break;
    }
    holding.set(ctx, held);
    return { messages, allRetrieved, present, ...(corrupt ? { corrupt } : {}) };
  }

  return {
    name: `fallback(${list.map((s) => s.name).join(",")})`,
    load,
    async store(ctx, messages, options?: MessageStoreOptions): Promise<Message[]> {
      if (!holding.has(ctx)) await load(ctx);
      const held = holding.get(ctx)!;
      let rest = [...messages];
      for (let i = 0; i < list.length; i++) {
        const storage = list[i]!;
        const last = i === list.length - 1;
        if (rest.length > 0) {
          rest = await storage.store(ctx, rest, {
            removeOldest: last ? (options?.removeOldest ?? true) : false,
          });
          held.delete(storage);
        } else if (held.has(storage)) {
          await storage.store(ctx, []);
          held.delete(storage);
        }
      }
      return rest;
    },
  };
}
