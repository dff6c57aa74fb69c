import { RawMember } from "../codec/json-members.js";
import type { Session, SessionData, SessionRecord } from "../contracts.js";
import { InvalidArgumentError } from "../errors.js";
import { EXPIRY_KEY, expiresAtBrowserClose, expiryAge, expiryDate, pythonIsoFormat } from "./expiry.js";

const DELETED: unique symbol = Symbol("deleted");
type Change = { value: unknown } | typeof DELETED;

/** What the engine needs to know about a session beyond its public face. */
export interface SessionState {
  /** The cookie value that came in (any shape), so an emptied session can delete the cookie. */
  readonly incomingCookie: string | undefined;
  /** The key whose record was loaded, or null. */
  loadedKey: string | null;
  /** The record as loaded or last written (its version is what `update` compares). */
  record: SessionRecord | null;
  /** Set by `cycleKey`/`flush`: the loaded record must go, and a write gets a new key. */
  rotate: boolean;
  /** The client-side value was made with a retired secret and must be re-issued. */
  reissue: boolean;
}

export interface SessionSettings {
  readonly now: () => number;
  readonly defaultAge: number;
  readonly expireAtBrowserClose: boolean;
  /**
   * Decodes a member loaded as its JSON text (see `RawMember`); `UNREADABLE` when it cannot be
   * (the engine reports it), and the member then reads as absent.
   */
  readonly readMember?: (raw: RawMember) => unknown;
}

/** What `SessionSettings.readMember` answers for a member that cannot be decoded. */
export const UNREADABLE: unique symbol = Symbol("unreadable");

/** The own enumerable string-keyed values of `data`, in order (without `Object.entries`' pair arrays). */
function toMap(data: SessionData | null): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (data === null) return map;
  const keys = Object.keys(data);
  for (let i = 0; i < keys.length; i++) map.set(keys[i]!, data[keys[i]!]);
  return map;
}

/**
 * A loaded session with Django's semantics (`SessionBase`): `accessed` on any read,
 * `modified` on any write, data in insertion order. It records this request's own changes
 * so that a version conflict at commit can be resolved by replaying them on fresh data.
 *
 * Values may arrive undecoded (`RawMember`, from a codec that splits records): each is decoded
 * the first time anything reads it, and one that is never read is saved again as it was
 * stored. A value that fails to decode reads as absent, and the engine reports it.
 */
export class PorterSession implements Session {
  #data: Map<string, unknown>;
  #key: string | null;
  #modified = false;
  #accessed = false;
  #cleared = false;
  readonly #changes = new Map<string, Change>();
  readonly #settings: SessionSettings;
  readonly state: SessionState;

  constructor(
    settings: SessionSettings,
    key: string | null,
    data: SessionData | Map<string, unknown> | null,
    state: Omit<SessionState, "rotate" | "reissue"> & Partial<SessionState>,
  ) {
    this.#settings = settings;
    this.#key = key;
    this.#data = data instanceof Map ? data : toMap(data);
    this.state = { rotate: false, reissue: false, ...state };
  }

