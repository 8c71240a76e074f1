import { EventEmitter } from 'node:events';
import type { LiveRelay, RelaySubscriber } from '@rtmp/server';
import { Backoff } from './backoff.js';
import { RestreamError } from './errors.js';
import { type PushOptions, type PushState, RelayPush, routeDrop } from './push.js';
import { checkStreamUrl, invalidStreamUrl, redactStreamUrl } from './urls.js';

/**
 * Where a live key is pushed: one target URL, several, or none (undefined). Called once each time a key goes live
 * (never per message). `appendStreamName` builds nginx-rtmp's `<url>/<name>`.
 */
export type PushRule = (key: string) => string | readonly string[] | undefined;

/** Options of a {@link Restreamer}: those of every push it makes. */
export interface RestreamerOptions extends PushOptions {}

/** Events of a {@link Restreamer}: those of its pushes, with the push. */
export interface RestreamerEvents {
  /** A push was added (by {@link Restreamer.push}, or by a rule when its key went live). */
  add: [push: RelayPush];
  /** A push was removed ({@link Restreamer.remove}, or a rule's push whose key ended). */
  remove: [push: RelayPush];
  state: [push: RelayPush, state: PushState];
  connect: [push: RelayPush];
  /** An attempt failed or a connection broke; `retryIn` ms until the next attempt, undefined when none follows. */
  failure: [push: RelayPush, error: Error, retryIn: number | undefined];
  drop: [push: RelayPush, messages: number, bytes: number];
  /** A rule named something that is not a complete rtmp(s) URL for `key` (`ERR_RESTREAM_INVALID_OPTION`). */
  invalidTarget: [key: string, target: string, error: RestreamError];
}

/** A push and how it was made: rules' pushes go when their key ends, explicit ones stay until removed. */
interface Entry {
  readonly push: RelayPush;
  explicit: boolean;
}

/**
 * Pushes the streams of a {@link LiveRelay} on to other RTMP/RTMPS servers (nginx-rtmp's `push`): every key a rule
 * names a target for, from the moment it goes live, and the explicit pairs of {@link Restreamer.push} (a YouTube or
 * Twitch URL with its own key) whenever their key is live. Each push is a {@link RelayPush}: its own client, its own
 * bounded relay subscription, its own reconnects; a slow or dead target never slows the publisher, the players or
 * the other targets.
 *
 * @example
 * ```ts
 * const restreamer = new Restreamer(relay);
 * restreamer.addRule((key) => appendStreamName('rtmp://backup.example/live', key.split('/')[1]!));
 * restreamer.push('live/cam1', 'rtmps://live-api-s.facebook.com:443/rtmp/FB-KEY');
 * ```
 */
