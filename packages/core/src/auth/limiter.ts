import { availableParallelism } from "node:os";
import { TooBusyError } from "../errors.js";

/**
 * Bounds how many password hashes run at once, so a login flood queues here instead of
 * filling libuv's thread pool (which file-system and DNS work share). Beyond `maxQueue`
 * waiting jobs, `run` rejects with `TooBusyError` at once.
 */
export interface HashLimiter {
  readonly concurrency: number;
  readonly maxQueue: number;
  /** Jobs running now. */
  readonly active: number;
  /** Jobs waiting for a slot. */
  readonly queued: number;
  run<T>(job: () => Promise<T>): Promise<T>;
}

/**
 * One slot fewer than libuv's thread pool, so file-system and DNS work always find a thread,
 * and one fewer than the cores, so the event loop always finds a core: at least 1.
 */
export function defaultHashConcurrency(): number {
  const pool = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? "", 10);
  const threads = Number.isInteger(pool) && pool > 0 ? pool : 4;
  return Math.max(1, Math.min(availableParallelism() - 1, threads - 1));
}

export function createHashLimiter(concurrency = defaultHashConcurrency(), maxQueue = 1000): HashLimiter {
  let active = 0;
  const waiting: (() => void)[] = [];

  const release = () => {
    const next = waiting.shift();
    if (next === undefined) active--;
    else next();
  };

  return {
    concurrency,
    maxQueue,
    get active() {
      return active;
    },
    get queued() {
      return waiting.length;
    },
    async run<T>(job: () => Promise<T>): Promise<T> {
      if (active < concurrency) {
        active++;
      } else {
        if (waiting.length >= maxQueue) throw new TooBusyError();
        // The slot is handed over by `release` without decrementing `active`.
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      try {
        return await job();
      } finally {
        release();
      }
    },
  };
}
