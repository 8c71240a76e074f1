import type { ClientSession } from '../server/session.js';

/** Options of {@link LiveRelay}. */
export interface LiveRelayOptions {
  /**
   * A player whose socket holds more than this many unsent bytes falls behind: its media is dropped until
   * the next keyframe, and it is disconnected (`ERR_RTMP_SLOW_CONSUMER`) if it is still behind then.
   * Default 4 MiB.
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
   * The direct API (`publish`, `play`, `push`, `stop`, `unpublish`) takes the key the caller gives; the events,
   * `isLive`, `liveKeys` and `stats` report whatever key was used.
   */
  scope?: 'app' | 'global' | ((app: string, name: string, session: ClientSession) => string);
}

/** Drop counters of one player, in {@link LiveStreamStats.playerStats}. */
export interface LivePlayerStats {
  session: ClientSession;
  /** Its play stream id. */
  streamId: number;
  /** Audio/video messages it should have got but did not: it was over `maxPlayerQueue` or catching up. */
  droppedMessages: number;
  /** Payload bytes of those messages. */
  droppedBytes: number;
  /** Fell behind and has not reached a keyframe with a short enough queue yet. */
  behind: boolean;
}

/** Relay-wide counters since the relay was created, from {@link LiveRelay.totals}. */
export interface LiveRelayTotals {
  /** Messages not delivered to players that fell behind (every stream, every player, past and present). */
  droppedMessages: number;
  /** Payload bytes of those messages. */
  droppedBytes: number;
  /** Players disconnected with `ERR_RTMP_SLOW_CONSUMER`. */
  slowPlayers: number;
}

/** Events of {@link LiveRelay}, for logging and metrics. */
export interface LiveRelayEvents {
  publish: [key: string, session: ClientSession];
  unpublish: [key: string, session: ClientSession];
  play: [key: string, session: ClientSession];
  stop: [key: string, session: ClientSession];
  /** A player fell behind and was disconnected. */
  slowPlayer: [key: string, session: ClientSession];
  /**
   * A player lost `messages` audio/video messages (`bytes` of payload) because it fell behind: emitted once per
   * episode, when it gets media again (at a keyframe) or leaves (disconnected as slow, stopped, stream ended).
   */
  drop: [key: string, session: ClientSession, messages: number, bytes: number];
}

/** What {@link LiveRelay.stats} reports for one key. */
export interface LiveStreamStats {
  key: string;
  publishing: boolean;
  players: number;
  gopMessages: number;
  gopBytes: number;
  /**
   * Audio/video messages not delivered to players that fell behind (over `maxPlayerQueue`, then waiting for a
   * keyframe), summed over the players this key has had since its entry was created. Media a player opted out
   * of (pause, receiveAudio/receiveVideo false) and the wait of a new player for its first keyframe are not
   * counted. The entry, and these counters, go when the key has neither publisher nor players.
   */
  droppedMessages: number;
  /** Payload bytes of {@link LiveStreamStats.droppedMessages}. */
  droppedBytes: number;
  /** The players attached now, with their own drop counters. */
  playerStats: LivePlayerStats[];
}
