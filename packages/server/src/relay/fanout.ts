import type { EventEmitter } from 'node:events';
import { MessageType } from '@rtmp/chunk';
import { RtmpConnection, RtmpError } from '@rtmp/connection';
import type { SharedItem } from './item.js';
import { isRtmpPlayer } from './rtmp-player.js';
import { addSubscription, type LiveStream, removeSubscription, removeSubscriptions } from './stream.js';
import type { Subscription } from './subscription.js';
import type { LiveRelayEvents, LiveRelayTotals } from './types.js';

/**
 * The relay's fan-out: attaching and detaching subscribers (RTMP players among them), delivering every item to
 * each under the slow-consumer policy, and the drop counters and events that go with it. `LiveRelay` owns the
 * streams and the publishers and hands every message here.
 */
export class Fanout {
  /** Relay-wide counters, every subscriber. */
  readonly totals: LiveRelayTotals = { droppedMessages: 0, droppedBytes: 0, slowPlayers: 0 };
  readonly #protocolTotals = new Map<string, LiveRelayTotals>();
  readonly #events: EventEmitter<LiveRelayEvents>;
  readonly #streams: Map<string, LiveStream>;

  constructor(events: EventEmitter<LiveRelayEvents>, streams: Map<string, LiveStream>) {
    this.#events = events;
    this.#streams = streams;
  }

  /** The relay-wide counters of `protocol`, if it ever had a subscriber. */
  totalsFor(protocol: string): LiveRelayTotals | undefined {
    return this.#protocolTotals.get(protocol);
  }