  /** The value under `name`, decoded now if it was loaded undecoded. */
  #read(name: string): unknown {
    const value = this.#data.get(name);
    return value instanceof RawMember ? this.#decodeMember(name, value) : value;
  }

  #decodeMember(name: string, raw: RawMember): unknown {
    const { readMember } = this.#settings;
    const value = readMember === undefined ? UNREADABLE : readMember(raw);
    if (value === UNREADABLE) {
      this.#data.delete(name);
      return undefined;
    }
    this.#data.set(name, value);
    return value;
  }

  /** Decodes every value still undecoded. */
  #readAll(): Map<string, unknown> {
    for (const [name, value] of this.#data) if (value instanceof RawMember) this.#decodeMember(name, value);
    return this.#data;
  }

  get key(): string | null {
    return this.#key;
  }
  get modified(): boolean {
    return this.#modified;
  }
  get accessed(): boolean {
    return this.#accessed;
  }
  get isEmpty(): boolean {
    return this.#key === null && this.#data.size === 0;
  }
  /** Number of values held, without marking the session accessed. */
  get size(): number {
    return this.#data.size;
  }

  get<T = unknown>(name: string): T | undefined {
    this.#accessed = true;
    return this.#read(name) as T | undefined;
  }

  set(name: string, value: unknown): void {
    if (typeof name !== "string") throw new InvalidArgumentError("session keys are strings");
    this.#accessed = true;
    this.#modified = true;
    this.#data.set(name, value);
    this.#changes.set(name, { value });
  }

  has(name: string): boolean {
    this.#accessed = true;
    const value = this.#data.get(name);
    // Only a tagged member can fail to decode (the record's grammar was checked at load).
    if (value instanceof RawMember && value.tagged) this.#decodeMember(name, value);
    return this.#data.has(name);
  }

  delete(name: string): boolean {
    this.#accessed = true;
    if (!this.#data.delete(name)) return false;
    this.#modified = true;
    this.#changes.set(name, DELETED);
    return true;
  }

  pop<T = unknown>(name: string, ...fallback: [T] | []): T {
    this.#accessed = true;
    // Read first: a member that fails to decode is absent from then on.
    const value = this.#read(name);
    if (this.#data.has(name)) {
      this.delete(name);
      return value as T;
    }
    if (fallback.length === 1) return fallback[0] as T;
    throw new InvalidArgumentError(`no session value named ${JSON.stringify(name)}`);
  }

  setdefault<T = unknown>(name: string, value: T): T {
    this.#accessed = true;
    const current = this.#read(name);
    if (this.#data.has(name)) return current as T;
    this.set(name, value);
    return value;
  }

  update(values: SessionData): void {
    this.#accessed = true;
    this.#modified = true;
    for (const name of Object.keys(values)) this.set(name, values[name]);
  }

  keys(): string[] {
    this.#accessed = true;
    return [...this.#readAll().keys()];
  }
  values(): unknown[] {
    this.#accessed = true;
    return [...this.#readAll().values()];
  }
  entries(): [string, unknown][] {
    this.#accessed = true;
    return [...this.#readAll().entries()];
  }

  clear(): void {
    this.#data.clear();
    this.#changes.clear();
    this.#cleared = true;
    this.#accessed = true;
    this.#modified = true;
  }

  cycleKey(): void {
    this.#accessed = true;
    this.#modified = true;
    this.state.rotate = true;
  }

  flush(): void {
    this.clear();
    this.state.rotate = true;
    this.#key = null;
  }

  setExpiry(value: number | Date | null): void {
    if (value === null) {
      this.delete(EXPIRY_KEY);
      return;
    }
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) throw new InvalidArgumentError("setExpiry: invalid Date");
      this.set(EXPIRY_KEY, pythonIsoFormat(value));
      return;
    }
    if (!Number.isInteger(value))
      throw new InvalidArgumentError("setExpiry takes whole seconds, a Date, 0 or null");
    this.set(EXPIRY_KEY, value);
  }

  get expiryAge(): number {
    return expiryAge(this.#read(EXPIRY_KEY), this.#settings.now(), this.#settings.defaultAge);
  }
  get expiryDate(): Date {
    return new Date(expiryDate(this.#read(EXPIRY_KEY), this.#settings.now(), this.#settings.defaultAge));
  }
  get expireAtBrowserClose(): boolean {
    return expiresAtBrowserClose(this.#read(EXPIRY_KEY), this.#settings.expireAtBrowserClose);
  }

  // --- for the engine -------------------------------------------------------------------

  /** The data as a plain object for the codec (own properties only, in insertion order). */
  toData(): SessionData {
    const out: SessionData = {};
    for (const [k, v] of this.#readAll()) {
      if (k === "__proto__")
        Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else out[k] = v;
    }
    return out;
  }

  /** The data as held, undecoded members included, for a codec that writes them back as they were. */
  members(): ReadonlyMap<string, unknown> {
    return this.#data;
  }

  /** Takes a newly issued key (after a create). */
  assignKey(key: string | null): void {
    this.#key = key;
  }

  /** Replays this request's own changes on data another request wrote meanwhile. */
  rebase(fresh: SessionData | Map<string, unknown>, record: SessionRecord): void {
    const data = this.#cleared ? new Map<string, unknown>() : fresh instanceof Map ? fresh : toMap(fresh);
    for (const [name, change] of this.#changes) {
      if (change === DELETED) data.delete(name);
      else data.set(name, change.value);
    }
    this.#data = data;
    this.state.record = record;
  }
}
