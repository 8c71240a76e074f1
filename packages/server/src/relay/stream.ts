import type { ClientSession } from '../server/session.js';
import type { RelayItem } from './item.js';
import { TrackCache } from './track-cache.js';
import type { LiveStreamStats } from './types.js';

/** One player of a relayed stream. */
export interface Player {
  session: ClientSession;
  streamId: number;
  /** Dropping media until the next keyframe (a fresh player with no cached GOP, or one that fell behind). */
  waitKeyframe: boolean;
  /** Fell behind at least once and has not caught up: disconnect if still behind at the next keyframe. */
  behind: boolean;
  /** Video was skipped (paused, receiveVideo false): resume video at a keyframe only, audio goes on. */
  videoGap: boolean;
  droppedMessages: number;
  droppedBytes: number;
  /** The part of the drop counters already announced by a `drop` event. */
  reportedMessages: number;
  reportedBytes: number;
}

/** A new player, waiting for its first keyframe. */
export function newPlayer(session: ClientSession, streamId: number): Player {
  return {
    session,
    streamId,
    waitKeyframe: true,
    behind: false,
    videoGap: false,
    droppedMessages: 0,
    droppedBytes: 0,
    reportedMessages: 0,
    reportedBytes: 0,
  };
}

/** The relay's state for one key: its publisher, caches and players. */
export interface LiveStream {
  key: string;
  publisher: { session: ClientSession; streamId: number } | undefined;
  lastMessageAt: number;
  /** The last data message (onMetaData), timestamp 0. */
  metadata: RelayItem | undefined;
  /** Sequence headers, colorInfo and channel configs of every live track. */
  tracks: TrackCache;
  /** From the last keyframe on. */
  gop: RelayItem[];
  gopBytes: number;
  hasVideo: boolean;
  players: Set<Player>;
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
    players: new Set(),
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
  return {
    key: s.key,
    publishing: s.publisher !== undefined,
    players: s.players.size,
    gopMessages: s.gop.length,
    gopBytes: s.gopBytes,
    droppedMessages: s.droppedMessages,
    droppedBytes: s.droppedBytes,
    playerStats: [...s.players].map((p) => ({
      session: p.session,
      streamId: p.streamId,
      droppedMessages: p.droppedMessages,
      droppedBytes: p.droppedBytes,
      behind: p.behind,
    })),
  };
}
