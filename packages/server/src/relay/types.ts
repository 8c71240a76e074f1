import type { RtmpMessage } from '@rtmp/chunk';
import type { RtmpError } from '@rtmp/connection';
import type { TagClass, TagKind, TagTrack } from '@rtmp/flv-demux';
import type { ClientSession } from '../server/session.js';

/** Options of {@link LiveRelay}. */
export interface LiveRelayOptions {
  /**
   * A player whose socket holds more than this many unsent bytes falls behind: its media is dropped until
   * the next keyframe, and it is disconnected (`ERR_RTMP_SLOW_CONSUMER`) if it is still behind then.
   * The same limit applies to every subscriber that reports its queue ({@link RelaySubscriber.queuedBytes}),
   * unless it subscribed with its own ({@link SubscribeOptions.maxQueuedBytes}). Default 4 MiB.
   */
  maxPlayerQueue?: number;
  /** Most bytes kept in the GOP cache; beyond it the cache is emptied until the next keyframe. Default 32 MiB. */
  maxGopBytes?: number;
  /**
   * A publisher that sent nothing for this long (ms) is considered dead: a new publisher on its key replaces it
   * instead of getting NetStream.Publish.BadName. Default 5 000.
   */
  stalePublisherTimeout?: number;
  /**
   * How {@link LiveRelay.handler} names the streams it relays, i.e. which publishers and players meet:
   *
   * - `'app'` (default): `<app>/<name>`, the connect `app` with trailing slashes removed, then the stream name
   *   without its `?query`. `rtmp://h/live/abc` is `live/abc` and `rtmp://h/other/abc` is `other/abc`, two
   *   separate streams, as nginx-rtmp scopes streams by `application`.
   * - `'global'`: the stream name alone: every app shares one namespace (the only behaviour of 0.1).
   * - a function `(app, name, session) => key`, for anything else (vhosts from `tcUrl`, case folding...).
   *   `app` is already normalised; the function runs once per publish or play, never per message.
   *
   * The direct API (`publish`, `play`, `subscribe`, `push`, `stop`, `unpublish`) takes the key the caller gives;
   * the events, `isLive`, `liveKeys` and `stats` report whatever key was used.
   */
  scope?: 'app' | 'global' | ((app: string, name: string, session: ClientSession) => string);
}

/** What a {@link RelayItem} is: `'data'` for the stream's metadata (onMetaData), else its tag class's kind. */
export type RelayItemKind = 'data' | TagKind;

/**
 * One message of a relayed stream, as every subscriber receives it. Items are immutable and shared by every
 * subscriber of the key (and kept in the relay's caches): read them, keep them as long as needed, never write to
 * their bytes. Each serialization is built on first use and then shared by every subscriber that asks for it.
 */
export interface RelayItem {
  /**
   * The message: `type` 8 (audio), 9 (video) or 18 (metadata: `onMetaData` without `@setDataFrame`, timestamp 0),
   * `timestamp` in ms, `payload` the FLV tag body (a view, not a copy). `streamId` is the publisher's, so means
   * nothing to a subscriber.
   */
  readonly message: RtmpMessage;
  /** `'data'` for metadata; for audio/video the classifier's kind (`config`, `keyframe`, `frame`...). */
  readonly kind: RelayItemKind;
  /** A video keyframe: a decoder may start here. */
  readonly keyframe: boolean;
  /** The tracks (id and codec) an audio/video tag carries; empty for metadata, command frames and `unknown`. */
  readonly tracks: readonly TagTrack[];
  /** The whole classification of an audio/video tag (`@rtmp/flv-demux`'s `TagClass`); undefined for metadata. */
  readonly tagClass: TagClass | undefined;
  /** The RTMP chunk stream id the relay sends this message on (what `RtmpConnection.writeEncoded` wants). */
  readonly chunkStreamId: number;
  /**
   * The message chunk-encoded for message stream `streamId` at `chunkSize` (fmt 0, then fmt 3 chunks), as one
   * contiguous Buffer in a one-element list: encoded once per (stream id, chunk size) and shared.
   */
  rtmpChunks(streamId: number, chunkSize: number): readonly Uint8Array[];
  /**
   * The message as one FLV tag: the 11-byte tag header (stream id 0), the body and the 4-byte PreviousTagSize, in
   * one Uint8Array: built once and shared (the same object for every caller). Write an FLV file header (9 bytes +
   * PreviousTagSize0) first, then these tags in order: that is an FLV file, an HTTP-FLV or a WS-FLV stream.
   */
  flvTag(): Uint8Array;
}