export class Restreamer extends EventEmitter<RestreamerEvents> {
  readonly #relay: LiveRelay;
  readonly #options: RestreamerOptions;
  readonly #rules = new Set<PushRule>();
  /** Pushes by key, then by target URL. */
  readonly #byKey = new Map<string, Map<string, Entry>>();
  readonly #byId = new Map<string, Entry>();
  #closed = false;
  readonly #onPublish = (key: string) => this.#live(key);
  readonly #onUnpublish = (key: string) => {
    // A publisher replaced by another (stale or closed) unpublishes and the new one publishes right after, in
    // the same turn: only a key still not live once that turn is over has ended.
    setImmediate(() => {
      if (!this.#closed && !this.#relay.isLive(key)) this.#ended(key);
    });
  };
  readonly #onDrop = (_key: string, subscriber: RelaySubscriber, messages: number, bytes: number) => {
    routeDrop(subscriber, messages, bytes);
  };

  /** @throws {@link RestreamError} `ERR_RESTREAM_INVALID_OPTION` for invalid retry delays */
  constructor(relay: LiveRelay, options: RestreamerOptions = {}) {
    super();
    this.#relay = relay;
    this.#options = options;
    // Fail at construction rather than at the first publish.
    new Backoff(options.retry);
    relay.on('publish', this.#onPublish);
    relay.on('unpublish', this.#onUnpublish);
    relay.on('subscriberDrop', this.#onDrop);
  }

  /**
   * Adds a rule: every key that goes live from now on is pushed where it says (and keys live now, at once).
   * Returns a function that removes the rule (its pushes stay until their key ends).
   */
  addRule(rule: PushRule): () => void {
    this.#open();
    if (typeof rule !== 'function') {
      throw new RestreamError('ERR_RESTREAM_INVALID_OPTION', 'a push rule is a function of the key');
    }
    this.#rules.add(rule);
    for (const key of this.#relay.liveKeys()) this.#live(key);
    return () => {
      this.#rules.delete(rule);
    };
  }

  /**
   * Pushes `key` to `url` (a complete `rtmp[s]://host[:port]/app/name[?query]` URL) whenever `key` is live, until
   * {@link Restreamer.remove}. The same pair twice is one push (returned again).
   * @throws {@link RestreamError} `ERR_RESTREAM_INVALID_OPTION` for a URL that is not a complete rtmp(s) URL,
   *   `ERR_RESTREAM_CLOSED` after {@link Restreamer.close}
   */
  push(key: string, url: string): RelayPush {
    this.#open();
    const entry = this.#entry(key, checkStreamUrl(url));
    entry.explicit = true;
    if (this.#relay.isLive(key)) entry.push.start();
    return entry.push;
  }

  /** Stops and removes a push (by id or object); false when it is not one of this restreamer's. */
  remove(push: string | RelayPush): boolean {
    const entry = this.#byId.get(typeof push === 'string' ? push : push.id);
    if (entry === undefined || (typeof push !== 'string' && entry.push !== push)) return false;
    this.#drop(entry);
    return true;
  }

  /** A push by id. */
  get(id: string): RelayPush | undefined {
    return this.#byId.get(id)?.push;
  }

  /** Every push, or those of one key. */
  pushes(key?: string): RelayPush[] {
    if (key !== undefined) return [...(this.#byKey.get(key)?.values() ?? [])].map((e) => e.push);
    return [...this.#byId.values()].map((e) => e.push);
  }

  /** Stops every push (ending their connections gracefully) and stops following the relay. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#relay.off('publish', this.#onPublish);
    this.#relay.off('unpublish', this.#onUnpublish);
    this.#relay.off('subscriberDrop', this.#onDrop);
    const closing = [...this.#byId.values()].map((entry) => this.#drop(entry));
    await Promise.all(closing);
  }

  #open(): void {
    if (this.#closed) throw new RestreamError('ERR_RESTREAM_CLOSED', 'the restreamer is closed');
  }

  /** `key` went live: the rules' targets are made, and every push of the key connects. */
  #live(key: string): void {
    for (const rule of this.#rules) {
      const targets = rule(key);
      if (targets === undefined) continue;
      for (const url of typeof targets === 'string' ? [targets] : targets) {
        // A rule that names a bad URL is the rule's bug: reported, the others go on.
        const problem = invalidStreamUrl(url);
        if (problem === undefined) this.#entry(key, url);
        else this.emit('invalidTarget', key, redactStreamUrl(url), problem);
      }
    }
    for (const entry of this.#byKey.get(key)?.values() ?? []) entry.push.start();
  }

  /** `key` ended: rules' pushes go, explicit ones wait for its next publish. */
  #ended(key: string): void {
    for (const entry of [...(this.#byKey.get(key)?.values() ?? [])]) {
      if (entry.explicit) void entry.push.stop();
      else void this.#drop(entry);
    }
  }

  #entry(key: string, url: string): Entry {
    let targets = this.#byKey.get(key);
    const existing = targets?.get(url);
    if (existing !== undefined) return existing;
    const push = new RelayPush(this.#relay, key, url, this.#options);
    push.on('state', (state) => this.emit('state', push, state));
    push.on('connect', () => this.emit('connect', push));
    push.on('failure', (error, retryIn) => this.emit('failure', push, error, retryIn));
    push.on('drop', (messages, bytes) => this.emit('drop', push, messages, bytes));
    const entry: Entry = { push, explicit: false };
    if (targets === undefined) this.#byKey.set(key, (targets = new Map()));
    targets.set(url, entry);
    this.#byId.set(push.id, entry);
    this.emit('add', push);
    return entry;
  }

  #drop(entry: Entry): Promise<void> {
    const { push } = entry;
    this.#byId.delete(push.id);
    const targets = this.#byKey.get(push.key);
    targets?.delete(push.url);
    if (targets?.size === 0) this.#byKey.delete(push.key);
    const closing = push.close();
    this.emit('remove', push);
    return closing;
  }
}
