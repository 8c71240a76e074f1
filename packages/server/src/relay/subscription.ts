import type { SharedItem } from './item.js';
import type { LiveRelayTotals, RelaySubscriber } from './types.js';

/**
 * The relay's record of one subscriber of a key: the slow-consumer policy's state and the three primitives the
 * fan-out calls per message. An RTMP player is one kind (`RtmpPlayer`, which is its own subscriber: one object per
 * player on the delivery path); any other {@link RelaySubscriber} is wrapped in an {@link ExternalSubscription}.
 */
export abstract class Subscription {
  /** What events and stats report: the application's subscriber, or the RTMP player itself. */
  abstract readonly subscriber: RelaySubscriber;
  /** Its queue limit (the relay's `maxPlayerQueue` unless it subscribed with its own). */
  readonly maxQueue: number;
  /** The counters of its protocol, relay-wide (drops are added there too, without a lookup). */
  readonly totals: LiveRelayTotals;
  /** Cleared when it leaves its stream: a walk over an older delivery list skips it. */
  attached = true;
  /** Dropping media until the next keyframe (a fresh subscriber with no cached GOP, or one that fell behind). */
  waitKeyframe = true;
  /** Fell behind at least once and has not caught up: close it if still behind at the next keyframe. */
  behind = false;
  /** Video was skipped (paused, receiveVideo false): resume video at a keyframe only, audio goes on. */
  videoGap = false;
  droppedMessages = 0;
  droppedBytes = 0;
  /** The part of the drop counters already announced by a drop event. */
  reportedMessages = 0;
  reportedBytes = 0;

  constructor(maxQueue: number, totals: LiveRelayTotals) {
    this.maxQueue = maxQueue;
    this.totals = totals;
  }

  /** Hands an item over. */
  abstract send(item: SharedItem): void;
  /** Bytes queued and not sent yet; 0 for a subscriber that does not say. */
  abstract queuedBytes(): number;
  /** Whether it wants audio (8) or video (9) now; true for a subscriber that does not say. */
  abstract wants(type: 8 | 9): boolean;
}

/** A subscriber of the application, attached with `LiveRelay.subscribe`. */
export class ExternalSubscription extends Subscription {
  readonly subscriber: RelaySubscriber;

  constructor(subscriber: RelaySubscriber, maxQueue: number, totals: LiveRelayTotals) {
    super(maxQueue, totals);
    this.subscriber = subscriber;
  }

  send(item: SharedItem): void {
    this.subscriber.send(item);
  }

  queuedBytes(): number {
    const subscriber = this.subscriber;
    return subscriber.queuedBytes === undefined ? 0 : subscriber.queuedBytes();
  }

  wants(type: 8 | 9): boolean {
    const subscriber = this.subscriber;
    return subscriber.wants === undefined || subscriber.wants(type);
  }
}
