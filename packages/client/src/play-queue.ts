import type { DemuxEvent } from '@rtmp/flv-demux';

/** A media or data message as received, when demuxing is off (or for recording). */
export interface RawPlayItem {
  kind: 'raw';
  /** 8 audio, 9 video, 18/15 data. */
  type: number;
  timestamp: number;
  /** The FLV tag body (a view into the received bytes). */
  payload: Uint8Array;
}

/** What the async iterator of a {@link RtmpPlayer} yields. */
export type PlayItem = DemuxEvent | RawPlayItem;

interface IteratorState {
  queue: PlayItem[];
  head: number;
  wake: (() => void) | undefined;
  done: boolean;
}

/** What a {@link PlayQueue} asks of its player. */
export interface PlayQueueOwner {
  /** Whether the iterators must stop waiting: true once the play ended or closed and nothing is held back. */
  finished(): boolean;
  /** The error an iterator throws once finished (a disconnect before the end of stream), else undefined. */
  failure(): Error | undefined;
  /** Whether the play is over for good (no backpressure on a closed play). */
  closed(): boolean;
  /** The longest iterator queue crossed the high-water mark (true) or fell to half of it (false). */
  backpressure(paused: boolean): void;
}

/**
 * The queues of a player's async iterators: every iterator gets every item; when the slowest falls `highWaterMark`
 * items behind, the owner is told to pause the socket, and to resume it once that iterator is down to half.
 */
export class PlayQueue {
  readonly #owner: PlayQueueOwner;
  readonly #highWaterMark: number;
  readonly #iterators = new Set<IteratorState>();
  #paused = false;

  constructor(owner: PlayQueueOwner, highWaterMark: number) {
    this.#owner = owner;
    this.#highWaterMark = highWaterMark;
  }

  /** A new iterator over the items pushed from now on. */
  iterator(): AsyncIterator<PlayItem> {
    const state: IteratorState = { queue: [], head: 0, wake: undefined, done: false };
    this.#iterators.add(state);
    const finish = (): IteratorResult<PlayItem> => {
      this.#iterators.delete(state);
      this.update();
      return { done: true, value: undefined };
    };
    return {
      next: async (): Promise<IteratorResult<PlayItem>> => {
        for (;;) {
          if (state.head < state.queue.length) {
            const value = state.queue[state.head++]!;
            if (state.head > 1024 && state.head * 2 > state.queue.length) {
              state.queue = state.queue.slice(state.head);
              state.head = 0;
            }
            this.update();
            return { done: false, value };
          }
          if (state.done || this.#owner.finished()) {
            const failure = this.#owner.failure();
            finish();
            if (failure) throw failure;
            return { done: true, value: undefined };
          }
          await new Promise<void>((resolve) => {
            state.wake = resolve;
          });
        }
      },
      return: async (): Promise<IteratorResult<PlayItem>> => {
        state.done = true;
        return finish();
      },
    };
  }

  /** Queues an item for every iterator. */
  push(item: PlayItem): void {
    if (this.#iterators.size === 0) return;
    for (const state of this.#iterators) {
      state.queue.push(item);
      const wake = state.wake;
      state.wake = undefined;
      wake?.();
    }
    this.update();
  }

  /** Wakes every waiting iterator (to see that the play finished). */
  wakeAll(): void {
    for (const state of this.#iterators) {
      const wake = state.wake;
      state.wake = undefined;
      wake?.();
    }
  }

  /** Re-evaluates backpressure after the queues changed; a closed play lifts it for good. */
  update(): void {
    const closed = this.#owner.closed();
    let longest = 0;
    for (const state of this.#iterators) longest = Math.max(longest, state.queue.length - state.head);
    if (!this.#paused && longest >= this.#highWaterMark && !closed) {
      this.#paused = true;
      this.#owner.backpressure(true);
    } else if (this.#paused && (closed || longest <= this.#highWaterMark >> 1)) {
      this.#paused = false;
      this.#owner.backpressure(false);
    }
  }
}
