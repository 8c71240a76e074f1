import { EventEmitter } from 'node:events';
import { MessageType, type RtmpMessage } from '@rtmp/chunk';
import { ChunkStreams, RtmpConnection, RtmpError } from '@rtmp/connection';
import { classifyAudioTag, classifyVideoTag } from '@rtmp/flv-demux';
import type { RtmpHandlerFactory } from '../server/handler.js';
import type { ClientSession } from '../server/session.js';
import { relayHandler } from './handler.js';
import { encodingFor, type RelayItem, relayItem } from './item.js';
import { clearMedia, type LiveStream, newPlayer, newStream, type Player, streamStats } from './stream.js';
import type { LiveRelayEvents, LiveRelayOptions, LiveRelayTotals, LiveStreamStats } from './types.js';

export type {
  LivePlayerStats,
  LiveRelayEvents,
  LiveRelayOptions,
  LiveRelayTotals,
  LiveStreamStats,
} from './types.js';

/**
 * The live relay: publishers register a stream key, players of that key get metadata, the current configuration
 * of every track (sequence headers, colorInfo, channel configs) and the current GOP at once, then live media. Each
 * message is chunk-encoded once per (stream id, chunk size) and the same slices are written to every player. A
 * player that falls behind loses media until the next keyframe and is then disconnected if still behind; the
 * publisher and other players are never slowed.
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
    const stream = newStream(key);
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
    clearMedia(stream);
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
   * is live it receives metadata, the current configuration of every track and the cached GOP at once; otherwise
   * it waits for a publisher.
   */
  play(key: string, session: ClientSession, streamId: number): void {
    const stream = this.#streams.get(key) ?? this.#entry(key);
    const player = newPlayer(session, streamId);
    stream.players.add(player);
    this.emit('play', key, session);
    // The cached GOP goes out in one writev rather than one per message.
    RtmpConnection.batch(() => {
      if (stream.metadata) this.#write(player, stream.metadata);
      stream.tracks.replay((config) => this.#write(player, config));
      for (const cached of stream.gop) this.#deliver(stream, player, cached);
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
      const metadata = relayItem({ ...message, timestamp: 0 }, ChunkStreams.Data, false);
      stream.metadata = metadata;
      for (const player of stream.players) this.#write(player, metadata);
      return;
    }
    if (message.type !== MessageType.Video && message.type !== MessageType.Audio) return;
    const video = message.type === MessageType.Video;
    const c = video ? classifyVideoTag(message.payload) : classifyAudioTag(message.payload);
    const kind = c.kind;
    if (kind === 'config' || kind === 'metadata' || kind === 'sequenceEnd') {
      // Configuration: every player gets it now (whatever it waits for), late joiners from the track cache.
      const entry = relayItem(message, video ? ChunkStreams.Video : ChunkStreams.Audio, false);
      if (stream.tracks.update(c, entry)) {
        // A video track's configuration changed: the cached frames no longer decode with the new one.
        stream.gop = [];
        stream.gopBytes = 0;
      }
      for (const player of stream.players) this.#write(player, entry);
      return;
    }
    // Frames, command frames and what the classifier could not read are forwarded as media.
    const keyframe = kind === 'keyframe';
    const entry = relayItem(message, video ? ChunkStreams.Video : ChunkStreams.Audio, keyframe);
    if (video) stream.hasVideo = true;
    if (keyframe) {
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
    return relayHandler(this, inner);
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
