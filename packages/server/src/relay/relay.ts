import { EventEmitter } from 'node:events';
import { MessageType, type RtmpMessage } from '@rtmp/chunk';
import { ChunkStreams, RtmpError } from '@rtmp/connection';
import { classifyAudioTag, classifyVideoTag } from '@rtmp/flv-demux';
import type { RtmpHandlerFactory } from '../server/handler.js';
import type { ClientSession } from '../server/session.js';
import { normaliseApp } from '../server/util.js';
import { Fanout, safely } from './fanout.js';
import { relayHandler } from './handler.js';
import { SharedItem } from './item.js';
import { isRtmpPlayer, RtmpPlayer } from './rtmp-player.js';
import { clearMedia, type LiveStream, newStream, streamStats } from './stream.js';
import { ExternalSubscription } from './subscription.js';
import type {
  LiveRelayEvents,
  LiveRelayOptions,
  LiveRelayTotals,
  LiveStreamStats,
  RelayPublisher,
  RelaySubscriber,
  SubscribeOptions,
} from './types.js';

export { isRtmpPlayer } from './rtmp-player.js';
export type {
  LivePlayerStats,
  LiveRelayEvents,
  LiveRelayOptions,
  LiveRelayTotals,
  LiveStreamStats,
  RelayItem,
  RelayItemKind,
  RelayPublisher,
  RelaySubscriber,
  RtmpPlayerSubscriber,
  SubscribeOptions,
} from './types.js';

