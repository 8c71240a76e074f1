import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Backoff, type BackoffOptions } from './backoff.js';
import { messageOf, RestreamError } from './errors.js';

/** A JSON value (what a webhook body may carry). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What to notify: the event's name and its stream and client, plus any extra fields. */
export interface WebhookNotice {
  /** `connect`, `disconnect`, `publish`, `publish_done`, `play`, `play_done`, `record_done`, `push_failed`... */
  event: string;
  app?: string | null;
  /** The stream key, without its query. */
  key?: string | null;
  /** The query string of the stream name, without `?` (signatures and tokens included, as the client sent it). */
  query?: string | null;
  /** The client's IP address. */
  clientAddress?: string | null;
  /** `rtmp`, `rtmps`, `http-flv`... */
  protocol?: string | null;
  /** More fields of the body, e.g. `{ sessionId: 7, bytesIn: 1234 }` (they cannot replace the fields above). */
  data?: Readonly<Record<string, JsonValue>>;
  /**
   * Events with the same order key are delivered to each URL one at a time, in the order they were sent (a
   * failing one is retried before the next goes). Default: `<app>/<key>`, so each stream's events arrive in order;
   * events without a key share one queue. Pass e.g. `session:<id>` for a connection's own events.
   */
  orderKey?: string;
}

/** The JSON body POSTed for each event. */
export interface WebhookEvent {
  /** Unique per event (a UUID): the same on every retry and every URL, so receivers can deduplicate. */
  id: string;
  event: string;
  /** When it happened (ISO 8601). */
  timestamp: string;
  app: string | null;
  key: string | null;
  query: string | null;
  clientAddress: string | null;
  protocol: string | null;
  [field: string]: JsonValue;
}

/** Options of {@link Webhooks}. */
export interface WebhookOptions {
  /** The http(s) URLs that get every event. */
  urls: readonly string[];
  /** Signs each body with HMAC-SHA256: header `X-Rtmp-Signature: sha256=<hex>` (see {@link signWebhookBody}). */
  secret?: string;
  /** Events waiting per URL (all streams together); beyond it new events are dropped and counted. Default 10 000. */
  maxQueued?: number;
  /** Milliseconds allowed for one request. Default 5 000. */
  timeout?: number;
  /** Attempts per event before it is given up (counted as failed). Default 8. */
  maxAttempts?: number;
  /** Delays between attempts. Default: from 1 s, doubling, at most 60 s, half random. */
  retry?: BackoffOptions;
  /** Requests in flight per URL at most (each stream's queue sends one at a time). Default 8. */
  concurrency?: number;
  /** Injectable `fetch` (tests, proxies). Default the global one. */
  fetch?: typeof fetch;
}

/** Counters of a {@link Webhooks} since it was made, all URLs together. */
export interface WebhookStats {
  /** Events waiting (queued or being sent), summed over URLs. */
  queued: number;
  /** Deliveries answered 2xx. */
  delivered: number;
  /** Events given up after `maxAttempts`, or abandoned at close. */
  failed: number;
  /** Events not queued because the URL's queue was full. */
  dropped: number;
  /** Attempts that failed and were tried again. */
  retries: number;
}

/** Events of {@link Webhooks}. */
export interface WebhookEvents {
  delivered: [event: WebhookEvent, url: string, attempts: number];
  /** An attempt failed; another follows in `retryIn` ms. */
  retry: [event: WebhookEvent, url: string, error: RestreamError, retryIn: number];
  /** An event was given up for `url` after its last attempt (or at close). */
  failed: [event: WebhookEvent, url: string, error: RestreamError];
  /** An event was not queued for `url`: its queue was full. */
  dropped: [event: WebhookEvent, url: string];
}

/** The header that carries the signature. */
export const WEBHOOK_SIGNATURE_HEADER = 'x-rtmp-signature';

/** `sha256=<hex>` of the HMAC-SHA256 of `body` with `secret`: the value of {@link WEBHOOK_SIGNATURE_HEADER}. */
export function signWebhookBody(body: string | Uint8Array, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * For receivers: whether `header` (the {@link WEBHOOK_SIGNATURE_HEADER} value) is the signature of the raw `body`
 * with `secret`, compared in constant time.
 */
export function verifyWebhookSignature(
  body: string | Uint8Array,
  header: string | undefined,
  secret: string,
): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(signWebhookBody(body, secret));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** One event waiting for one URL. */
interface Pending {
  readonly event: WebhookEvent;
  readonly body: string;
  attempts: number;
}

/** The events of one order key for one URL, sent one at a time. */
interface OrderQueue {
  readonly orderKey: string;
  readonly items: Pending[];
  running: boolean;
  timer: NodeJS.Timeout | undefined;
  backoff: Backoff;
}

/** Everything waiting for one URL. */
interface Target {
  readonly url: string;
  readonly queues: Map<string, OrderQueue>;
  queued: number;
  inFlight: number;
  /** Queues waiting for a free request slot, in order. */
  readonly waiting: OrderQueue[];
}

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new RestreamError('ERR_RESTREAM_INVALID_OPTION', `${name} must be an integer >= ${min}`);
  }
  return value;
}

