import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { encodeMessage, MessageType, type RtmpMessage } from '@rtmp/chunk';
import { ChunkStreams, RtmpConnection, RtmpError } from '@rtmp/connection';
import type { RtmpHandler, RtmpHandlerFactory, StreamContext } from '../server/handler.js';
import { reject } from '../server/handler.js';
import type { ClientSession } from '../server/session.js';
import { classifyAudio, classifyVideo } from './classify.js';

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

/** One message as the relay keeps it: its single encoding per (stream id, chunk size) is shared by every player. */
export interface RelayItem {
  message: RtmpMessage;
  csid: number;
  keyframe: boolean;
  bytes: number;
  // The encoding for the first (stream id, chunk size) seen: in practice every player shares it, so the common
  // path looks it up with two comparisons and no per-player key.
  streamId: number;
  chunkSize: number;
  /** The chunk-encoded wire bytes (headers and payload) as one Buffer, in a one-element list for writeEncoded. */
  wire: readonly Buffer[] | undefined;
  /** Encodings for other (stream id, chunk size) pairs, keyed by `streamId * 2^32 + chunkSize`; built lazily. */
  others: Map<number, readonly Buffer[]> | undefined;
}

interface Player {
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

interface LiveStream {
  key: string;
  publisher: { session: ClientSession; streamId: number } | undefined;
  lastMessageAt: number;
  metadata: RelayItem | undefined;
  videoHeaders: RelayItem[];
  audioHeaders: RelayItem[];
  gop: RelayItem[];
  gopBytes: number;
  hasVideo: boolean;
  players: Set<Player>;
  droppedMessages: number;
  droppedBytes: number;
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

const MAX_HEADERS = 16;

function item(message: RtmpMessage, csid: number, keyframe: boolean): RelayItem {
  return {
    message,
    csid,
    keyframe,
    bytes: message.payload.byteLength,
    streamId: 0,
    chunkSize: 0,
    wire: undefined,
    others: undefined,
  };
}

/**
 * The live relay: publishers register a stream key, players of that key get metadata, sequence headers and
 * the current GOP at once, then live media. Each message is chunk-encoded once per (stream id, chunk size)
 * and the same slices are written to every player. A player that falls behind loses media until the next
 * keyframe and is then disconnected if still behind; the publisher and other players are never slowed.
 *
 * Plug it into a server with {@link LiveRelay.handler}, which keys streams by app: `rtmp://h/live/abc` is the key
 * `live/abc` (see {@link LiveRelayOptions.scope}). Dropped media is counted per player, per key
 * ({@link LiveRelay.stats}) and relay-wide ({@link LiveRelay.totals}).
 *
 * @example
 * ```ts
 * const relay = new LiveRelay();
 * const server = new RtmpServer({ handler: relay.handler() });
 * ```
 */
export class LiveRelay extends EventEmitter<LiveRelayEvents> {
  readonly #streams = new Map<string, LiveStream>();
  readonly #maxQueue: number;
  readonly #maxGop: number;
  readonly #staleAfter: number;
  readonly #scope: (app: string, name: string, session: ClientSession) => string;
  #droppedMessages = 0;
  #droppedBytes = 0;
  #slowPlayers = 0;

