import { EventEmitter } from 'node:events';
import { RtmpClient, type RtmpClientOptions } from '@rtmp/client';
import type { LiveRelay, RelaySubscriber } from '@rtmp/server';
import { Backoff, type BackoffOptions } from './backoff.js';
import { codeOf, messageOf, RestreamError } from './errors.js';
import { PushAttempt } from './push-attempt.js';
import { redactStreamUrl } from './urls.js';

/**
 * Where a push is: `idle` (its stream is not live), `connecting` (connect and publish under way; the stream is
 * buffered meanwhile), `live` (publishing at the target), `retrying` (waiting before the next attempt after a
 * failure), `stopped` (removed for good).
 */
export type PushState = 'idle' | 'connecting' | 'live' | 'retrying' | 'stopped';

/** Options of every push of a {@link Restreamer}. */
export interface PushOptions {
  /**
   * Options of the `RtmpClient` of each connection (TLS `ca` for an `rtmps://` target with a private certificate,
   * `timeout`, `chunkSize`...); the URL is the target's.
   */
  client?: Omit<RtmpClientOptions, 'url'>;
  /** Reconnect delays after a failure. Default: from 1 s, doubling, at most 30 s, half of each delay random. */
  retry?: BackoffOptions;
  /**
   * Bytes a push may hold (buffered while it connects, plus unsent in its socket) before the relay's slow-consumer
   * policy applies: media is skipped until a keyframe finds it under the limit again (counted as drops), and a
   * target still over it at that keyframe is disconnected (`ERR_RTMP_SLOW_CONSUMER`) and reconnected. Default: the
   * relay's `maxPlayerQueue` (4 MiB).
   */
  maxQueuedBytes?: number;
  /** A connection that stayed up this long (ms) starts its reconnect delays over from `initialDelay`. Default 10 000. */
  stableAfter?: number;
}

/** The last failure of a push. */
export interface PushFailure {
  /** Stable code: the client's `ERR_RTMP_*` (`ERR_RTMP_SOCKET`, `ERR_RTMP_PUBLISH_REJECTED`...) or `ERR_RTMP_SLOW_CONSUMER`. */
  code: string;
  message: string;
  /** When it happened (ISO 8601). */
  at: string;
}

/** A snapshot of one push, for APIs and metrics ({@link RelayPush.info}). */
export interface PushInfo {
  /** Its id in its {@link Restreamer}. */
  id: string;
  /** The relay key it pushes. */
  key: string;
  /** The target with its stream name and query hidden (they hold the account's stream key). */
  target: string;
  state: PushState;
  /** Since when it is in this state (ISO 8601). */
  since: string;
  /** Connection attempts made. */
  attempts: number;
  /** Attempts that reached `live`. */
  connects: number;
  /** Failed attempts and broken connections. */
  failures: number;
  /** Media and data messages written to the target. */
  messagesSent: number;
  /** Payload bytes of those messages. */
  bytesSent: number;
  /** Audio/video messages skipped because the target fell behind (the relay's count for this push). */
  droppedMessages: number;
  droppedBytes: number;
  lastError: PushFailure | null;
  /** While `retrying`: when the next attempt starts (ISO 8601). */
  nextAttemptAt: string | null;
}

/** Events of a {@link RelayPush}. */
export interface RelayPushEvents {
  /** The state changed. */
  state: [state: PushState];
  /** Publishing at the target: the relay's metadata, track configurations and GOP went first. */
  connect: [];
  /**
   * An attempt failed or a live connection broke (refused, rejected publish, network error, too slow).
   * `retryIn` is the delay before the next attempt (ms), undefined when none follows (the stream ended meanwhile).
   */
  failure: [error: Error, retryIn: number | undefined];
  /** The relay skipped media for this push because the target fell behind (once per episode). */
  drop: [messages: number, bytes: number];
}

/** Routes the relay's drop events to the push that owns the subscriber (see `Restreamer`). */
const dropSinks = new WeakMap<RelaySubscriber, (messages: number, bytes: number) => void>();

