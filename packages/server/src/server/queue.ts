/** Most bytes of messages held while a command waits for a handler decision. */
export const MAX_HELD_BYTES = 8 * 1024 * 1024;

/**
 * The ordered handler queue of a session. Commands run one after the other, each awaiting its handler's decision,
 * and what the client sends meanwhile waits behind them: media sent right after `publish` is judged against the
 * decision, in order (as nginx-rtmp does). With nothing pending, a message is handled at once, without a closure.
 */
export class HandlerQueue {
  #chain: Promise<void> = Promise.resolve();
  #queued = 0;
  #heldBytes = 0;
  readonly #closed: () => boolean;
  readonly #fail: (error: unknown) => void;

  /**
   * @param closed - once true, queued tasks are skipped
   * @param fail - receives what a task threw or rejected with
   */
  constructor(closed: () => boolean, fail: (error: unknown) => void) {
    this.#closed = closed;
    this.#fail = fail;
  }

  /** True when nothing is pending: a message may be handled at once. */
  get idle(): boolean {
    return this.#queued === 0;
  }

  /** Runs `task` after everything queued before it. */
  push(task: () => Promise<void> | void): void {
    this.#queued++;
    this.#chain = this.#chain
      .then(() => (this.#closed() ? undefined : task()))
      .catch((error: unknown) => this.#fail(error))
      .finally(() => {
        this.#queued--;
      });
  }

  /**
   * Runs `task` (the handling of a message of `bytes` bytes) now when nothing is pending, else behind what is.
   * Bounded: a client flooding media while its publish is being decided loses what exceeds {@link MAX_HELD_BYTES}.
   */
  inOrder(bytes: number, task: () => void): void {
    if (this.#queued === 0) {
      task();
      return;
    }
    if (this.#heldBytes + bytes > MAX_HELD_BYTES) return;
    this.#heldBytes += bytes;
    this.push(() => {
      this.#heldBytes -= bytes;
      task();
    });
  }
}