  constructor(options: LiveRelayOptions = {}) {
    super();
    const scope = options.scope ?? 'app';
    if (scope === 'app') this.#scope = (app, name) => `${app}/${name}`;
    else if (scope === 'global') this.#scope = (_app, name) => name;
    else if (typeof scope === 'function') this.#scope = scope;
    else throw new RtmpError('ERR_RTMP_INVALID_OPTION', "option scope must be 'app', 'global' or a function");
    this.#maxQueue = options.maxPlayerQueue ?? 4 * 1024 * 1024;
    this.#maxGop = options.maxGopBytes ?? 32 * 1024 * 1024;
    this.#staleAfter = options.stalePublisherTimeout ?? 5_000;
    for (const [name, value] of [
      ['maxPlayerQueue', this.#maxQueue],
      ['maxGopBytes', this.#maxGop],
      ['stalePublisherTimeout', this.#staleAfter],
    ] as const) {
      if (!Number.isFinite(value) || value < 0) {
        throw new RtmpError('ERR_RTMP_INVALID_OPTION', `option ${name} must be a non-negative number`);
      }
    }
  }

  /** Keys that currently have a publisher. */
  liveKeys(): string[] {
    return [...this.#streams.values()].filter((s) => s.publisher).map((s) => s.key);
  }

  /** Whether `key` has a live publisher. */
  isLive(key: string): boolean {
    return this.#streams.get(key)?.publisher !== undefined;
  }

  /**
   * The key {@link LiveRelay.handler} uses for stream `name` (without `?query`) of `session`, per the `scope`
   * option: `live/abc` by default. Applications use it to look their streams up in `isLive`, `stats` and events.
   */
  keyFor(session: ClientSession, name: string): string {
    return this.#scope(normaliseApp(session.connectInfo?.app ?? ''), name, session);
  }

  /** Figures of every key that has a publisher or players. */
  stats(): LiveStreamStats[];
  /** Figures of one key, or undefined when it has neither publisher nor players. */
  stats(key: string): LiveStreamStats | undefined;
  stats(key?: string): LiveStreamStats[] | LiveStreamStats | undefined {
    if (key !== undefined) {
      const stream = this.#streams.get(key);
      return stream && streamStats(stream);
    }
    return [...this.#streams.values()].map(streamStats);
  }

  /** Counters over the relay's whole life (every key, including ended ones), e.g. for a Prometheus counter. */
  totals(): LiveRelayTotals {
    return {
      droppedMessages: this.#droppedMessages,
      droppedBytes: this.#droppedBytes,
      slowPlayers: this.#slowPlayers,
    };
  }

  /**
   * Registers `session` as the publisher of `key`. Returns false when a live publisher holds the key. A dead
   * one (closed, or silent for `stalePublisherTimeout`) is disconnected and replaced.
   */
  publish(key: string, session: ClientSession, streamId: number): boolean {
    let stream = this.#streams.get(key);
    if (stream?.publisher) {
      const current = stream.publisher;
      const stale = Date.now() - stream.lastMessageAt >= this.#staleAfter;
      if (current.session === session && current.streamId === streamId) return true;
      if (!current.session.closed && !stale) return false;
      this.unpublish(key, current.session, { notifyPlayers: false });
      current.session.close(new RtmpError('ERR_RTMP_STREAM_BUSY', `stale publisher of ${key} replaced`));
      stream = this.#streams.get(key);
    }
    stream ??= this.#entry(key);
    stream.publisher = { session, streamId };
    stream.lastMessageAt = Date.now();
    for (const player of stream.players) player.waitKeyframe = true;
    this.emit('publish', key, session);
    return true;
  }

  /** A new, empty entry for `key` (a publisher or a player may come first). */
  #entry(key: string): LiveStream {
    const stream: LiveStream = {
      key,
      publisher: undefined,
      lastMessageAt: Date.now(),
      metadata: undefined,
      videoHeaders: [],
      audioHeaders: [],
      gop: [],
      gopBytes: 0,
      hasVideo: false,
      players: new Set(),
      droppedMessages: 0,
      droppedBytes: 0,
    };
    this.#streams.set(key, stream);
    return stream;
  }

  /**
   * Ends the publish of `key` by `session`: players get StreamEOF, NetStream.Play.UnpublishNotify and
   * NetStream.Play.Stop (unless `notifyPlayers` is false, when a new publisher takes over at once).
   */
  unpublish(key: string, session: ClientSession, options: { notifyPlayers?: boolean } = {}): void {
    const stream = this.#streams.get(key);
    if (!stream || stream.publisher?.session !== session) return;
    stream.publisher = undefined;
    stream.metadata = undefined;
    stream.videoHeaders = [];
    stream.audioHeaders = [];
    stream.gop = [];
    stream.gopBytes = 0;
    stream.hasVideo = false;
    if (options.notifyPlayers !== false) {
      const players = [...stream.players];
      stream.players.clear();
      for (const player of players) {
        this.#reportDrops(key, player);
        player.session.endPlayback(player.streamId, `${key} is now unpublished.`);
      }
      this.#streams.delete(key);
    }
    this.emit('unpublish', key, session);
  }

  /**
   * Adds a player of `key` on its play stream `streamId` (after NetStream.Play.Start was sent). When the key
   * is live it receives metadata, sequence headers and the cached GOP at once; otherwise it waits for a publisher.
   */
  play(key: string, session: ClientSession, streamId: number): void {
    const stream = this.#streams.get(key) ?? this.#entry(key);
    const player: Player = {
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
    stream.players.add(player);
    this.emit('play', key, session);
    const live = stream;
    // The cached GOP goes out in one writev rather than one per message.
    RtmpConnection.batch(() => {
      if (live.metadata) this.#write(player, live.metadata);
      for (const header of live.videoHeaders) this.#write(player, header);
      for (const header of live.audioHeaders) this.#write(player, header);
      for (const cached of live.gop) this.#deliver(live, player, cached);
    });
  }

  /** Removes a player (its play ended or it disconnected). */
  stop(key: string, session: ClientSession, streamId?: number): void {
    const stream = this.#streams.get(key);
    if (!stream) return;
    for (const player of stream.players) {
      if (player.session === session && (streamId === undefined || player.streamId === streamId)) {
        stream.players.delete(player);
        this.#reportDrops(key, player);
        this.emit('stop', key, session);
      }
    }
    if (!stream.publisher && stream.players.size === 0) this.#streams.delete(key);
  }

  /** Forwards one message of the publisher of `key` to its players and updates the caches. */
  push(key: string, session: ClientSession, message: RtmpMessage): void {
    const stream = this.#streams.get(key);
    if (!stream || stream.publisher?.session !== session || stream.publisher.streamId !== message.streamId)
      return;
    stream.lastMessageAt = Date.now();
    if (message.type === MessageType.DataAmf0) {
      const metadata = item({ ...message, timestamp: 0 }, ChunkStreams.Data, false);
      stream.metadata = metadata;
      for (const player of stream.players) this.#write(player, metadata);
      return;
    }
    if (message.type !== MessageType.Video && message.type !== MessageType.Audio) return;
    const video = message.type === MessageType.Video;
    const kind = video ? classifyVideo(message.payload) : classifyAudio(message.payload);
    const entry = item(message, video ? ChunkStreams.Video : ChunkStreams.Audio, kind.keyframe);
    if (kind.header) {
      const list = video ? stream.videoHeaders : stream.audioHeaders;
      // A new single-track header replaces the old one; multitrack headers accumulate (bounded).
      if (list.length >= MAX_HEADERS || !(message.payload[0]! & 0x80)) list.length = 0;
      list.push(entry);
      for (const player of stream.players) this.#write(player, entry);
      return;
    }
    if (video) stream.hasVideo = true;
    if (kind.keyframe) {
      stream.gop = [entry];
      stream.gopBytes = entry.bytes;
    } else if (stream.gop.length > 0) {
      if (stream.gopBytes + entry.bytes > this.#maxGop) {
        stream.gop = [];
        stream.gopBytes = 0;
      } else {
        stream.gop.push(entry);
        stream.gopBytes += entry.bytes;
      }
    }
    for (const player of stream.players) this.#deliver(stream, player, entry);
  }

  /** Drops every registration of `session` (called when it disconnects). */
  removeSession(session: ClientSession): void {
    for (const stream of [...this.#streams.values()]) {
      if (stream.publisher?.session === session) this.unpublish(stream.key, session);
      this.stop(stream.key, session);
    }
  }

  /**
   * A handler factory for {@link RtmpServer}: accepts everything, relays publishers to players, and refuses a
   * second publisher of a live key with NetStream.Publish.BadName. Pass `inner` to add your own decisions
   * (auth, logging): its callbacks run first, and a refusal from it stands.
   */
  handler<O>(inner?: RtmpHandlerFactory<O>): RtmpHandlerFactory<O> {
    return (options: O, session: ClientSession): RtmpHandler => {
      const user = inner?.(options, session) ?? {};
      // Relay keys by message stream id, computed once per publish/play: media messages then cost a map lookup,
      // not a string built per message.
      const published = new Map<number, string>();
      const playing = new Map<number, string>();
      session.on('play', (info) => {
        const key = this.keyFor(session, info.name);
        playing.set(info.streamId, key);
        this.play(key, session, info.streamId);
      });
      session.on('stop', (context: StreamContext) => {
        const key = playing.get(context.streamId) ?? this.keyFor(session, context.streamKey);
        playing.delete(context.streamId);
        this.stop(key, session, context.streamId);
      });
      session.on('unpublish', (context: StreamContext) => {
        const key = published.get(context.streamId) ?? this.keyFor(session, context.streamKey);
        published.delete(context.streamId);
        this.unpublish(key, session);
      });
      session.on('close', () => this.removeSession(session));
      const relay: RtmpHandler = {
        ...user,
        handlePublish: async (streamKey, info) => {
          const decision = await user.handlePublish?.call(user, streamKey, info);
          if (typeof decision === 'object' && decision !== null) return decision;
          if (session.closed) return reject('closed');
          const key = this.keyFor(session, streamKey);
          if (!this.publish(key, session, info.streamId)) {
            return reject(`${streamKey} is already being published`, 'NetStream.Publish.BadName');
          }
          published.set(info.streamId, key);
          return decision;
        },
        handleMessage: (message, context) => {
          const key = published.get(context.streamId);
          if (key !== undefined) this.push(key, session, message);
          user.handleMessage?.call(user, message, context);
        },
      };
      return relay;
    };
  }

  #deliver(stream: LiveStream, player: Player, entry: RelayItem): void {
    const type = entry.message.type as 8 | 9;
    // Media the player opted out of (pause, receiveVideo/receiveAudio false) is not a drop.
    if (!player.session.wants(player.streamId, type)) {
      if (type === MessageType.Video) player.videoGap = true;
      return;
    }
    if (player.videoGap && type === MessageType.Video) {
      // Inter frames after a gap reference frames the player never got.
      if (!entry.keyframe) return;
      player.videoGap = false;
    }
    // Without video (none published, or the player turned it off), every audio frame is a valid starting point.
    const startPoint =
      entry.keyframe ||
      (type === MessageType.Audio &&
        (!stream.hasVideo || !player.session.wants(player.streamId, MessageType.Video)));
    const queued = player.session.connection.writableLength;
    if (player.waitKeyframe) {
      if (!startPoint) {
        // A new player waiting for its first keyframe lost nothing; one catching up did.
        if (player.behind) this.#drop(stream, player, entry);
        return;
      }
      if (queued > this.#maxQueue) {
        this.#drop(stream, player, entry);
        if (player.behind) {
          stream.players.delete(player);
          this.#slowPlayers++;
          this.#reportDrops(stream.key, player);
          this.emit('slowPlayer', stream.key, player.session);
          player.session.close(
            new RtmpError('ERR_RTMP_SLOW_CONSUMER', `player of ${stream.key} stayed ${queued} bytes behind`),
          );
        }
        return;
      }
      player.waitKeyframe = false;
      player.behind = false;
      if (player.droppedMessages !== player.reportedMessages) this.#reportDrops(stream.key, player);
    } else if (queued > this.#maxQueue) {
      player.waitKeyframe = true;
      player.behind = true;
      this.#drop(stream, player, entry);
      return;
    }
    this.#write(player, entry);
  }

  // Off the delivery path: only messages that are dropped get here, so counting costs nothing when all is well.
  #drop(stream: LiveStream, player: Player, entry: RelayItem): void {
    player.droppedMessages++;
    player.droppedBytes += entry.bytes;
    stream.droppedMessages++;
    stream.droppedBytes += entry.bytes;
    this.#droppedMessages++;
    this.#droppedBytes += entry.bytes;
  }

  /** Emits `drop` for what `player` lost since the last report (nothing when it lost nothing). */
  #reportDrops(key: string, player: Player): void {
    const messages = player.droppedMessages - player.reportedMessages;
    if (messages === 0) return;
    const bytes = player.droppedBytes - player.reportedBytes;
    player.reportedMessages = player.droppedMessages;
    player.reportedBytes = player.droppedBytes;
    this.emit('drop', key, player.session, messages, bytes);
  }

  #write(player: Player, entry: RelayItem): void {
    const connection = player.session.connection;
    connection.writeEncoded(encodingFor(entry, player.streamId, connection.outChunkSize), entry.csid);
  }
}

/** The connect `app` as the relay keys it: trailing slashes removed (`live/` is `live`). */
export function normaliseApp(app: string): string {
  let end = app.length;
  while (end > 0 && app.charCodeAt(end - 1) === 0x2f) end--;
  return end === app.length ? app : app.slice(0, end);
}

function streamStats(s: LiveStream): LiveStreamStats {
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

/**
 * The shared chunk encoding of `entry` for one (stream id, chunk size): encoded once, reused by every player.
 *
 * The header and payload slices are joined into one contiguous Buffer here, once per message: every player then
 * costs one `socket.write` of one Buffer instead of a cork, a write per slice (a 30 KB keyframe at 4 KiB chunks
 * is 16 slices) and a `writev`. One payload copy per message buys that for all players; the profile of 200
 * players showed the per-slice stream bookkeeping as the largest cost of fan-out.
 */
export function encodingFor(entry: RelayItem, streamId: number, chunkSize: number): readonly Buffer[] {
  if (entry.wire === undefined) {
    entry.streamId = streamId;
    entry.chunkSize = chunkSize;
    entry.wire = wireBytes(entry, streamId, chunkSize);
    return entry.wire;
  }
  if (entry.streamId === streamId && entry.chunkSize === chunkSize) return entry.wire;
  const key = streamId * 0x1_0000_0000 + chunkSize;
  entry.others ??= new Map();
  let wire = entry.others.get(key);
  if (!wire) {
    wire = wireBytes(entry, streamId, chunkSize);
    entry.others.set(key, wire);
  }
  return wire;
}

function wireBytes(entry: RelayItem, streamId: number, chunkSize: number): readonly Buffer[] {
  const slices = encodeMessage({ ...entry.message, streamId }, entry.csid, chunkSize);
  let length = 0;
  for (const slice of slices) length += slice.byteLength;
  const wire = Buffer.allocUnsafe(length);
  let at = 0;
  for (const slice of slices) {
    wire.set(slice, at);
    at += slice.byteLength;
  }
  return [wire];
}
