import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";

/**
 * Counts file-system calls by name: every function of `fs` (callback and sync), of
 * `fs.promises`, and of a `FileHandle`. Installed once, before any module captures `fs`
 * (graceful-fs, which session-file-store uses, copies it when it loads): `run.ts` imports this
 * file first. While not counting, a wrapped call costs one boolean test.
 */
const counts = new Map<string, number>();
let counting = false;

function wrapAll(target: Record<string, unknown>, label: string): void {
  // Own names, not keys: a class's methods (FileHandle's) are not enumerable.
  for (const name of Object.getOwnPropertyNames(target)) {
    const own = Object.getOwnPropertyDescriptor(target, name);
    const original = own !== undefined && "value" in own ? own.value : undefined;
    // Classes (Stats, ReadStream, …), constructors, accessors and constants stay as they are.
    if (typeof original !== "function" || name === "constructor" || /^[A-Z_]/.test(name)) continue;
    const fn = original as (...args: unknown[]) => unknown;
    const wrapped = function (this: unknown, ...args: unknown[]) {
      if (counting) counts.set(`${label}${name}`, (counts.get(`${label}${name}`) ?? 0) + 1);
      return fn.apply(this, args);
    };
    // Keep what hangs off the function (util.promisify.custom, realpath.native, …).
    for (const key of Reflect.ownKeys(fn)) {
      if (key === "length" || key === "name" || key === "prototype") continue;
      const descriptor = Object.getOwnPropertyDescriptor(fn, key);
      if (descriptor !== undefined) Object.defineProperty(wrapped, key, descriptor);
    }
    try {
      target[name] = wrapped;
    } catch {
      // A read-only property is left uncounted.
    }
  }
}

wrapAll(fs as unknown as Record<string, unknown>, "fs.");
wrapAll(fs.promises as unknown as Record<string, unknown>, "fs.promises.");
// A FileHandle's close is an instance field, not a prototype method: wrap it on each handle opened.
const promises = fs.promises as unknown as { open: (...args: unknown[]) => Promise<fs.promises.FileHandle> };
const open = promises.open;
promises.open = async function (this: unknown, ...args: unknown[]) {
  const opened = await open.apply(this, args);
  const close = opened.close;
  opened.close = function (this: unknown) {
    if (counting) counts.set("FileHandle.close", (counts.get("FileHandle.close") ?? 0) + 1);
    return close.call(opened);
  };
  return opened;
};
const handle = await fs.promises.open(new URL(import.meta.url), "r");
wrapAll(Object.getPrototypeOf(handle) as Record<string, unknown>, "FileHandle.");
await handle.close();
// `import { open } from "node:fs/promises"` reads the module namespace, not the object: update it.
syncBuiltinESMExports();

/** Runs `fn` and resolves the file-system calls made meanwhile, by name. */
export async function countFsCalls(fn: () => Promise<void>): Promise<Map<string, number>> {
  counts.clear();
  counting = true;
  try {
    await fn();
  } finally {
    counting = false;
  }
  return new Map(counts);
}
