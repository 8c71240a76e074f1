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
  /** Every subscriber, RTMP players included, in the order they came. */
  subscribers: Map<RelaySubscriber, Subscription>;
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
    droppedMessages: 0,
    droppedBytes: 0,
  };
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
  for (const sub of s.subscribers.values()) {
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
