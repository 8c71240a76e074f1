import { EventEmitter } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import { ClusterError, messageOf, registryError } from './errors.js';
import { claimOf, eventOf, nodeOf } from './records.js';
import { CLAIM, type LuaScript, RELEASE, RENEW } from './redis-scripts.js';
import type {
  ClaimResult,
  ClusterRegistry,
  NodeRecord,
  RegistryEvent,
  RenewResult,
  StreamClaim,
} from './registry.js';

/** Options of {@link RedisRegistry.connect}. */
export interface RedisRegistryOptions {
  /**
   * Prefix of every key and of the events channel (default `rtmp`): several clusters can share one Redis with
   * different prefixes. Letters, digits and `: _ . -`, at most 64.
   */
  prefix?: string;
  /** Milliseconds a command may take before it fails (default 2000): a heartbeat never waits longer. */
  commandTimeout?: number;
  /** Milliseconds {@link RedisRegistry.connect} waits for the first connection (default 10 000). */
  connectTimeout?: number;
  /** More `ioredis` options (TLS, password, `retryStrategy`...); the URL's own settings apply first. */
  redis?: RedisOptions;
}

const PREFIX_RE = /^[A-Za-z0-9:_.-]{1,64}$/;
/** Keys asked per SCAN step, and read per MGET. */
const BATCH = 500;

function checkTimeout(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 10 || value > 600_000) {
    throw new ClusterError(
      'ERR_CLUSTER_INVALID_OPTION',
      `${name} must be an integer number of ms in 10..600000`,
    );
  }
  return value;
}

/**
 * The cluster registry on Redis (5 or later; Debian's redis-server 7 in the tests), with `ioredis`:
 *
 * - a claim is the key `<prefix>:stream:<app>/<name>` holding the claim's JSON, set with `PX` (its TTL) by a Lua
 *   script that reads the holder first, so claim, take-over and release are each one atomic step;
 * - a node is `<prefix>:node:<id>` (its record, with `PX`) and a member of the sorted set `<prefix>:nodes` scored
 *   by its expiry, so listing nodes reads no other keys;
 * - claims and releases are published on the channel `<prefix>:events` by the same scripts (a second connection
 *   subscribes to it).
 *
 * Commands are never queued while Redis is unreachable: they fail at once (`ERR_CLUSTER_REGISTRY_UNAVAILABLE`),
 * while `ioredis` reconnects in the background; the `available` event then says when to re-assert claims.
 */
export class RedisRegistry implements ClusterRegistry {
  readonly #redis: Redis;
  readonly #events: Redis;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #emitter = new EventEmitter<{ event: [RegistryEvent] }>();
  #available = false;
  #lastError: Error = new Error('not connected yet');
  #closed = false;

