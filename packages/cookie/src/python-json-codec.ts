import {
  DecodeError,
  PYTHON_JSON_MAX_DEPTH,
  pythonJsonDumps,
  pythonJsonLoads,
  type SessionCodec,
  type SessionData,
} from "@porter/core";

export interface PythonJsonCodecOptions {
  /** Nesting bound, both ways. @default 64 */
  readonly maxDepth?: number | undefined;
}

/**
 * The session codec for `mode: "django"`: session data as the exact JSON text Django's
 * `signing.dumps` would sign (`json.dumps(session, separators=(",", ":"))`, ASCII only, keys in
 * insertion order), unsigned; the cookie store signs it. Give it to the engine with the store:
 *
 * ```ts
 * createSessionEngine({ store: createCookieSessionStore({ secret, mode: "django" }), codec: pythonJsonCodec() })
 * ```
 *
 * Values are what Python's json holds: null, booleans, strings, finite numbers, bigints, arrays
 * and plain objects; a `Date` is written as Django ≥ 4 writes a datetime (`isoformat()` text) and
 * reads back as that string. `Map`, `Set`, `Uint8Array`, `undefined`, NaN/±Infinity and class
 * instances throw `InvalidArgumentError` at encode. `decode` throws `DecodeError` for anything
 * that is not a JSON object, which the engine treats as no session (Django's `{}`).
 */
export function pythonJsonCodec(options: PythonJsonCodecOptions = {}): SessionCodec {
  const maxDepth = options.maxDepth ?? PYTHON_JSON_MAX_DEPTH;
  return {
    name: "python-json",
    encode(data: SessionData): string {
      return pythonJsonDumps(data, { dates: "isoformat", maps: "reject", maxDepth });
    },
    decode(text: string): SessionData {
      const value = pythonJsonLoads(text, { maxDepth });
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new DecodeError("session data is not a JSON object");
      }
      return value as SessionData;
    },
  };
}