/** Counts a relay `subscriberDrop` for the push behind `subscriber`; false when it is not a push's. */
export function routeDrop(subscriber: RelaySubscriber, messages: number, bytes: number): boolean {
  const sink = dropSinks.get(subscriber);
  sink?.(messages, bytes);
  return sink !== undefined;
}

let nextPushId = 1;

/**
 * One push: the stream of a relay key sent on to one RTMP/RTMPS URL with `@rtmp/client`, as a relay subscriber
 * (protocol `'push'`) with a bounded queue. Made and driven by a {@link Restreamer}: it connects when the key goes
 * live, reconnects with exponential backoff and jitter while the key stays live (each new connection gets the
 * metadata, the sequence headers and the GOP first), and goes idle when the key ends. A slow or dead target never
 * slows the publisher, the players or other pushes: the relay skips media for it until a keyframe (counted in
 * {@link PushInfo.droppedMessages}) and disconnects it if it is still behind then; it is then reconnected.
 */
export class RelayPush extends EventEmitter<RelayPushEvents> {
  /** Its id in its {@link Restreamer}. */
  readonly id: string;
  /** The relay key it pushes. */
  readonly key: string;
  /** The full target URL (stream key included: show {@link RelayPush.target} instead). */
  readonly url: string;
  /** The target with its stream name hidden, for logs and APIs. */
  readonly target: string;
  #state: PushState = 'idle';
  #since = new Date();
  #attempts = 0;
  #connects = 0;
  #failures = 0;
  #messagesSent = 0;
  #bytesSent = 0;
  #droppedMessages = 0;
  #droppedBytes = 0;
  #lastError: PushFailure | null = null;
  #nextAttemptAt: Date | null = null;
  #liveSince = 0;
  #active = false;
  #attempt: PushAttempt | undefined;
  /** Attempts whose stream ended while they connected, delivering what they hold (see {@link PushAttempt.drain}). */
  readonly #draining = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  readonly #relay: LiveRelay;
  readonly #options: PushOptions;
  readonly #backoff: Backoff;
  readonly #stableAfter: number;

  /** @internal Made by {@link Restreamer.push} and its rules. */
  constructor(relay: LiveRelay, key: string, url: string, options: PushOptions) {
    super();
    this.id = String(nextPushId++);
    this.key = key;
    this.url = url;
    this.target = redactStreamUrl(url);
    this.#relay = relay;
    this.#options = options;
    this.#backoff = new Backoff(options.retry);
    this.#stableAfter = options.stableAfter ?? 10_000;
  }

  /** Where it is now. */
  get state(): PushState {
    return this.#state;
  }

  /** A snapshot of its state and counters. */
  info(): PushInfo {
    return {
      id: this.id,
      key: this.key,
      target: this.target,
      state: this.#state,
      since: this.#since.toISOString(),
      attempts: this.#attempts,
      connects: this.#connects,
      failures: this.#failures,
      messagesSent: this.#messagesSent,
      bytesSent: this.#bytesSent,
      droppedMessages: this.#droppedMessages,
      droppedBytes: this.#droppedBytes,
      lastError: this.#lastError,
      nextAttemptAt: this.#nextAttemptAt?.toISOString() ?? null,
    };
  }