/**
 * Anything that consumes a relayed stream in the process: an HTTP-FLV or WS-FLV viewer, an HLS muxer, a restream
 * push, a recorder. Attach it with {@link LiveRelay.subscribe}. It gets exactly what an RTMP player of the key
 * gets, in the same order: the metadata, the current configuration of every track, the cached GOP from its
 * keyframe, then live messages; after a pause (or {@link RelaySubscriber.wants} false) video resumes at a keyframe.
 * The relay calls it synchronously from the publisher's receive path: it must not block, and should not throw (a
 * subscriber that throws is closed with `ERR_RTMP_HANDLER_FAILED`; the publisher and other subscribers go on).
 */
export interface RelaySubscriber {
  /**
   * What it is, as stats and events report it: `'http-flv'`, `'ws-flv'`, `'hls'`, `'push'`, `'record'`...
   * The relay's own RTMP players are `'rtmp'`.
   */
  readonly protocol: string;
  /** Takes the next item. */
  send(item: RelayItem): void;
  /**
   * Bytes it was given and has not sent yet (e.g. `response.writableLength`, `webSocket.bufferedAmount`). A
   * subscriber with a queue over the limit falls behind: it gets nothing until a keyframe finds its queue short
   * again (the skipped media counted as drops), and it is closed (`ERR_RTMP_SLOW_CONSUMER`) if the next keyframe
   * finds it still over. Without this method it never falls behind (it consumes synchronously, e.g. a muxer).
   */
  queuedBytes?(): number;
  /**
   * Whether it wants audio (8) or video (9) now; media it does not want is not a drop. Video comes back at a
   * keyframe. Without this method it wants both.
   */
  wants?(type: 8 | 9): boolean;
  /** The publisher of its key unpublished: it gets nothing more and is already detached. */
  end(reason: string): void;
  /** The relay detached it: too slow (`ERR_RTMP_SLOW_CONSUMER`) or its `send` threw (`ERR_RTMP_HANDLER_FAILED`). */
  close(error: RtmpError): void;
}

/** Options of {@link LiveRelay.subscribe}. */
export interface SubscribeOptions {
  /** This subscriber's queue limit instead of the relay's `maxPlayerQueue` (with `queuedBytes`). */
  maxQueuedBytes?: number;
}

/**
 * A publisher of a key: a {@link ClientSession} (what {@link LiveRelay.handler} registers), or anything else that
 * feeds the relay with {@link LiveRelay.push}: a pull (our client playing from an origin), a file, a test. The
 * object is its identity; these two members let the relay replace it when it is dead.
 */
export interface RelayPublisher {
  /** True once it is gone: a new publisher of its key then replaces it at once (else only after silence). */
  readonly closed: boolean;
  /** Called when a new publisher replaces it (`ERR_RTMP_STREAM_BUSY`): it was closed or silent too long. */
  close(error: RtmpError): void;
}

/** The subscriber the relay makes of an RTMP player ({@link LiveRelay.play}): see {@link isRtmpPlayer}. */
export interface RtmpPlayerSubscriber extends RelaySubscriber {
  readonly protocol: 'rtmp';
  /** The player's session. */
  readonly session: ClientSession;
  /** Its play stream id. */
  readonly streamId: number;
}

/** Drop counters of one subscriber (an RTMP player or another), in {@link LiveStreamStats.playerStats}. */
export interface LivePlayerStats {
  /** `'rtmp'` for an RTMP player, else the subscriber's {@link RelaySubscriber.protocol}. */
  protocol: string;
  /** The subscriber (for an RTMP player, the relay's {@link RtmpPlayerSubscriber}). */
  subscriber: RelaySubscriber;
  /** An RTMP player's session; undefined for other subscribers. */
  session: ClientSession | undefined;
  /** An RTMP player's play stream id; undefined for other subscribers. */
  streamId: number | undefined;
  /** Audio/video messages it should have got but did not: it was over its queue limit or catching up. */
  droppedMessages: number;
  /** Payload bytes of those messages. */
  droppedBytes: number;
  /** Fell behind and has not reached a keyframe with a short enough queue yet. */
  behind: boolean;
}

