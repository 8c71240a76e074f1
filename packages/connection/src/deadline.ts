import { RtmpError } from './errors.js';

/** Why a {@link Deadline} fired: its timeout elapsed, or its signal aborted. */
export type DeadlineReason = 'timeout' | 'abort';

/** Options of {@link watchDeadline}. */
export interface DeadlineOptions {
  /** Milliseconds until the deadline fires; 0 (or absent) sets no timer. */
  timeout?: number | undefined;
  /** The deadline fires when this signal aborts, at once (synchronously) when it already has. */
  signal?: AbortSignal | undefined;
  /** Whether the timer keeps the process alive. Default true, as for `setTimeout`. */
  ref?: boolean | undefined;
}

/** A deadline being watched, from {@link watchDeadline}. */
export interface Deadline extends Disposable {
  /** Why it fired; undefined while it has not. */
  readonly fired: DeadlineReason | undefined;
  /** Stops watching: the callback will not run. Safe to call at any time, and again. */
  clear(): void;
}

// setTimeout fires at once (after a warning) for delays it cannot hold.
const MAX_TIMEOUT = 0x7fffffff;

/**
 * Watches a timeout and an `AbortSignal` as one deadline: `onFire` runs once, with whichever came first, and then
 * nothing more is watched (the timer is cleared, the abort listener removed). `clear()` (or `using`) stops watching
 * earlier. The one helper behind every "this step may take at most N ms, or until the caller aborts" of the RTMP
 * layer: a step of `@rtmp/client`, a close that turns into a destroy, a paced wait.
 *
 * @example
 * ```ts
 * using deadline = watchDeadline({ timeout: 5_000, signal }, (reason) => socket.destroy());
 * await closed;
 * ```
 * @throws {RtmpError} `ERR_RTMP_INVALID_OPTION` when `timeout` is negative, not finite or above 2^31-1 ms.
 */
export function watchDeadline(options: DeadlineOptions, onFire: (reason: DeadlineReason) => void): Deadline {
  const { timeout = 0, signal, ref = true } = options;
  if (!Number.isFinite(timeout) || timeout < 0 || timeout > MAX_TIMEOUT) {
    throw new RtmpError('ERR_RTMP_INVALID_OPTION', `timeout must be in 0..${MAX_TIMEOUT} ms, got ${timeout}`);
  }
  let timer: NodeJS.Timeout | undefined;
  let watching = true;
  let fired: DeadlineReason | undefined;
  const clear = (): void => {
    watching = false;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  const fire = (reason: DeadlineReason): void => {
    if (!watching) return;
    fired = reason;
    clear();
    onFire(reason);
  };
  function onAbort(): void {
    fire('abort');
  }
  const deadline: Deadline = {
    get fired() {
      return fired;
    },
    clear,
    [Symbol.dispose]: clear,
  };
  if (signal?.aborted) {
    fire('abort');
    return deadline;
  }
  signal?.addEventListener('abort', onAbort, { once: true });
  if (timeout > 0) {
    timer = setTimeout(() => fire('timeout'), timeout);
    if (!ref) timer.unref();
  }
  return deadline;
}