/**
 * The live relay: publishers register a stream key, subscribers of that key (RTMP players and any
 * {@link RelaySubscriber}: HTTP-FLV/WS-FLV viewers, muxers, restream pushes, recorders) get metadata, the current
 * configuration of every track (sequence headers, colorInfo, channel configs) and the current GOP at once, then
 * live media. Each message becomes one {@link RelayItem} whose serializations (the chunk encoding per stream id and
 * chunk size, the FLV tag) are built once and shared by every subscriber. A subscriber that falls behind loses
 * media until the next keyframe and is then closed if still behind; the publisher and other subscribers are never
 * slowed.
 *
 * Plug it into a server with {@link LiveRelay.handler}, which keys streams by app: `rtmp://h/live/abc` is the key
 * `live/abc` (see {@link LiveRelayOptions.scope}). Dropped media is counted per subscriber, per key
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
  readonly #fanout = new Fanout(this, this.#streams);

  constructor(options: LiveRelayOptions = {}) {
    super();
    const scope = options.scope ?? 'app';
    if (scope === 'app') this.#scope = (app, name) => `${app}/${name}`;
    else if (scope === 'global') this.#scope = (_app, name) => name;
    else if (typeof scope === 'function') this.#scope = scope;
    else throw new RtmpError('ERR_RTMP_INVALID_OPTION', "option scope must be 'app', 'global' or a function");
    this.#maxQueue = checkLimit('maxPlayerQueue', options.maxPlayerQueue ?? 4 * 1024 * 1024);
    this.#maxGop = checkLimit('maxGopBytes', options.maxGopBytes ?? 32 * 1024 * 1024);
    this.#staleAfter = checkLimit('stalePublisherTimeout', options.stalePublisherTimeout ?? 5_000);
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
   * Resolves true once `key` has a live publisher (at once when it has one), false after `timeoutMs` without one.
   * For code that starts a publisher elsewhere (a pull, a cluster's edge) and holds a request until it is live.
   */
  whenLive(key: string, timeoutMs: number): Promise<boolean> {
    if (this.isLive(key)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (live: boolean) => {
        clearTimeout(timer);
        this.off('publish', onPublish);
        resolve(live);
      };
      const onPublish = (published: string) => {
        if (published === key) done(true);
      };
      const timer = setTimeout(() => done(this.isLive(key)), timeoutMs);
      this.on('publish', onPublish);
    });
  }

  /**
   * The key {@link LiveRelay.handler} uses for stream `name` (without `?query`) of `session`, per the `scope`
   * option: `live/abc` by default. Applications use it to look their streams up in `isLive`, `stats` and events.
   */
  keyFor(session: ClientSession, name: string): string {
    return this.#scope(normaliseApp(session.connectInfo?.app ?? ''), name, session);
  }

  /** Figures of every key that has a publisher or subscribers. */
  stats(): LiveStreamStats[];
  /** Figures of one key, or undefined when it has neither publisher nor subscribers. */
  stats(key: string): LiveStreamStats | undefined;
  stats(key?: string): LiveStreamStats[] | LiveStreamStats | undefined {
    if (key !== undefined) {
      const stream = this.#streams.get(key);
      return stream && streamStats(stream);
    }
    return [...this.#streams.values()].map(streamStats);
  }

  /**
   * Counters over the relay's whole life (every key, including ended ones), e.g. for a Prometheus counter: of
   * every subscriber, or of the subscribers of one `protocol` (`'rtmp'` for RTMP players).
   */
  totals(protocol?: string): LiveRelayTotals {
    const totals = protocol === undefined ? this.#fanout.totals : this.#fanout.totalsFor(protocol);
    return { droppedMessages: 0, droppedBytes: 0, slowPlayers: 0, ...totals };
  }

  /**
   * Registers `publisher` as the publisher of `key`: a session (with the message stream id its media comes on) or
   * any {@link RelayPublisher} (then every message it pushes counts, whatever its stream id, unless `streamId` is
   * given). Returns false when a live publisher holds the key. A dead one (closed, or silent for
   * `stalePublisherTimeout`) is closed with `ERR_RTMP_STREAM_BUSY` and replaced; subscribers stay and resume at
   * the new publisher's first keyframe.
   */
  publish(key: string, publisher: RelayPublisher, streamId?: number): boolean {
    let stream = this.#streams.get(key);
    if (stream?.publisher) {
      const current = stream.publisher;
      if (current.source === publisher && current.streamId === streamId) return true;
      const stale = Date.now() - stream.lastMessageAt >= this.#staleAfter;
      if (!current.source.closed && !stale) return false;
      this.unpublish(key, current.source, { notifyPlayers: false });
      const replaced = new RtmpError('ERR_RTMP_STREAM_BUSY', `stale publisher of ${key} replaced`);
      safely('close', () => current.source.close(replaced));
      stream = this.#streams.get(key);
    }
    stream ??= this.#entry(key);
    stream.publisher = { source: publisher, streamId };
    stream.lastMessageAt = Date.now();
    for (const sub of stream.delivery) sub.waitKeyframe = true;
    this.emit('publish', key, publisher);
    return true;
  }

  /** A new, empty entry for `key` (a publisher or a subscriber may come first). */
  #entry(key: string): LiveStream {
    const stream = newStream(key);
    this.#streams.set(key, stream);
    return stream;
  }

  /**
   * Ends the publish of `key` by `publisher`: RTMP players get StreamEOF, NetStream.Play.UnpublishNotify and
   * NetStream.Play.Stop, other subscribers {@link RelaySubscriber.end}, and all are detached (unless
   * `notifyPlayers` is false, when a new publisher takes over at once).
   */
  unpublish(key: string, publisher: RelayPublisher, options: { notifyPlayers?: boolean } = {}): void {
    const stream = this.#streams.get(key);
    if (!stream || stream.publisher?.source !== publisher) return;
    stream.publisher = undefined;
    clearMedia(stream);
    let ended = 0;
    if (options.notifyPlayers !== false) {
      this.#streams.delete(key);
      ended = this.#fanout.endAll(stream, `${key} is now unpublished.`);
    }
    this.emit('unpublish', key, publisher);
    if (ended > 0) this.emit('idle', key);
  }

  /**
   * Adds an RTMP player of `key` on its play stream `streamId` (after NetStream.Play.Start was sent). When the key
   * is live it receives metadata, the current configuration of every track and the cached GOP at once; otherwise
   * it waits for a publisher.
   */
  play(key: string, session: ClientSession, streamId: number): void {
    const player = new RtmpPlayer(session, streamId, this.#maxQueue, this.#fanout.totalsOf('rtmp'));
    this.#fanout.attach(this.#streams.get(key) ?? this.#entry(key), player);
  }

  /**
   * Attaches `subscriber` to `key`: it gets what an RTMP player would (metadata, the current configuration of
   * every track, the cached GOP, then live messages) as {@link RelayItem}s, under the same slow-consumer policy when
   * it reports {@link RelaySubscriber.queuedBytes}. When the key is not live it waits for a publisher (and the key's
   * first subscriber raises `demand`). Detach it with {@link LiveRelay.unsubscribe}; the relay detaches it itself
   * when the stream ends (`end`) or it is too slow (`close`).
   * @throws {@link RtmpError} `ERR_RTMP_INVALID_OPTION` for a subscriber without a protocol or `send`, or a bad
   *   `maxQueuedBytes`; `ERR_RTMP_INVALID_STATE` when it is already subscribed to `key`
   */
  subscribe(key: string, subscriber: RelaySubscriber, options: SubscribeOptions = {}): void {
    if (typeof subscriber.protocol !== 'string' || subscriber.protocol === '') {
      throw new RtmpError('ERR_RTMP_INVALID_OPTION', 'a subscriber needs a protocol label');
    }
    if (typeof subscriber.send !== 'function') {
      throw new RtmpError('ERR_RTMP_INVALID_OPTION', 'a subscriber needs a send method');
    }
    const maxQueue = checkLimit('maxQueuedBytes', options.maxQueuedBytes ?? this.#maxQueue);
    if (this.#streams.get(key)?.subscribers.has(subscriber)) {
      throw new RtmpError('ERR_RTMP_INVALID_STATE', `already subscribed to ${key}`);
    }
    const sub = new ExternalSubscription(subscriber, maxQueue, this.#fanout.totalsOf(subscriber.protocol));
    this.#fanout.attach(this.#streams.get(key) ?? this.#entry(key), sub);
  }

  /** Detaches `subscriber` from `key` (nothing when it is not attached). */
  unsubscribe(key: string, subscriber: RelaySubscriber): void {
    const stream = this.#streams.get(key);
    if (!stream) return;
    const sub = stream.subscribers.get(subscriber);
    this.#fanout.settle(stream, sub !== undefined && this.#fanout.detach(stream, sub));
  }

  /** Removes an RTMP player (its play ended or it disconnected); without `streamId`, every play of `session`. */
  stop(key: string, session: ClientSession, streamId?: number): void {
    const stream = this.#streams.get(key);
    if (!stream) return;
    let removed = false;
    for (const sub of stream.delivery) {
      const s = sub.subscriber;
      if (isRtmpPlayer(s) && s.session === session && (streamId === undefined || s.streamId === streamId)) {
        if (this.#fanout.detach(stream, sub)) removed = true;
      }
    }
    this.#fanout.settle(stream, removed);
  }

  /**
   * Forwards one message of the publisher of `key` to its subscribers and updates the caches. Ignored unless
   * `publisher` is the key's publisher (and, for one registered with a stream id, `message.streamId` is it).
   */
  push(key: string, publisher: RelayPublisher, message: RtmpMessage): void {
    const stream = this.#streams.get(key);
    const current = stream?.publisher;
    if (
      stream === undefined ||
      current?.source !== publisher ||
      (current.streamId !== undefined && current.streamId !== message.streamId)
    ) {
      return;
    }
    stream.lastMessageAt = Date.now();
    if (message.type === MessageType.DataAmf0) {
      const metadata = new SharedItem({ ...message, timestamp: 0 }, ChunkStreams.Data, undefined);
      stream.metadata = metadata;
      this.#fanout.sendAll(stream, metadata);
      return;
    }
    if (message.type !== MessageType.Video && message.type !== MessageType.Audio) return;
    const video = message.type === MessageType.Video;
    const c = video ? classifyVideoTag(message.payload) : classifyAudioTag(message.payload);
    const kind = c.kind;
    const entry = new SharedItem(message, video ? ChunkStreams.Video : ChunkStreams.Audio, c);
    if (kind === 'config' || kind === 'metadata' || kind === 'sequenceEnd') {
      // Configuration: every subscriber gets it now (whatever it waits for), late joiners from the track cache.
      if (stream.tracks.update(c, entry)) {
        // A video track's configuration changed: the cached frames no longer decode with the new one.
        stream.gop = [];
        stream.gopBytes = 0;
      }
      this.#fanout.sendAll(stream, entry);
      return;
    }
    // Frames, command frames and what the classifier could not read are forwarded as media.
    if (video) stream.hasVideo = true;
    if (entry.keyframe) {
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
    this.#fanout.deliverAll(stream, entry);
  }

  /** Drops every registration of `session` (called when it disconnects). */
  removeSession(session: ClientSession): void {
    for (const stream of [...this.#streams.values()]) {
      if (stream.publisher?.source === session) this.unpublish(stream.key, session);
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
}

function checkLimit(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RtmpError('ERR_RTMP_INVALID_OPTION', `option ${name} must be a non-negative number`);
  }
  return value;
}