  private constructor(redis: Redis, events: Redis, prefix: string) {
    this.#redis = redis;
    this.#events = events;
    this.#prefix = prefix;
    this.#channel = `${prefix}:events`;
    redis.on('error', (error: Error) => {
      this.#lastError = error;
    });
    events.on('error', () => {
      // Reported through the main connection; the subscriber reconnects and resubscribes by itself.
    });
    redis.on('ready', () => {
      if (this.#available) return;
      this.#available = true;
      this.#emit({ type: 'available' });
    });
    redis.on('close', () => {
      if (!this.#available) return;
      this.#available = false;
      if (!this.#closed) this.#emit({ type: 'unavailable', error: this.#lastError });
    });
    events.on('message', (channel: string, text: string) => {
      if (channel !== this.#channel) return;
      const event = eventOf(text);
      if (event !== undefined) this.#emit(event);
    });
  }

  /**
   * Connects to `url` (`redis://[user:password@]host[:port][/db]` or `rediss://` for TLS) and subscribes to the
   * events channel.
   * @throws {@link ClusterError} `ERR_CLUSTER_INVALID_OPTION` for a bad URL or option,
   *   `ERR_CLUSTER_REGISTRY_UNAVAILABLE` when Redis does not answer within `connectTimeout`
   */
  static async connect(url: string, options: RedisRegistryOptions = {}): Promise<RedisRegistry> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ClusterError('ERR_CLUSTER_INVALID_OPTION', `"${url}" is not a redis:// or rediss:// URL`);
    }
    if ((parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || parsed.hostname === '') {
      throw new ClusterError('ERR_CLUSTER_INVALID_OPTION', `"${url}" is not a redis:// or rediss:// URL`);
    }
    const prefix = options.prefix ?? 'rtmp';
    if (!PREFIX_RE.test(prefix)) {
      throw new ClusterError('ERR_CLUSTER_INVALID_OPTION', `prefix "${prefix}" must match ${PREFIX_RE}`);
    }
    const commandTimeout = checkTimeout('commandTimeout', options.commandTimeout ?? 2_000);
    const connectTimeout = checkTimeout('connectTimeout', options.connectTimeout ?? 10_000);
    const common: RedisOptions = {
      lazyConnect: true,
      // Fail fast while Redis is away: a heartbeat or a publish must not wait behind a reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout,
      connectTimeout: Math.min(connectTimeout, 5_000),
      retryStrategy: (attempt) => Math.min(100 * attempt, 1_000),
      ...options.redis,
    };
    const redis = new Redis(url, { connectionName: 'rtmp-cluster', ...common });
    const events = new Redis(url, { connectionName: 'rtmp-cluster-events', ...common });
    const registry = new RedisRegistry(redis, events, prefix);
    try {
      await Promise.all([
        waitReady(redis, connectTimeout),
        waitReady(events, connectTimeout).then(() => events.subscribe(registry.#channel)),
      ]);
    } catch (error) {
      redis.disconnect();
      events.disconnect();
      throw new ClusterError(
        'ERR_CLUSTER_REGISTRY_UNAVAILABLE',
        `cannot reach Redis at ${parsed.host}: ${messageOf(error)}`,
        { cause: error },
      );
    }
    return registry;
  }

  get available(): boolean {
    return this.#available;
  }

  async claim(claim: StreamClaim, ttlMs: number): Promise<ClaimResult> {
    const reply = await this.#run(
      CLAIM,
      [this.#claimKey(claim.key)],
      [JSON.stringify(claim), claim.node, ttlMs, this.#channel],
    );
    const [code, value] = Array.isArray(reply) ? reply : [];
    const text = typeof value === 'string' ? value : '';
    if (code === 1) return { claimed: true, previous: claimOf(text) };
    const holder = claimOf(text);
    if (holder === undefined) {
      throw new ClusterError('ERR_CLUSTER_BAD_RECORD', `${claim.key} holds a value that is not a claim`);
    }
    return { claimed: false, holder };
  }

  async renew(claims: readonly StreamClaim[], ttlMs: number): Promise<RenewResult> {
    const first = claims[0];
    if (first === undefined) return { reasserted: [], lost: [] };
    const reply = await this.#run(
      RENEW,
      claims.map((c) => this.#claimKey(c.key)),
      [ttlMs, first.node, this.#channel, ...claims.map((c) => JSON.stringify(c))],
    );
    const answers = Array.isArray(reply) ? reply : [];
    const reasserted: string[] = [];
    const lost: StreamClaim[] = [];
    claims.forEach((claim, i) => {
      const answer: unknown = answers[i];
      if (answer === 'set') reasserted.push(claim.key);
      else if (answer !== 'ok') {
        lost.push(claimOf(answer) ?? { key: claim.key, node: '?', url: '', since: 0, draining: false });
      }
    });
    return { reasserted, lost };
  }

  async release(key: string, node: string): Promise<boolean> {
    return (await this.#run(RELEASE, [this.#claimKey(key)], [node, this.#channel, key])) === 1;
  }

  async lookup(key: string): Promise<StreamClaim | undefined> {
    const text = await this.#call('lookup', () => this.#redis.get(this.#claimKey(key)));
    return text === null ? undefined : claimOf(text);
  }

  async claims(): Promise<StreamClaim[]> {
    const pattern = `${this.#prefix}:stream:*`;
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await this.#call('scan', () =>
        this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', BATCH),
      );
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    const claims: StreamClaim[] = [];
    for (let i = 0; i < keys.length; i += BATCH) {
      const values = await this.#call('mget', () => this.#redis.mget(keys.slice(i, i + BATCH)));
      for (const value of values) {
        const claim = value === null ? undefined : claimOf(value);
        if (claim !== undefined) claims.push(claim);
      }
    }
    return claims.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async announce(record: NodeRecord, ttlMs: number): Promise<void> {
    const now = Date.now();
    await this.#call('announce', () =>
      this.#redis
        .multi()
        .set(this.#nodeKey(record.id), JSON.stringify(record), 'PX', ttlMs)
        .zadd(`${this.#prefix}:nodes`, now + ttlMs, record.id)
        .zremrangebyscore(`${this.#prefix}:nodes`, '-inf', now)
        .exec(),
    );
  }

  async withdraw(node: string): Promise<void> {
    await this.#call('withdraw', () =>
      this.#redis.multi().del(this.#nodeKey(node)).zrem(`${this.#prefix}:nodes`, node).exec(),
    );
  }

  async nodes(): Promise<NodeRecord[]> {
    const ids = await this.#call('nodes', () =>
      this.#redis.zrangebyscore(`${this.#prefix}:nodes`, Date.now(), '+inf'),
    );
    if (ids.length === 0) return [];
    const values = await this.#call('nodes', () => this.#redis.mget(ids.map((id) => this.#nodeKey(id))));
    const nodes: NodeRecord[] = [];
    for (const value of values) {
      const node = value === null ? undefined : nodeOf(value);
      if (node !== undefined) nodes.push(node);
    }
    return nodes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  subscribe(listener: (event: RegistryEvent) => void): () => void {
    const on = (event: RegistryEvent) => listener(event);
    this.#emitter.on('event', on);
    return () => this.#emitter.off('event', on);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#available = false;
    await Promise.all(
      [this.#redis, this.#events].map((connection) =>
        connection.quit().then(
          () => undefined,
          () => connection.disconnect(),
        ),
      ),
    );
  }

  #emit(event: RegistryEvent): void {
    this.#emitter.emit('event', event);
  }

  #claimKey(key: string): string {
    return `${this.#prefix}:stream:${key}`;
  }

  #nodeKey(id: string): string {
    return `${this.#prefix}:node:${id}`;
  }

  async #call<T>(doing: string, command: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new ClusterError('ERR_CLUSTER_CLOSED', 'the registry is closed');
    try {
      return await command();
    } catch (error) {
      throw registryError(error, `Redis ${doing}`);
    }
  }

  /** EVALSHA, then EVAL once when Redis does not have the script (first use, or after a restart). */
  #run(script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    return this.#call('script', async () => {
      try {
        return await this.#redis.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!messageOf(error).startsWith('NOSCRIPT')) throw error;
        return this.#redis.eval(script.source, keys.length, ...keys, ...args);
      }
    });
  }
}

/** Resolves once `redis` is ready, however many attempts it takes; rejects after `timeoutMs`. */
function waitReady(redis: Redis, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let last: unknown = new Error('no answer');
    const onError = (error: unknown) => {
      last = error;
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      redis.off('error', onError);
      reject(last);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      redis.off('error', onError);
      resolve();
    };
    redis.once('ready', onReady);
    redis.on('error', onError);
    redis.connect().catch(onError);
  });
}
