import { PorterError, StoreUnavailableError } from "../errors.js";

interface Pending {
  readonly at: number;
  readonly reject: (error: unknown) => void;
}

export interface DeadlineOptions {
  /** The rejection for a call past its deadline. @default a `StoreUnavailableError` naming `ms` */
  timeoutError?: (ms: number) => unknown;
  /**
   * What a failed call rejects with. @default the error itself if it is a typed Porter error,
   * else `StoreUnavailableError` with the error as `cause`
   */
  mapError?: (error: unknown) => unknown;
}

const storeFailure = (error: unknown): unknown =>
  PorterError.is(error) ? error : new StoreUnavailableError("the session store failed", { cause: error });

/**
 * Runs calls under a deadline without a timer per call: one interval, alive only while calls
 * are pending, rejects those past their deadline (at most `ms` + one tick late). A timer per
 * call costs more than the memory store's whole operation on a hot path that makes two. A call
 * past its deadline is not cancelled, only no longer waited for: bound the work itself as well
 * (a driver's own request timeout) where it holds resources.
 *
 * The engine runs every store call through one. Stores may use one for their own deadlines.
 */
export function createDeadlineRunner(
  ms: number,
  options: DeadlineOptions = {},
): <T>(op: () => Promise<T>) => Promise<T> {
  const timeoutError =
    options.timeoutError ??
    ((limit: number) => new StoreUnavailableError(`the session store did not answer within ${limit} ms`));
  const mapError = options.mapError ?? storeFailure;
  const pending = new Set<Pending>();
  const tickMs = Math.max(5, Math.min(100, Math.floor(ms / 20)));
  let timer: NodeJS.Timeout | undefined;

  const tick = () => {
    const now = performance.now();
    for (const entry of pending) {
      if (entry.at <= now) {
        pending.delete(entry);
        entry.reject(timeoutError(ms));
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
          if (pending.delete(entry)) reject(mapError(error));
        },
      );
    });
}
