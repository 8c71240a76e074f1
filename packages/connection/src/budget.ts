import { RtmpError } from './errors.js';

/**
 * A memory budget shared by many connections: the bytes their chunk decoders hold for incomplete messages
 * (input buffers pinned by partial payloads). `RtmpServer` (of `@rtmp/server`) creates one from `maxTotalBufferedBytes`;
 * pass your own to connections you create yourself with `RtmpConnectionOptions.bufferBudget`.
 *
 * When a charge takes the total above `limit`, the connection that holds the most is closed with
 * `ERR_RTMP_MEMORY_BUDGET` (the one that costs the most is the likeliest abuser, and closing it frees the most).
 */
export class BufferBudget {
  /** Most bytes all members may hold together. */
  readonly limit: number;
  #total = 0;
  // Only holders with a non-zero charge are kept, so the map stays as small as the number of partial messages.
  readonly #held = new Map<BudgetHolder, number>();

  /** @param limit - most bytes held at once by all members together (a positive integer) */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RtmpError(
        'ERR_RTMP_INVALID_OPTION',
        `buffer budget limit must be a positive integer, got ${limit}`,
      );
    }
    this.limit = limit;
  }

  /** Bytes currently held by every member together. */
  get total(): number {
    return this.#total;
  }

  /** Number of members that hold bytes right now. */
  get holders(): number {
    return this.#held.size;
  }

  /**
   * Sets what `holder` holds now and returns the member to evict when the total is above the limit (the one
   * holding the most; `holder` itself when it ties for the most, since it is the one growing), else undefined.
   * Cheap when nothing changed (the common case: complete messages).
   */
  set(holder: BudgetHolder, bytes: number): BudgetHolder | undefined {
    const before = this.#held.get(holder) ?? 0;
    if (before === bytes) return this.#total > this.limit ? this.#largest(holder) : undefined;
    this.#total += bytes - before;
    if (bytes === 0) this.#held.delete(holder);
    else this.#held.set(holder, bytes);
    return this.#total > this.limit ? this.#largest(holder) : undefined;
  }

  /** Drops `holder`'s charge (it closed). */
  release(holder: BudgetHolder): void {
    const before = this.#held.get(holder);
    if (before === undefined) return;
    this.#total -= before;
    this.#held.delete(holder);
  }

  /** What `holder` is charged with. */
  heldBy(holder: BudgetHolder): number {
    return this.#held.get(holder) ?? 0;
  }

  #largest(growing: BudgetHolder): BudgetHolder | undefined {
    let best: BudgetHolder | undefined;
    let most = -1;
    for (const [holder, bytes] of this.#held) {
      if (bytes > most || (bytes === most && holder === growing)) {
        most = bytes;
        best = holder;
      }
    }
    return best;
  }
}

/** What a {@link BufferBudget} tracks (in practice an `RtmpConnection`): something the budget can close. */
export interface BudgetHolder {
  /** Closes the holder with `error` (the budget's `ERR_RTMP_MEMORY_BUDGET`). */
  destroy(error: RtmpError): void;
}
