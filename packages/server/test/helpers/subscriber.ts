import type { RtmpError } from '@rtmp/connection';
import type { RelayItem, RelaySubscriber } from '../../src/index.js';
import type { Tag } from './relay-model.js';

/** What a {@link RecordingSubscriber} does with its queue. */
export interface QueueModel {
  /** Bytes its queue holds after it took `item` (default: always 0, a subscriber that never falls behind). */
  after?: (item: RelayItem, queued: number) => number;
}

/**
 * A subscriber for tests: records every item (as the relay model's tags, and as the items themselves), how it
 * ended, and reports a queue the test controls.
 */
export class RecordingSubscriber implements RelaySubscriber {
  readonly protocol: string;
  readonly items: RelayItem[] = [];
  readonly tags: Tag[] = [];
  ended: string | undefined;
  closedWith: RtmpError | undefined;
  /** What `queuedBytes()` reports; tests set it, or a queue model moves it. */
  queued = 0;
  /** What `wants()` answers per media type. */
  video = true;
  audio = true;
  readonly #model: QueueModel;

  constructor(protocol = 'test', model: QueueModel = {}) {
    this.protocol = protocol;
    this.#model = model;
  }

  send(item: RelayItem): void {
    this.items.push(item);
    const { type, timestamp, payload } = item.message;
    if (type === 8 || type === 9 || type === 18) this.tags.push({ type, timestamp, body: payload.slice() });
    if (this.#model.after) this.queued = this.#model.after(item, this.queued);
  }

  queuedBytes(): number {
    return this.queued;
  }

  wants(type: 8 | 9): boolean {
    return type === 9 ? this.video : this.audio;
  }

  end(reason: string): void {
    this.ended = reason;
  }

  close(error: RtmpError): void {
    this.closedWith = error;
  }
}

/** A publisher that is not a session: a pull, a file, a test. */
export class TestPublisher {
  closed = false;
  closedWith: RtmpError | undefined;

  close(error: RtmpError): void {
    this.closed = true;
    this.closedWith = error;
  }
}
