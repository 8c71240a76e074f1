import { ChunkError } from './errors.js';

/**
 * Counts bytes received on a connection (modulo 2^32, as Acknowledgement carries them) and says when an
 * acknowledgement is due for the peer's Window Acknowledgement Size. Encoders stall when a server never acks.
 */
export class AckCounter {
  #received = 0;
  #sinceAck = 0;
  #window: number;

  /** @param windowSize - the peer's window in bytes; 0 means no acknowledgements are due */
  constructor(windowSize = 0) {
    this.#window = AckCounter.#check(windowSize);
  }

  static #check(n: number): number {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      throw new ChunkError('ERR_CHUNK_INVALID_ARGUMENT', `window size must be a u32, got ${n}`);
    }
    return n;
  }

  /** Bytes received so far, modulo 2^32. */
  get received(): number {
    return this.#received;
  }

  /** The window in force (0 = none). */
  get windowSize(): number {
    return this.#window;
  }

  /** Applies a Window Acknowledgement Size from the peer. */
  setWindowSize(size: number): void {
    this.#window = AckCounter.#check(size);
  }

  /**
   * Records received bytes.
   * @param n - byte count of one read
   * @returns true when an acknowledgement is due (then send {@link AckCounter.acknowledge}'s value)
   */
  add(n: number): boolean {
    if (!Number.isInteger(n) || n < 0) {
      throw new ChunkError(
        'ERR_CHUNK_INVALID_ARGUMENT',
        `byte count must be a non-negative integer, got ${n}`,
      );
    }
    this.#received = (this.#received + n) % 0x100000000;
    this.#sinceAck += n;
    return this.#window > 0 && this.#sinceAck >= this.#window;
  }

  /** Whether an acknowledgement is due now. */
  get due(): boolean {
    return this.#window > 0 && this.#sinceAck >= this.#window;
  }

  /** Marks an acknowledgement as sent and returns the sequence number to put in it. */
  acknowledge(): number {
    this.#sinceAck = 0;
    return this.#received;
  }
}
