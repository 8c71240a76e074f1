import { EventEmitter } from 'node:events';
import type { RtmpMessage } from '@rtmp/chunk';
import type { LiveRelay, RelayPublisher } from '@rtmp/server';
import { Backoff } from './backoff.js';
import { RestreamError } from './errors.js';
import { type OriginResolver, type PullOptions, type PullState, RelayPull } from './pull.js';

/** Options of a {@link Puller}. */
export interface PullerOptions extends PullOptions {
  /**
   * Where each key is played from (see {@link OriginResolver}); undefined for a key that is not pulled. A cluster
   * passes its registry lookup here; `appendStreamName` gives nginx-rtmp's `pull rtmp://origin/app` behaviour.
   */
  origin: OriginResolver;
  /**
   * How long (ms) a pulled key may have no subscriber before its upstream is closed: a player that reconnects, or
   * the next one, finds it still running. Default 10 000; 0 closes it at once.
   */
  idleTimeout?: number;
}

/** Events of a {@link Puller}: those of its pulls, with the pull. */
export interface PullerEvents {
  /** A pull started for a key (on demand, or {@link Puller.pull}). */
  start: [pull: RelayPull];
  state: [pull: RelayPull, state: PullState];
  /** The origin's first message arrived: the key is published here. */
  live: [pull: RelayPull];
  /** A message a pull relayed (audio, video, `onMetaData`): see {@link RelayPullEvents.media}. */
  media: [pull: RelayPull, message: RtmpMessage];
  failure: [pull: RelayPull, error: Error, retryIn: number | undefined];
  /** A pull is over (`reason`: `idle`, `origin ended`, `no origin`, `published here`, `upstream failed`...). */
  stop: [pull: RelayPull, reason: string];
}

/**
 * Pulls streams into a {@link LiveRelay} on demand (nginx-rtmp's `pull`, and the edge side of a cluster): when a key
 * that is not live here gets its first subscriber (an RTMP player, an HTTP-FLV viewer, an HLS muxer: the relay's
 * `demand` event), it is played from the origin the resolver names and published into the relay as a non-session
 * publisher, once per key however many subscribers come. `idleTimeout` ms after the last subscriber left (the
 * relay's `idle` event) the upstream is closed.
 *
 * @example
 * ```ts
 * const puller = new Puller(relay, { origin: (key) => `rtmp://origin.example/${key}` });
 * ```
 */
export class Puller extends EventEmitter<PullerEvents> {
  readonly #relay: LiveRelay;
  readonly #options: PullerOptions;
  readonly #idleTimeout: number;
  readonly #pulls = new Map<string, RelayPull>();
  readonly #idleTimers = new Map<string, NodeJS.Timeout>();
  #closed = false;
  readonly #onDemand = (key: string) => {
    this.pull(key);
  };
  readonly #onIdle = (key: string) => this.#idle(key);
  readonly #onSubscribe = (key: string) => this.#busy(key);
  readonly #onPublish = (key: string, publisher: RelayPublisher) => {
    // Someone else publishes the key here (a local publisher took it first): its pull is not needed.
    const pull = this.#pulls.get(key);
    if (pull !== undefined && publisher !== pull) void pull.stop('published here');
  };

  /** @throws {@link RestreamError} `ERR_RESTREAM_INVALID_OPTION` for a missing resolver, a bad idle timeout or retry delays */
  constructor(relay: LiveRelay, options: PullerOptions) {
    super();
    if (typeof options?.origin !== 'function') {
      throw new RestreamError('ERR_RESTREAM_INVALID_OPTION', 'a puller needs an origin resolver function');
    }
    const idle = options.idleTimeout ?? 10_000;
    if (typeof idle !== 'number' || !Number.isFinite(idle) || idle < 0) {
      throw new RestreamError(
        'ERR_RESTREAM_INVALID_OPTION',
        'idleTimeout must be a non-negative number of ms',
      );
    }
    new Backoff(options.retry);
    this.#relay = relay;
    this.#options = options;
    this.#idleTimeout = idle;
    relay.on('demand', this.#onDemand);
    relay.on('idle', this.#onIdle);
    relay.on('subscribe', this.#onSubscribe);
    relay.on('publish', this.#onPublish);
  }

  /**
   * Pulls `key` now, whether or not someone waits (a cluster that learnt where a key is published); the running pull
   * when there is one. Without subscribers it closes after `idleTimeout` like any pull.
   * @throws {@link RestreamError} `ERR_RESTREAM_CLOSED` after {@link Puller.close}
   */
  pull(key: string): RelayPull {
    if (this.#closed) throw new RestreamError('ERR_RESTREAM_CLOSED', 'the puller is closed');
    const running = this.#pulls.get(key);
    if (running !== undefined) return running;
    const pull = new RelayPull(
      this.#relay,
      key,
      this.#options.origin,
      () => this.#wanted(key),
      this.#options,
    );
    this.#pulls.set(key, pull);
    pull.on('state', (state) => this.emit('state', pull, state));
    pull.on('live', () => this.emit('live', pull));
    pull.on('media', (message) => {
      if (this.listenerCount('media') > 0) this.emit('media', pull, message);
    });
    pull.on('failure', (error, retryIn) => this.emit('failure', pull, error, retryIn));
    pull.once('stop', (reason) => {
      if (this.#pulls.get(key) === pull) this.#pulls.delete(key);
      this.#clearIdle(key);
      this.emit('stop', pull, reason);
    });
    this.emit('start', pull);
    pull.start();
    if (!this.#wanted(key)) this.#idle(key);
    return pull;
  }

  /** Stops the pull of `key`, if any (its local subscribers get the end of stream). */
  async stop(key: string): Promise<void> {
    await this.#pulls.get(key)?.stop('stopped');
  }

  /** The running pull of `key`. */
  get(key: string): RelayPull | undefined {
    return this.#pulls.get(key);
  }

  /** Every running pull. */
  pulls(): RelayPull[] {
    return [...this.#pulls.values()];
  }

  /** Stops every pull and stops following the relay. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#relay.off('demand', this.#onDemand);
    this.#relay.off('idle', this.#onIdle);
    this.#relay.off('subscribe', this.#onSubscribe);
    this.#relay.off('publish', this.#onPublish);
    for (const key of [...this.#idleTimers.keys()]) this.#clearIdle(key);
    await Promise.all(this.pulls().map((pull) => pull.stop('closed')));
  }

  /** Whether anyone is subscribed to `key`. */
  #wanted(key: string): boolean {
    return (this.#relay.stats(key)?.players ?? 0) > 0;
  }

  #idle(key: string): void {
    const pull = this.#pulls.get(key);
    if (pull === undefined || this.#idleTimers.has(key)) return;
    const timer = setTimeout(() => {
      this.#idleTimers.delete(key);
      if (!this.#wanted(key)) void pull.stop('idle');
    }, this.#idleTimeout);
    timer.unref();
    this.#idleTimers.set(key, timer);
  }

  #busy(key: string): void {
    this.#clearIdle(key);
  }

  #clearIdle(key: string): void {
    const timer = this.#idleTimers.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#idleTimers.delete(key);
  }
}