/**
 * Webhook delivery (nginx-rtmp's `on_publish`/`on_play`/`on_done`, SRS's HTTP hooks, as notifications): each
 * {@link Webhooks.send} makes one JSON event with a unique id and a timestamp, POSTed to every URL, signed with
 * HMAC-SHA256 when a secret is set, retried with exponential backoff and jitter, delivered in order per stream.
 * `send` only queues (bounded, drops counted): it never blocks or slows media.
 *
 * @example
 * ```ts
 * const hooks = new Webhooks({ urls: ['https://hooks.example/rtmp'], secret: 's3cret' });
 * hooks.send({ event: 'publish', app: 'live', key: 'cam1', query: '', clientAddress: '203.0.113.9', protocol: 'rtmp' });
 * ```
 */
export class Webhooks extends EventEmitter<WebhookEvents> {
  readonly #targets: Target[];
  readonly #secret: string | undefined;
  readonly #maxQueued: number;
  readonly #timeout: number;
  readonly #maxAttempts: number;
  readonly #retry: BackoffOptions;
  readonly #concurrency: number;
  readonly #fetch: typeof fetch;
  readonly #stats = { delivered: 0, failed: 0, dropped: 0, retries: 0 };
  /** Resolves the wait of {@link Webhooks.close} once nothing is queued. */
  #drained: (() => void) | undefined;
  #closed = false;

