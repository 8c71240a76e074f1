import { EventEmitter } from 'node:events';
import type { RtmpMessage } from '@rtmp/chunk';
import { type PlayEnd, RtmpClient, type RtmpClientOptions } from '@rtmp/client';
import type { RtmpError } from '@rtmp/connection';
import { stripSetDataFrame } from '@rtmp/flv-demux';
import type { LiveRelay, RelayPublisher } from '@rtmp/server';
import { Backoff, type BackoffOptions } from './backoff.js';
import { codeOf, messageOf, RestreamError } from './errors.js';
import { invalidStreamUrl, redactStreamUrl } from './urls.js';

/**
 * Where a relay key's stream is played from: a complete `rtmp[s]://host[:port]/app/name` URL, or undefined when the
 * key is not pulled (its players wait for a local publisher). Called once per pull attempt, never per message; may
 * be async (a cluster registry lookup).
 */
export type OriginResolver = (key: string) => string | undefined | Promise<string | undefined>;

/** Options of every pull of a {@link Puller}. */
export interface PullOptions {
  /** Options of the `RtmpClient` of each upstream connection (TLS, timeouts...); the URL is the origin's. */
  client?: Omit<RtmpClientOptions, 'url'>;
  /** Delays between attempts while players wait and the origin cannot be played. Default: 1 s doubling to 30 s. */
  retry?: BackoffOptions;
}

/**
 * Where a pull is: `resolving` (asking the origin resolver), `connecting` (connect and play under way), `waiting`
 * (playing, nothing received yet: the origin has no publisher yet), `live` (the key is published here with what
 * the origin sends), `retrying` (waiting before the next attempt), `stopped` (over).
 */
export type PullState = 'resolving' | 'connecting' | 'waiting' | 'live' | 'retrying' | 'stopped';

/** A snapshot of one pull ({@link RelayPull.info}). */
export interface PullInfo {
  key: string;
  /** The origin with its stream name hidden; null before it was resolved. */
  origin: string | null;
  state: PullState;
  /** Since when it is in this state (ISO 8601). */
  since: string;
  attempts: number;
  failures: number;
  /** Audio, video and metadata messages received from the origin and relayed. */
  messagesReceived: number;
  bytesReceived: number;
  lastError: { code: string; message: string; at: string } | null;
}

/** Events of a {@link RelayPull}. */
export interface RelayPullEvents {
  state: [state: PullState];
  /** The first message arrived: the key is published here. */
  live: [];
  /**
   * A message relayed: audio, video or `onMetaData` (its `@setDataFrame` wrapper removed), as the relay got it. For
   * an application that looks into what it pulls (codecs, bitrate) without subscribing as a viewer.
   */
  media: [message: RtmpMessage];
  /** An attempt failed; `retryIn` ms until the next one, undefined when none follows. */
  failure: [error: Error, retryIn: number | undefined];
  /** Over: `reason` says why (`idle`, `origin ended`, `no origin`, `published here`, `stopped`, `replaced`...). */
  stop: [reason: string];
}

/** `"onMetaData"` as an AMF0 string: the only data message a relay keeps as a stream's metadata. */
const ON_METADATA = Uint8Array.of(0x02, 0x00, 0x0a, ...Array.from('onMetaData', (c) => c.charCodeAt(0)));

function isOnMetaData(payload: Uint8Array): boolean {
  if (payload.byteLength < ON_METADATA.byteLength) return false;
  for (let i = 0; i < ON_METADATA.byteLength; i++) if (payload[i] !== ON_METADATA[i]) return false;
  return true;
}

/**
 * One upstream: a relay key played from its origin with `@rtmp/client` and published into the relay as a
 * non-session publisher, so that every local subscriber (RTMP, HTTP-FLV, HLS...) is served by one upstream
 * connection. Made and driven by a {@link Puller}.
 *
 * The key is published here when the first message arrives (not at Play.Start: an origin such as nginx-rtmp
 * accepts a play before anyone publishes). When the origin's stream ends, or the upstream connection breaks after
 * that, the key is unpublished here (players get the end of stream, as with a local publisher) and the pull is over;
 * before that, failures are retried with backoff as long as `wanted()` says someone waits.
 */
export class RelayPull extends EventEmitter<RelayPullEvents> implements RelayPublisher {
  readonly key: string;
  #origin: string | null = null;
  #state: PullState = 'resolving';
  #since = new Date();
  #attempts = 0;
  #failures = 0;
  #messagesReceived = 0;
  #bytesReceived = 0;
  #lastError: PullInfo['lastError'] = null;
  #published = false;
  #client: RtmpClient | undefined;
  #abort: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #relay: LiveRelay;
  readonly #resolve: OriginResolver;
  readonly #wanted: () => boolean;
  readonly #options: PullOptions;
  readonly #backoff: Backoff;

  /** @internal Made by {@link Puller}. */
  constructor(
    relay: LiveRelay,
    key: string,
    resolve: OriginResolver,
    wanted: () => boolean,
    options: PullOptions,
  ) {
    super();
    this.key = key;
    this.#relay = relay;
    this.#resolve = resolve;
    this.#wanted = wanted;
    this.#options = options;
    this.#backoff = new Backoff(options.retry);
  }

  /** True once the pull is over (what the relay checks before replacing a publisher). */
  get closed(): boolean {
    return this.#state === 'stopped';
  }

  get state(): PullState {
    return this.#state;
  }