  /** @internal The key is live: connect (nothing when already following it). */
  start(): void {
    if (this.#active || this.#state === 'stopped') return;
    this.#active = true;
    this.#backoff.reset();
    this.#connect();
  }

  /** @internal The key is no longer live: end the connection gracefully and wait for the next publish. */
  stop(): Promise<void> {
    this.#active = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#nextAttemptAt = null;
    const attempt = this.#attempt;
    this.#attempt = undefined;
    if (attempt !== undefined) this.#relay.unsubscribe(this.key, attempt);
    if (this.#state !== 'stopped') this.#setState('idle');
    return attempt?.finish(true) ?? Promise.resolve();
  }

  /** @internal Removed from its restreamer: stops for good (an attempt still draining may finish, within the client's step timeouts). */
  async close(): Promise<void> {
    const done = this.stop();
    this.#setState('stopped');
    await Promise.all([done, ...this.#draining]);
  }

  #connect(): void {
    // A retry timer may fire after the stream ended and before the restreamer heard of it: subscribing to a key that
    // is not live would wait for its next publisher (and raise the relay's `demand`, starting pulls).
    if (!this.#relay.isLive(this.key)) {
      this.#active = false;
      this.#setState('idle');
      return;
    }
    const attempt = new PushAttempt(
      (bytes) => {
        this.#messagesSent++;
        this.#bytesSent += bytes;
      },
      (ended) => this.#sourceEnded(ended),
      (failed, error) => this.#failed(failed, error),
    );
    dropSinks.set(attempt, (messages, bytes) => {
      this.#droppedMessages += messages;
      this.#droppedBytes += bytes;
      this.emit('drop', messages, bytes);
    });
    this.#attempt = attempt;
    this.#attempts++;
    this.#nextAttemptAt = null;
    this.#setState('connecting');
    let client: RtmpClient;
    try {
      client = new RtmpClient({ ...this.#options.client, url: this.url });
      // Subscribed before connecting, so that nothing published meanwhile is missed (held until Publish.Start).
      const maxQueuedBytes = this.#options.maxQueuedBytes;
      this.#relay.subscribe(this.key, attempt, maxQueuedBytes === undefined ? {} : { maxQueuedBytes });
    } catch (error) {
      this.#failed(attempt, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    client.on('close', (error) => {
      this.#failed(
        attempt,
        error ?? new RestreamError('ERR_RESTREAM_UPSTREAM_ENDED', 'the target closed the connection'),
      );
    });
    const signal = attempt.abort.signal;
    client
      .connect({ signal })
      .then(() => client.publish({ signal }))
      .then(
        (publisher) => {
          const connection = client.connection;
          if (attempt.draining && connection !== undefined) {
            attempt.go({ client, publisher, connection });
            this.#connects++;
            this.emit('connect');
            void attempt.finish(true);
            return;
          }
          if (this.#attempt !== attempt || connection === undefined) {
            client.destroy();
            return;
          }
          attempt.go({ client, publisher, connection });
          this.#connects++;
          this.#liveSince = Date.now();
          this.#setState('live');
          this.emit('connect');
        },
        (error: unknown) => {
          client.destroy();
          attempt.abort.abort();
          this.#failed(attempt, error instanceof Error ? error : new Error(String(error)));
        },
      );
    // Until `go`, the client is only reachable through the abort signal: an attempt abandoned while connecting is
    // destroyed by its rejection path above.
    attempt.abort.signal.addEventListener('abort', () => {
      if (attempt.output === undefined) client.destroy();
    });
  }

  /**
   * The relay ended the stream (its publisher left): the connection ends gracefully once what it holds is written
   * (an attempt still connecting delivers it first), and the push waits for the next publish.
   */
  #sourceEnded(attempt: PushAttempt): void {
    if (this.#attempt !== attempt) return;
    this.#attempt = undefined;
    void this.stop();
    const drained = attempt.drain();
    this.#draining.add(drained);
    void drained.finally(() => this.#draining.delete(drained));
  }

  #failed(attempt: PushAttempt, error: Error): void {
    if (this.#attempt !== attempt) return;
    this.#attempt = undefined;
    this.#relay.unsubscribe(this.key, attempt);
    void attempt.finish(false);
    this.#failures++;
    this.#lastError = { code: codeOf(error), message: messageOf(error), at: new Date().toISOString() };
    if (this.#liveSince !== 0 && Date.now() - this.#liveSince >= this.#stableAfter) this.#backoff.reset();
    this.#liveSince = 0;
    if (!this.#active) {
      if (this.#state !== 'stopped') this.#setState('idle');
      this.emit('failure', error, undefined);
      return;
    }
    const delay = this.#backoff.next();
    this.#nextAttemptAt = new Date(Date.now() + delay);
    this.#setState('retrying');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#active) this.#connect();
    }, delay);
    this.#timer.unref();
    this.emit('failure', error, delay);
  }

  #setState(state: PushState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#since = new Date();
    this.emit('state', state);
  }
}
