import type { SharedItem } from './item.js';
import { isRtmpPlayer } from './rtmp-player.js';
import type { Subscription } from './subscription.js';
import { TrackCache } from './track-cache.js';
import type { LivePlayerStats, LiveStreamStats, RelayPublisher, RelaySubscriber } from './types.js';

/** The relay's state for one key: its publisher, caches and subscribers. */
export interface LiveStream {
  key: string;
  /** The publisher and, for a session, the message stream id its media comes on (undefined: any). */
  publisher: { source: RelayPublisher; streamId: number | undefined } | undefined;
  lastMessageAt: number;
  /** The last data message (onMetaData), timestamp 0. */
  metadata: SharedItem | undefined;
  /** Sequence headers, colorInfo and channel configs of every live track. */
  tracks: TrackCache;
  /** From the last keyframe on. */
  gop: SharedItem[];
  gopBytes: number;
  hasVideo: boolean;
  /** Every subscriber, RTMP players included, by its identity (an RTMP player is its own). */
  subscribers: Map<RelaySubscriber, Subscription>;
  /**
   * The same subscriptions in the order they came: the array the fan-out walks for every message. It is replaced,
   * never changed in place, when one comes or goes, so a walk is never disturbed by its own side effects (a
   * subscriber closed as slow, a listener that unsubscribes another); and an array walks in about half the time of
   * a Map iterator, which at 100 players was a tenth of the relay's cost per message.
   */
  delivery: readonly Subscription[];
  droppedMessages: number;
  droppedBytes: number;
}

/** A new, empty stream entry for `key`. */
export function newStream(key: string): LiveStream {
  return {
    key,
    publisher: undefined,
    lastMessageAt: Date.now(),
    metadata: undefined,
    tracks: new TrackCache(),
    gop: [],
    gopBytes: 0,
    hasVideo: false,
    subscribers: new Map(),
    delivery: [],
    droppedMessages: 0,
    droppedBytes: 0,
  };
}

/** Adds `sub` to `stream` (after the others). */
export function addSubscription(stream: LiveStream, sub: Subscription): void {
  stream.subscribers.set(sub.subscriber, sub);
  stream.delivery = [...stream.delivery, sub];
}

/** Takes `sub` off `stream`; false when it was not attached there. */
export function removeSubscription(stream: LiveStream, sub: Subscription): boolean {
  if (stream.subscribers.get(sub.subscriber) !== sub) return false;
  stream.subscribers.delete(sub.subscriber);
  stream.delivery = stream.delivery.filter((s) => s !== sub);
  sub.attached = false;
  return true;
}

/** Takes every subscription off `stream`; returns them in the order they came. */
export function removeSubscriptions(stream: LiveStream): readonly Subscription[] {
  const subs = stream.delivery;
  stream.subscribers.clear();
  stream.delivery = [];
  for (const sub of subs) sub.attached = false;
  return subs;
}

/** Empties what a publisher left behind: metadata, track configs, the GOP. */
export function clearMedia(stream: LiveStream): void {
  stream.metadata = undefined;
  stream.tracks.clear();
  stream.gop = [];
  stream.gopBytes = 0;
  stream.hasVideo = false;
}

/** What {@link LiveRelay.stats} reports of `s`. */
export function streamStats(s: LiveStream): LiveStreamStats {
  // Protocol labels come from applications: no prototype for a label to collide with.
  const playersByProtocol: Record<string, number> = Object.create(null);
  const playerStats: LivePlayerStats[] = [];
  for (const sub of s.delivery) {
    const subscriber = sub.subscriber;
    const protocol = subscriber.protocol;
    playersByProtocol[protocol] = (playersByProtocol[protocol] ?? 0) + 1;
    const rtmp = isRtmpPlayer(subscriber);
    playerStats.push({
      protocol,
      subscriber,
      session: rtmp ? subscriber.session : undefined,
      streamId: rtmp ? subscriber.streamId : undefined,
      droppedMessages: sub.droppedMessages,
      droppedBytes: sub.droppedBytes,
      behind: sub.behind,
    });
  }
  return {
    key: s.key,
    publishing: s.publisher !== undefined,
    players: s.subscribers.size,
    playersByProtocol,
    gopMessages: s.gop.length,
    gopBytes: s.gopBytes,
    droppedMessages: s.droppedMessages,
    droppedBytes: s.droppedBytes,
    playerStats,
  };
}