  /** @throws {@link RestreamError} `ERR_RESTREAM_INVALID_OPTION` for a URL that is not http(s), or bad limits */
  constructor(options: WebhookOptions) {
    super();
    const urls = options?.urls;
    if (!Array.isArray(urls)) throw new RestreamError('ERR_RESTREAM_INVALID_OPTION', 'urls must be a list');
    for (const url of urls) {
      let ok = false;
      try {
        const protocol = new URL(url).protocol;
        ok = protocol === 'http:' || protocol === 'https:';
      } catch {
        // Reported below.
      }
      if (!ok) throw new RestreamError('ERR_RESTREAM_INVALID_OPTION', `webhook URL ${url} is not http(s)`);
    }
    this.#targets = [...new Set(urls)].map((url) => ({
      url,
      queues: new Map(),
      queued: 0,
      inFlight: 0,
      waiting: [],
    }));
    if (options.secret !== undefined && (typeof options.secret !== 'string' || options.secret === '')) {
      throw new RestreamError('ERR_RESTREAM_INVALID_OPTION', 'the webhook secret must be a non-empty string');
    }
    this.#secret = options.secret;
    this.#maxQueued = checkCount('maxQueued', options.maxQueued ?? 10_000, 1);
    this.#timeout = checkCount('timeout', options.timeout ?? 5_000, 1);
    this.#maxAttempts = checkCount('maxAttempts', options.maxAttempts ?? 8, 1);
    this.#concurrency = checkCount('concurrency', options.concurrency ?? 8, 1);
    this.#retry = { initialDelay: 1_000, maxDelay: 60_000, ...options.retry };
    new Backoff(this.#retry);
    this.#fetch = options.fetch ?? fetch;
  }

  /**
   * Queues `notice` for every URL and returns the event as it will be POSTed (undefined once closed). Synchronous
   * and bounded: a full queue drops the event for that URL (counted, `dropped` event).
   */
  send(notice: WebhookNotice): WebhookEvent | undefined {
    if (this.#closed) return undefined;
    const event: WebhookEvent = {
      ...notice.data,
      id: randomUUID(),
      event: notice.event,
      timestamp: new Date().toISOString(),
      app: notice.app ?? null,
      key: notice.key ?? null,
      query: notice.query ?? null,
      clientAddress: notice.clientAddress ?? null,
      protocol: notice.protocol ?? null,
    };
    const body = JSON.stringify(event);
    const orderKey = notice.orderKey ?? (event.key === null ? '' : `${event.app ?? ''}/${event.key}`);
    for (const target of this.#targets) {
      if (target.queued >= this.#maxQueued) {
        this.#stats.dropped++;
        this.emit('dropped', event, target.url);
        continue;
      }
      let queue = target.queues.get(orderKey);
      if (queue === undefined) {
        queue = { orderKey, items: [], running: false, timer: undefined, backoff: new Backoff(this.#retry) };
        target.queues.set(orderKey, queue);
      }
      queue.items.push({ event, body, attempts: 0 });
      target.queued++;
      this.#schedule(target, queue);
    }
    return event;
  }

  /** The counters, all URLs together. */
  stats(): WebhookStats {
    let queued = 0;
    for (const target of this.#targets) queued += target.queued;
    return { queued, ...this.#stats };
  }

  /**
   * Stops taking events and waits until every queued one is delivered or given up, at most `timeout` ms
   * (default 5 000); what is left then is abandoned (counted as failed).
   */
  async close(options: { timeout?: number } = {}): Promise<void> {
    this.#closed = true;
    if (this.stats().queued > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.#drained?.(), options.timeout ?? 5_000);
        this.#drained = () => {
          clearTimeout(timer);
          this.#drained = undefined;
          resolve();
        };
      });
    }
    for (const target of this.#targets) {
      for (const [orderKey, queue] of target.queues) {
        clearTimeout(queue.timer);
        for (const pending of queue.items.splice(0)) {
          this.#stats.failed++;
          this.emit(
            'failed',
            pending.event,
            target.url,
            new RestreamError('ERR_RESTREAM_CLOSED', 'abandoned at close'),
          );
        }
        target.queues.delete(orderKey);
      }
      target.queued = 0;
    }
  }

  /** Starts the head of `queue` when it is not already being sent and a request slot is free. */
  #schedule(target: Target, queue: OrderQueue): void {
    if (queue.running || queue.timer !== undefined || queue.items.length === 0) return;
    if (target.inFlight >= this.#concurrency) {
      if (!target.waiting.includes(queue)) target.waiting.push(queue);
      return;
    }
    queue.running = true;
    target.inFlight++;
    void this.#attempt(target, queue).finally(() => {
      queue.running = false;
      target.inFlight--;
      if (queue.items.length === 0 && queue.timer === undefined) target.queues.delete(queue.orderKey);
      else this.#schedule(target, queue);
      const next = target.waiting.shift();
      if (next !== undefined) this.#schedule(target, next);
      if (this.#drained !== undefined && this.stats().queued === 0) this.#drained();
    });
  }

  /** Sends the head of `queue` once; on failure it stays at the head and is tried again after a delay. */
  async #attempt(target: Target, queue: OrderQueue): Promise<void> {
    const pending = queue.items[0];
    if (pending === undefined) return;
    pending.attempts++;
    const error = await this.#post(target.url, pending);
    if (queue.items[0] !== pending) return; // abandoned at close meanwhile
    if (error === undefined) {
      queue.items.shift();
      target.queued--;
      queue.backoff.reset();
      this.#stats.delivered++;
      this.emit('delivered', pending.event, target.url, pending.attempts);
      return;
    }
    if (pending.attempts >= this.#maxAttempts || this.#closed) {
      queue.items.shift();
      target.queued--;
      queue.backoff.reset();
      this.#stats.failed++;
      this.emit('failed', pending.event, target.url, error);
      return;
    }
    const delay = queue.backoff.next();
    this.#stats.retries++;
    this.emit('retry', pending.event, target.url, error, delay);
    queue.timer = setTimeout(() => {
      queue.timer = undefined;
      this.#schedule(target, queue);
    }, delay);
    queue.timer.unref();
  }

  /** One POST; undefined on a 2xx answer, else why it failed. */
  async #post(url: string, pending: Pending): Promise<RestreamError | undefined> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'rtmp-restream-webhooks',
      'x-rtmp-event': pending.event.event,
      'x-rtmp-delivery': pending.event.id,
      'x-rtmp-attempt': String(pending.attempts),
    };
    if (this.#secret !== undefined)
      headers[WEBHOOK_SIGNATURE_HEADER] = signWebhookBody(pending.body, this.#secret);
    try {
      const response = await this.#fetch(url, {
        method: 'POST',
        headers,
        body: pending.body,
        signal: AbortSignal.timeout(this.#timeout),
      });
      // Read the answer so that the connection can be reused.
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return undefined;
      return new RestreamError('ERR_RESTREAM_WEBHOOK_REJECTED', `${url} answered ${response.status}`, {
        status: response.status,
      });
    } catch (error) {
      return new RestreamError('ERR_RESTREAM_WEBHOOK_UNREACHABLE', `${url}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }
}
