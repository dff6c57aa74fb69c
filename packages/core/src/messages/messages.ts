import type { Message, MessageLoadResult, MessageStorage, RequestContext } from "../contracts.js";
import { InvalidArgumentError } from "../errors.js";
import {
  DEBUG,
  DEFAULT_MESSAGE_LEVEL,
  ERROR,
  INFO,
  type LevelTags,
  levelTag,
  levelTags,
  messageTags,
  SUCCESS,
  WARNING,
} from "./constants.js";

/** A message as a template shows it: the stored fields plus its tags. */
export interface DisplayMessage extends Message {
  readonly extraTags: string | null;
  readonly safe: boolean;
  /** Extra tags and level tag, space-separated (Django's `tags`). */
  readonly tags: string;
  /** Django's `level_tag`; `""` for a level without a tag. */
  readonly levelTag: string;
  /** The text. */
  toString(): string;
}

export interface MessagesOptions {
  /** The lowest level recorded (Django's `MESSAGE_LEVEL`). @default INFO (20) */
  level?: number;
  /** Django's `MESSAGE_TAGS`, merged over the default tags. */
  tags?: Readonly<Record<number, string>> | ReadonlyMap<number, string>;
}

export interface AddMessageOptions {
  /** Space-separated extra tags. @default "" */
  extraTags?: string | null;
  /** Trusted as HTML by the template (Django's `mark_safe`). Never set it for text that contains user input. */
  safe?: boolean;
}

/**
 * One request's flash messages (Django's `BaseStorage`): add, read, and `commit()` once at the
 * end of the request. Reading (iterating, `list()`) marks them shown.
 *
 * What `commit` stores (MS-7): after a read, only the messages added since the last read; with
 * no read but something added, the stored messages plus the new ones; otherwise nothing, and
 * the storage is left untouched.
 */
export interface Messages extends Iterable<DisplayMessage>, AsyncIterable<DisplayMessage> {
  /**
   * Queues a message (Django's `add`). Ignored when `message` is empty or `level` is below the
   * current `level`; returns whether it was queued. `level` is truncated to an integer; a
   * non-finite level throws `InvalidArgumentError`.
   */
  add(level: number, message: string, options?: AddMessageOptions): boolean;
  debug(message: string, options?: AddMessageOptions): boolean;
  info(message: string, options?: AddMessageOptions): boolean;
  success(message: string, options?: AddMessageOptions): boolean;
  warning(message: string, options?: AddMessageOptions): boolean;
  error(message: string, options?: AddMessageOptions): boolean;
  /** The lowest level recorded for this request; set `null` to go back to the configured one. */
  get level(): number;
  set level(value: number | null);
  /** The messages were read in this request. */
  readonly used: boolean;
  /** A message was queued in this request. */
  readonly addedNew: boolean;
  /** Loads the stored messages (once; later calls do nothing). Needed before synchronous iteration. */
  load(): Promise<void>;
  /** Loads if needed, marks the messages read, and returns them with those queued so far. */
  list(): Promise<DisplayMessage[]>;
  /** Synchronous iteration, after `load()`; marks the messages read. */
  [Symbol.iterator](): Iterator<DisplayMessage>;
  [Symbol.asyncIterator](): AsyncIterator<DisplayMessage>;
  /** Stores what must survive this request; resolves the messages no storage could keep (Django's `update`). */
  commit(): Promise<Message[]>;
}

function levelOf(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new InvalidArgumentError("a message level must be a finite number");
  }
  return Math.trunc(value);
}

/** The stored shape: text coerced to a string, `extraTags` `null` when absent (Django's `_prepare`). */
function prepare(message: Message): Message {
  return {
    level: message.level,
    message: String(message.message),
    extraTags:
      message.extraTags === null || message.extraTags === undefined ? null : String(message.extraTags),
    safe: message.safe === true,
  };
}

function display(message: Message, tags: LevelTags): DisplayMessage {
  const prepared = prepare(message);
  return Object.freeze({
    level: prepared.level,
    message: prepared.message,
    extraTags: prepared.extraTags as string | null,
    safe: prepared.safe as boolean,
    tags: messageTags(prepared, tags),
    levelTag: levelTag(prepared.level, tags),
    toString: () => prepared.message,
  });
}

/** Creates one request's messages over `storage`. Nothing is read until the messages are. */
export function createMessages(
  storage: MessageStorage,
  ctx: RequestContext,
  options: MessagesOptions = {},
): Messages {
  const configuredLevel = options.level === undefined ? DEFAULT_MESSAGE_LEVEL : levelOf(options.level);
  const tags = options.tags === undefined ? levelTags() : levelTags(options.tags);
  let level = configuredLevel;
  let loaded: Message[] | null = null;
  let loading: Promise<void> | null = null;
  let queued: Message[] = [];
  let used = false;
  let addedNew = false;

  function load(): Promise<void> {
    loading ??= storage.load(ctx).then((result: MessageLoadResult & { corrupt?: boolean }) => {
      loaded = [...result.messages];
      // Unreadable storage is cleared at commit, as Django does for a bad cookie.
      if (result.corrupt === true) used = true;
    });
    return loading;
  }

  function read(): DisplayMessage[] {
    if (loaded === null) {
      throw new InvalidArgumentError(
        "messages are not loaded yet: await messages.load() (or use list()) first",
      );
    }
    used = true;
    if (queued.length > 0) {
      loaded.push(...queued);
      queued = [];
    }
    return loaded.map((m) => display(m, tags));
  }

  const add = (lvl: number, message: string, opts: AddMessageOptions = {}) => {
    if (!message) return false;
    const value = levelOf(lvl);
    if (value < level) return false;
    addedNew = true;
    queued.push({
      level: value,
      message: String(message),
      extraTags: opts.extraTags === undefined ? "" : opts.extraTags,
      safe: opts.safe === true,
    });
    return true;
  };

  return {
    add,
    debug: (message, opts) => add(DEBUG, message, opts),
    info: (message, opts) => add(INFO, message, opts),
    success: (message, opts) => add(SUCCESS, message, opts),
    warning: (message, opts) => add(WARNING, message, opts),
    error: (message, opts) => add(ERROR, message, opts),
    get level(): number {
      return level;
    },
    set level(value: number | null) {
      level = value === null ? configuredLevel : levelOf(value);
    },
    get used() {
      return used;
    },
    get addedNew() {
      return addedNew;
    },
    load,
    async list() {
      await load();
      return read();
    },
    [Symbol.iterator]() {
      return read()[Symbol.iterator]();
    },
    async *[Symbol.asyncIterator]() {
      await load();
      yield* read();
    },
    async commit() {
      if (used) return storage.store(ctx, queued.map(prepare));
      if (addedNew) {
        await load();
        return storage.store(ctx, [...(loaded ?? []), ...queued].map(prepare));
      }
      return [];
    },
  };
}