  /** Delivers a media item to every subscriber of `stream`; one that throws is detached, the others go on. */
  deliverAll(stream: LiveStream, entry: SharedItem): void {
    // Only audio and video get here (the relay sends data and configuration with sendAll).
    const type = entry.message.type as 8 | 9;
    const subs = stream.delivery;
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i]!;
      if (!sub.attached) continue;
      try {
        this.#deliver(stream, sub, entry, type);
      } catch (error) {
        this.#failed(stream, sub, error);
      }
    }
  }

  /**
   * The publisher of `stream` left: every subscriber is detached and ended (RTMP players get StreamEOF and
   * NetStream.Play.Stop). Returns how many there were.
   */
  endAll(stream: LiveStream, reason: string): number {
    const subs = removeSubscriptions(stream);
    for (const sub of subs) {
      this.#reportDrops(stream.key, sub);
      safely('end', () => sub.subscriber.end(reason));
      this.#events.emit('unsubscribe', stream.key, sub.subscriber);
    }
    return subs.length;
  }

  /**
   * Attaches `sub` to `stream`: `play` (RTMP players) and `subscribe`, the replay of the caches, then
   * `demand` when it is the first subscriber of a key that is not live.
   */
  attach(stream: LiveStream, sub: Subscription): void {
    const key = stream.key;
    const subscriber = sub.subscriber;
    const demand = stream.subscribers.size === 0 && stream.publisher === undefined;
    addSubscription(stream, sub);
    if (isRtmpPlayer(subscriber)) this.#events.emit('play', key, subscriber.session);
    this.#events.emit('subscribe', key, subscriber);
    // The cached GOP goes out in one writev rather than one per message (RTMP players).
    RtmpConnection.batch(() => {
      try {
        if (stream.metadata) sub.send(stream.metadata);
        stream.tracks.replay((config) => sub.send(config));
        for (const cached of stream.gop) {
          if (!sub.attached) break;
          this.#deliver(stream, sub, cached, cached.message.type as 8 | 9);
        }
      } catch (error) {
        this.#failed(stream, sub, error);
      }
    });
    if (demand) this.#events.emit('demand', key);
  }

  /**
   * Takes `sub` off `stream`: reports its drops and emits `stop` (RTMP players) and `unsubscribe`. False when it
   * was not attached any more.
   */
  detach(stream: LiveStream, sub: Subscription): boolean {
    const subscriber = sub.subscriber;
    if (!removeSubscription(stream, sub)) return false;
    this.#reportDrops(stream.key, sub);
    if (isRtmpPlayer(subscriber)) this.#events.emit('stop', stream.key, subscriber.session);
    this.#events.emit('unsubscribe', stream.key, subscriber);
    return true;
  }

  /** After subscribers left: forgets an entry with neither publisher nor subscribers; `idle` if the last left. */
  settle(stream: LiveStream, removed: boolean): void {
    if (stream.subscribers.size > 0) return;
    if (!stream.publisher && this.#streams.get(stream.key) === stream) this.#streams.delete(stream.key);
    if (removed) this.#events.emit('idle', stream.key);
  }

  /** Sends configuration or metadata to every subscriber: never dropped, whatever it waits for. */
  sendAll(stream: LiveStream, entry: SharedItem): void {
    const subs = stream.delivery;
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i]!;
      if (!sub.attached) continue;
      try {
        sub.send(entry);
      } catch (error) {
        this.#failed(stream, sub, error);
      }
    }
  }

  /** Delivers media under the slow-consumer policy. */
  #deliver(stream: LiveStream, sub: Subscription, entry: SharedItem, type: 8 | 9): void {
    // Media the subscriber opted out of (pause, receiveVideo/receiveAudio false) is not a drop.
    if (!sub.wants(type)) {
      if (type === MessageType.Video) sub.videoGap = true;
      return;
    }
    if (sub.videoGap && type === MessageType.Video) {
      // Inter frames after a gap reference frames the subscriber never got.
      if (!entry.keyframe) return;
      sub.videoGap = false;
    }
    const queued = sub.queuedBytes();
    if (sub.waitKeyframe) {
      // Without video (none published, or the subscriber turned it off), every audio frame is a valid start.
      const startPoint =
        entry.keyframe || (type === MessageType.Audio && (!stream.hasVideo || !sub.wants(MessageType.Video)));
      if (!startPoint) {
        // A new subscriber waiting for its first keyframe lost nothing; one catching up did.
        if (sub.behind) this.#drop(stream, sub, entry);
        return;
      }
      if (queued > sub.maxQueue) {
        this.#drop(stream, sub, entry);
        if (sub.behind) this.#tooSlow(stream, sub, queued);
        return;
      }
      sub.waitKeyframe = false;
      sub.behind = false;
      if (sub.droppedMessages !== sub.reportedMessages) this.#reportDrops(stream.key, sub);
    } else if (queued > sub.maxQueue) {
      sub.waitKeyframe = true;
      sub.behind = true;
      this.#drop(stream, sub, entry);
      return;
    }
    sub.send(entry);
  }

  // Off the delivery path: only messages that are dropped get here, so counting costs nothing when all is well.
  #drop(stream: LiveStream, sub: Subscription, entry: SharedItem): void {
    sub.droppedMessages++;
    sub.droppedBytes += entry.bytes;
    stream.droppedMessages++;
    stream.droppedBytes += entry.bytes;
    this.totals.droppedMessages++;
    this.totals.droppedBytes += entry.bytes;
    sub.totals.droppedMessages++;
    sub.totals.droppedBytes += entry.bytes;
  }

  /** Still behind at a keyframe: detached and closed with `ERR_RTMP_SLOW_CONSUMER`. */
  #tooSlow(stream: LiveStream, sub: Subscription, queued: number): void {
    const { key } = stream;
    const subscriber = sub.subscriber;
    removeSubscription(stream, sub);
    this.totals.slowPlayers++;
    sub.totals.slowPlayers++;
    this.#reportDrops(key, sub);
    if (isRtmpPlayer(subscriber)) this.#events.emit('slowPlayer', key, subscriber.session);
    this.#events.emit('slowSubscriber', key, subscriber);
    const error = new RtmpError('ERR_RTMP_SLOW_CONSUMER', `player of ${key} stayed ${queued} bytes behind`);
    safely('close', () => subscriber.close(error));
    this.#events.emit('unsubscribe', key, subscriber);
    this.settle(stream, true);
  }

  /** A subscriber threw: detached and closed with `ERR_RTMP_HANDLER_FAILED`; the others go on. */
  #failed(stream: LiveStream, sub: Subscription, exception: unknown): void {
    if (!this.detach(stream, sub)) return;
    const detail = exception instanceof Error ? exception.message : String(exception);
    const error = new RtmpError('ERR_RTMP_HANDLER_FAILED', `subscriber of ${stream.key} threw: ${detail}`, {
      cause: exception,
    });
    safely('close', () => sub.subscriber.close(error));
    this.settle(stream, true);
  }

  /** Emits the drop events for what `sub` lost since the last report (nothing when it lost nothing). */
  #reportDrops(key: string, sub: Subscription): void {
    const messages = sub.droppedMessages - sub.reportedMessages;
    if (messages === 0) return;
    const bytes = sub.droppedBytes - sub.reportedBytes;
    sub.reportedMessages = sub.droppedMessages;
    sub.reportedBytes = sub.droppedBytes;
    const subscriber = sub.subscriber;
    if (isRtmpPlayer(subscriber)) this.#events.emit('drop', key, subscriber.session, messages, bytes);
    this.#events.emit('subscriberDrop', key, subscriber, messages, bytes);
  }

  /** The relay-wide counters of `protocol`, made on its first subscriber. */
  totalsOf(protocol: string): LiveRelayTotals {
    let totals = this.#protocolTotals.get(protocol);
    if (totals === undefined) {
      totals = { droppedMessages: 0, droppedBytes: 0, slowPlayers: 0 };
      this.#protocolTotals.set(protocol, totals);
    }
    return totals;
  }
}

/**
 * Calls back into a subscriber or a replaced publisher on the relay's own path (`end`, `close`): an exception there
 * must not reach the publisher whose message is being relayed, and is never dropped either: it becomes a process
 * warning, as a throwing close listener of a connection does.
 */
export function safely(what: string, run: () => void): void {
  try {
    run();
  } catch (exception) {
    const detail = exception instanceof Error ? exception.message : String(exception);
    process.emitWarning(
      new RtmpError(
        'ERR_RTMP_HANDLER_FAILED',
        `${what}() of a relay subscriber or publisher threw: ${detail}`,
        {
          cause: exception,
        },
      ),
    );
  }
}
