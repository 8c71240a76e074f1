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
  return new DeadlineWatch(timeout, signal, ref, onFire);
}

// A class rather than an object literal with a `fired` getter: V8 builds such a literal slowly and its garbage
// reached the old generation; a call transaction (one deadline each) took ~8 us with it, ~0.35 us with this.
class DeadlineWatch implements Deadline {
  #fired: DeadlineReason | undefined;
  #watching = true;
  #timer: NodeJS.Timeout | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onFire: (reason: DeadlineReason) => void;
  #onAbort: (() => void) | undefined;

  constructor(
    timeout: number,
    signal: AbortSignal | undefined,
    ref: boolean,
    onFire: (reason: DeadlineReason) => void,
  ) {
    this.#signal = signal;
    this.#onFire = onFire;
    if (signal?.aborted) {
      this.#fire('abort');
      return;
    }
    if (signal) {
      this.#onAbort = () => this.#fire('abort');
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    if (timeout > 0) {
      this.#timer = setTimeout(() => this.#fire('timeout'), timeout);
      if (!ref) this.#timer.unref();
    }
  }

  get fired(): DeadlineReason | undefined {
    return this.#fired;
  }

  /** Bound: `clear` may be passed around on its own. */
  readonly clear = (): void => {
    this.#watching = false;
    clearTimeout(this.#timer);
    if (this.#onAbort) this.#signal?.removeEventListener('abort', this.#onAbort);
  };

  [Symbol.dispose](): void {
    this.clear();
  }

  #fire(reason: DeadlineReason): void {
    if (!this.#watching) return;
    this.#fired = reason;
    this.clear();
    this.#onFire(reason);
  }
}
