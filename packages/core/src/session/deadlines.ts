import { PorterError, StoreUnavailableError } from "../errors.js";

interface Pending {
  readonly at: number;
  readonly reject: (error: unknown) => void;
}

/**
 * Runs store calls under a deadline without a timer per call: one interval, alive only while
 * calls are pending, rejects those past their deadline (at most `ms` + one tick late). A timer
 * per call costs more than the memory store's whole operation on a hot path that makes two.
 * Anything but a typed Porter error is the store failing: `StoreUnavailableError` with the cause.
 */
export function createDeadlineRunner(ms: number): <T>(op: () => Promise<T>) => Promise<T> {
  const pending = new Set<Pending>();
  const tickMs = Math.max(5, Math.min(100, Math.floor(ms / 20)));
  let timer: NodeJS.Timeout | undefined;

  const tick = () => {
    const now = performance.now();
    for (const entry of pending) {
      if (entry.at <= now) {
        pending.delete(entry);
        entry.reject(new StoreUnavailableError(`the session store did not answer within ${ms} ms`));
      }
    }
    if (pending.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  return <T>(op: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      const entry: Pending = { at: performance.now() + ms, reject };
      pending.add(entry);
      if (timer === undefined) timer = setInterval(tick, tickMs);
      let result: Promise<T>;
      try {
        result = op();
      } catch (error) {
        result = Promise.reject(error);
      }
      result.then(
        (value) => {
          if (pending.delete(entry)) resolve(value);
        },
        (error: unknown) => {
          if (!pending.delete(entry)) return;
          reject(
            PorterError.is(error)
              ? error
              : new StoreUnavailableError("the session store failed", { cause: error }),
          );
        },
      );
    });
}