  /** A snapshot of its state and counters. */
  info(): PullInfo {
    return {
      key: this.key,
      origin: this.#origin === null ? null : redactStreamUrl(this.#origin),
      state: this.#state,
      since: this.#since.toISOString(),
      attempts: this.#attempts,
      failures: this.#failures,
      messagesReceived: this.#messagesReceived,
      bytesReceived: this.#bytesReceived,
      lastError: this.#lastError,
    };
  }

  /** The relay replaced this publisher (it was silent too long): the upstream goes. */
  close(error: RtmpError): void {
    this.#published = false;
    void this.stop(`replaced (${error.code})`);
  }

  /** @internal Starts the first attempt. */
  start(): void {
    void this.#attempt();
  }

  /**
   * Ends the pull: the upstream connection closes (gracefully), and the key is unpublished here if it was
   * published (its subscribers get the end of stream). Idempotent.
   */
  async stop(reason = 'stopped'): Promise<void> {
    if (this.#state === 'stopped') return;
    clearTimeout(this.#timer);
    this.#abort?.abort();
    const client = this.#client;
    this.#client = undefined;
    this.#setState('stopped');
    if (this.#published) {
      this.#published = false;
      this.#relay.unpublish(this.key, this);
    }
    this.emit('stop', reason);
    await client?.close({ timeout: 5_000 }).catch(() => client.destroy());
  }

  async #attempt(): Promise<void> {
    this.#attempts++;
    this.#setState('resolving');
    let origin: string | undefined;
    try {
      origin = await this.#resolve(this.key);
    } catch (error) {
      if (this.#state === 'stopped') return;
      this.#failed(
        new RestreamError('ERR_RESTREAM_ORIGIN_FAILED', `origin of ${this.key}: ${messageOf(error)}`, {
          cause: error,
        }),
      );
      return;
    }
    if (this.#state === 'stopped') return;
    if (origin === undefined) {
      await this.stop('no origin');
      return;
    }
    const problem = invalidStreamUrl(origin, 'origin');
    if (problem !== undefined) {
      this.#failed(problem);
      return;
    }
    this.#origin = origin;
    this.#connect(origin);
  }

  #connect(origin: string): void {
    this.#setState('connecting');
    const abort = new AbortController();
    this.#abort = abort;
    let client: RtmpClient;
    try {
      client = new RtmpClient({ ...this.#options.client, url: origin });
    } catch (error) {
      this.#failed(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.#client = client;
    client.on('close', (error) => {
      if (this.#client !== client) return;
      this.#broke(
        error ?? new RestreamError('ERR_RESTREAM_UPSTREAM_ENDED', 'the origin closed the connection'),
      );
    });
    client
      .connect({ signal: abort.signal })
      .then(() => client.play({ signal: abort.signal, demux: false }))
      .then(
        (player) => {
          if (this.#client !== client) return;
          this.#setState('waiting');
          player.on('message', (message) => this.#received(message));
          player.on('end', (end: PlayEnd) => this.#originEnded(end));
        },
        (error: unknown) => {
          client.destroy();
          if (this.#client !== client) return;
          this.#broke(error instanceof Error ? error : new Error(String(error)));
        },
      );
  }

  /** One message from the origin: audio, video and `onMetaData` are relayed; other data messages are not. */
  #received(message: RtmpMessage): void {
    let payload = message.payload;
    if (message.type === 18) {
      payload = stripSetDataFrame(payload);
      if (!isOnMetaData(payload)) return;
    } else if (message.type !== 8 && message.type !== 9) {
      return;
    }
    if (!this.#published) {
      if (!this.#relay.publish(this.key, this)) {
        void this.stop('published here');
        return;
      }
      this.#published = true;
      this.#backoff.reset();
      this.#setState('live');
      this.emit('live');
    }
    this.#messagesReceived++;
    this.#bytesReceived += payload.byteLength;
    const relayed: RtmpMessage = { type: message.type, streamId: 0, timestamp: message.timestamp, payload };
    this.#relay.push(this.key, this, relayed);
    this.emit('media', relayed);
  }

  /** Play.Stop, Play.UnpublishNotify or StreamEOF from the origin. */
  #originEnded(end: PlayEnd): void {
    if (this.#published) {
      void this.stop('origin ended');
      return;
    }
    // Nothing was relayed yet: the origin may still get a publisher; try again while someone waits.
    const client = this.#client;
    this.#client = undefined;
    void client?.close({ timeout: 5_000 }).catch(() => client.destroy());
    this.#failed(new RestreamError('ERR_RESTREAM_UPSTREAM_ENDED', `the origin ended the play: ${end.code}`));
  }

  /** The upstream connection failed or closed. */
  #broke(error: Error): void {
    this.#client = undefined;
    if (this.#published) {
      this.#lastError = { code: codeOf(error), message: messageOf(error), at: new Date().toISOString() };
      this.#failures++;
      void this.stop('upstream failed');
      return;
    }
    this.#failed(error);
  }

  /** An attempt that relayed nothing failed: retry after a delay while someone waits for the key. */
  #failed(error: Error): void {
    if (this.#state === 'stopped') return;
    this.#failures++;
    this.#lastError = { code: codeOf(error), message: messageOf(error), at: new Date().toISOString() };
    if (!this.#wanted()) {
      this.emit('failure', error, undefined);
      void this.stop('no subscriber left');
      return;
    }
    const delay = this.#backoff.next();
    this.#setState('retrying');
    this.emit('failure', error, delay);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#state === 'retrying') void this.#attempt();
    }, delay);
    this.#timer.unref();
  }

  #setState(state: PullState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#since = new Date();
    this.emit('state', state);
  }
}