/** Relay-wide counters since the relay was created, from {@link LiveRelay.totals}. */
export interface LiveRelayTotals {
  /**
   * Messages not delivered to subscribers that fell behind (every stream, every RTMP player and other
   * subscriber, past and present).
   */
  droppedMessages: number;
  /** Payload bytes of those messages. */
  droppedBytes: number;
  /** Subscribers closed with `ERR_RTMP_SLOW_CONSUMER` (RTMP players: disconnected). */
  slowPlayers: number;
}

/**
 * Events of {@link LiveRelay}, for logging, metrics and on-demand work. `play`/`stop`/`slowPlayer`/`drop` are about
 * RTMP players (with their session); `subscribe`/`unsubscribe`/`slowSubscriber`/`subscriberDrop` about every
 * subscriber, RTMP players included (as their {@link RtmpPlayerSubscriber}): count viewers with one family, not both.
 */
export interface LiveRelayEvents {
  /** A publisher (a session, or any {@link RelayPublisher}) registered the key. */
  publish: [key: string, publisher: RelayPublisher];
  unpublish: [key: string, publisher: RelayPublisher];
  play: [key: string, session: ClientSession];
  stop: [key: string, session: ClientSession];
  /** An RTMP player fell behind and was disconnected. */
  slowPlayer: [key: string, session: ClientSession];
  /**
   * An RTMP player lost `messages` audio/video messages (`bytes` of payload) because it fell behind: emitted once
   * per episode, when it gets media again (at a keyframe) or leaves (disconnected as slow, stopped, stream ended).
   */
  drop: [key: string, session: ClientSession, messages: number, bytes: number];
  /** A subscriber was attached (an RTMP player that started playing, or {@link LiveRelay.subscribe}). */
  subscribe: [key: string, subscriber: RelaySubscriber];
  /** A subscriber left, whatever the reason (stopped, unsubscribed, stream ended, too slow, failed): once each. */
  unsubscribe: [key: string, subscriber: RelaySubscriber];
  /** A subscriber fell behind and was closed (an RTMP player: disconnected). */
  slowSubscriber: [key: string, subscriber: RelaySubscriber];
  /** As `drop`, for every subscriber. */
  subscriberDrop: [key: string, subscriber: RelaySubscriber, messages: number, bytes: number];
  /**
   * A key that is not live got its first subscriber (an RTMP player or another): start whatever would publish it
   * (a pull from an origin), or let a player wait for a publisher.
   */
  demand: [key: string];
  /** A key lost its last subscriber (however it left, live or not): stop on-demand work after a grace period. */
  idle: [key: string];
}

/** What {@link LiveRelay.stats} reports for one key. */
export interface LiveStreamStats {
  key: string;
  publishing: boolean;
  /** Subscribers attached now: RTMP players and the others ({@link LiveStreamStats.playersByProtocol} splits them). */
  players: number;
  /** {@link LiveStreamStats.players} by protocol, e.g. `{ rtmp: 2, 'http-flv': 5 }` (protocols with none left out). */
  playersByProtocol: Record<string, number>;
  gopMessages: number;
  gopBytes: number;
  /**
   * Audio/video messages not delivered to subscribers that fell behind (over their queue limit, then waiting for
   * a keyframe), summed over the subscribers this key has had since its entry was created. Media a subscriber
   * opted out of (pause, receiveAudio/receiveVideo false) and the wait of a new subscriber for its first keyframe
   * are not counted. The entry, and these counters, go when the key has neither publisher nor subscribers.
   */
  droppedMessages: number;
  /** Payload bytes of {@link LiveStreamStats.droppedMessages}. */
  droppedBytes: number;
  /** The subscribers attached now, RTMP players included, with their own drop counters. */
  playerStats: LivePlayerStats[];
}
