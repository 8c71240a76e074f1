import { EventEmitter } from 'node:events';
import { ClusterError, registryError } from './errors.js';
import type {
  ClaimResult,
  ClusterRegistry,
  NodeLoad,
  NodeRecord,
  NodeStream,
  RegistryEvent,
  StreamClaim,
} from './registry.js';

/** What a node reports of itself with each heartbeat ({@link ClusterNodeOptions.report}). */
export interface NodeReport {
  readonly load: NodeLoad;
  readonly streams: readonly NodeStream[];
}

/** Options of a {@link ClusterNode}. */
export interface ClusterNodeOptions {
  readonly registry: ClusterRegistry;
  /**
   * Where other nodes and moved publishers reach this node: `rtmp[s]://host[:port]` (no path). A function when it
   * is known only once the server listens; read at {@link ClusterNode.start}.
   */
  readonly url: string | (() => string);
  /** The node's id, unique in the cluster and stable across restarts. Default: the host and port of `url`. */
  readonly id?: string;
  /** The node's HTTP address, for the node list (`http://host:port`); read at each heartbeat. */
  readonly httpUrl?: string | null | (() => string | null);
  /** Milliseconds a claim or node record lives without a heartbeat (default 5000: a dead node's keys are free after it). */
  readonly ttl?: number;
  /** Milliseconds between heartbeats (default a third of `ttl`). */
  readonly heartbeat?: number;
  /** The load and streams of this node, read at each heartbeat. Default: nothing (zeros). */
  readonly report?: () => NodeReport | Promise<NodeReport>;
}

/** Events of a {@link ClusterNode}. */
export interface ClusterNodeEvents {
  /** Another node claimed a key (published it, took it over from a draining node, or re-asserted it). */
  claim: [claim: StreamClaim, previous: string | null];
  /** A node released a key (its publisher left). */
  release: [key: string, node: string];
  /** A key this node held is held by another node now: taken over while draining, or lost (see the README). */
  moved: [key: string, holder: StreamClaim];
  /** Claims that were missing from the registry (it restarted empty) and are set again. */
  reasserted: [keys: readonly string[]];
  /** A heartbeat ended: `error` when it failed (the registry is unreachable). */
  heartbeat: [error: ClusterError | undefined];
  /** The registry is reachable again; a heartbeat follows at once. */
  available: [];
  unavailable: [error: Error];
}

/** Counters of a {@link ClusterNode}, for metrics. */
export interface ClusterNodeStats {
  heartbeats: number;
  heartbeatFailures: number;
  claimed: number;
  refused: number;
  tookOver: number;
  claimFailures: number;
  reasserted: number;
  moved: number;
  releaseFailures: number;
}

function checkMs(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min || value > 3_600_000) {
    throw new ClusterError(
      'ERR_CLUSTER_INVALID_OPTION',
      `${name} must be an integer number of ms in ${min}..3600000`,
    );
  }
  return value;
}

/** Checks a node URL: `rtmp[s]://host[:port]`, nothing after. */
export function checkNodeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ClusterError('ERR_CLUSTER_INVALID_OPTION', `node URL "${url}" is not a URL`);
  }
  if ((parsed.protocol !== 'rtmp:' && parsed.protocol !== 'rtmps:') || parsed.hostname === '') {
    throw new ClusterError('ERR_CLUSTER_INVALID_OPTION', `node URL "${url}" is not rtmp[s]://host[:port]`);
  }
  if (parsed.pathname.replace(/\/+$/, '') !== '' || parsed.search !== '' || parsed.hash !== '') {
    throw new ClusterError('ERR_CLUSTER_INVALID_OPTION', `node URL "${url}" must have no path or query`);
  }
  return `${parsed.protocol}//${parsed.host}`;
}

const NO_REPORT: NodeReport = {
  load: { connections: 0, publishers: 0, viewers: 0, bytesInPerSec: 0, bytesOutPerSec: 0 },
  streams: [],
};

/**
 * One node of a cluster: holds the claims of the streams published here, keeps them and the node's record alive
 * with a heartbeat (one registry round trip for all claims, then the record), re-asserts them when the registry
 * comes back empty, and reports what other nodes claim and release. Knows nothing of RTMP: {@link ClusterRelay}
 * wires it to a relay.
 */
export class ClusterNode extends EventEmitter<ClusterNodeEvents> {
  readonly registry: ClusterRegistry;
  readonly ttl: number;
  readonly heartbeatInterval: number;
  readonly stats: ClusterNodeStats = {
    heartbeats: 0,
    heartbeatFailures: 0,
    claimed: 0,
    refused: 0,
    tookOver: 0,
    claimFailures: 0,
    reasserted: 0,
    moved: 0,
    releaseFailures: 0,
  };
  readonly #options: ClusterNodeOptions;
  readonly #claims = new Map<string, StreamClaim>();
  #id: string | undefined;
  #url = '';
  #startedAt = 0;
  #state: 'new' | 'live' | 'draining' | 'closed' = 'new';
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #again = false;
  #unsubscribe: (() => void) | undefined;
  #lastHeartbeat: { at: number; ok: boolean } | undefined;

  /** @throws {@link ClusterError} `ERR_CLUSTER_INVALID_OPTION` for a bad TTL, heartbeat or URL */
  constructor(options: ClusterNodeOptions) {
    super();
    this.registry = options.registry;
    this.ttl = checkMs('ttl', options.ttl ?? 5_000, 300);
    this.heartbeatInterval = checkMs('heartbeat', options.heartbeat ?? Math.floor(this.ttl / 3), 50);
    if (this.heartbeatInterval >= this.ttl) {
      throw new ClusterError('ERR_CLUSTER_INVALID_OPTION', 'the heartbeat must be shorter than the TTL');
    }
    this.#options = options;
    if (typeof options.url === 'string') this.#url = checkNodeUrl(options.url);
    if (options.id !== undefined) this.#id = checkId(options.id);
  }

  /** The node's id (known once started when it comes from the URL). */
  get id(): string {
    if (this.#id === undefined)
      throw new ClusterError('ERR_CLUSTER_INVALID_OPTION', 'the node is not started');
    return this.#id;
  }

  get url(): string {
    return this.#url;
  }

  /** `live`, `draining` (claims may be taken over), or `new`/`closed`. */
  get state(): 'new' | 'live' | 'draining' | 'closed' {
    return this.#state;
  }

  /** When the last heartbeat ended and whether it reached the registry. */
  get lastHeartbeat(): { at: number; ok: boolean } | undefined {
    return this.#lastHeartbeat;
  }

  /**
   * Reads the URL, announces the node (the registry must be reachable) and starts the heartbeat.
   * @throws {@link ClusterError} `ERR_CLUSTER_REGISTRY_UNAVAILABLE`, `ERR_CLUSTER_INVALID_OPTION`
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') return;
    if (typeof this.#options.url === 'function') this.#url = checkNodeUrl(this.#options.url());
    this.#id ??= checkId(new URL(this.#url).host);
    this.#startedAt = Date.now();
    this.#state = 'live';
    this.#unsubscribe = this.registry.subscribe((event) => this.#onEvent(event));
    await this.registry.announce(await this.#record(), this.ttl);
    this.#timer = setInterval(() => void this.heartbeat(), this.heartbeatInterval);
    this.#timer.unref();
  }

  /** Keys this node holds. */
  held(): string[] {
    return [...this.#claims.keys()];
  }

  holds(key: string): boolean {
    return this.#claims.has(key);
  }

  /**
   * Claims `key` for this node (see {@link ClusterRegistry.claim}): true when it holds it now.
   * @throws {@link ClusterError} `ERR_CLUSTER_REGISTRY_UNAVAILABLE` (the publish should be refused: uniqueness
   *   cannot be checked), `ERR_CLUSTER_CLOSED`
   */
  async claim(key: string): Promise<ClaimResult> {
    if (this.#state === 'new' || this.#state === 'closed') {
      throw new ClusterError(
        'ERR_CLUSTER_CLOSED',
        `the node is ${this.#state === 'new' ? 'not started' : 'closed'}`,
      );
    }
    const claim: StreamClaim = {
      key,
      node: this.id,
      url: this.#url,
      since: this.#claims.get(key)?.since ?? Date.now(),
      draining: this.#state === 'draining',
    };
    let result: ClaimResult;
    try {
      result = await this.registry.claim(claim, this.ttl);
    } catch (error) {
      this.stats.claimFailures++;
      throw registryError(error, `claim of ${key}`);
    }
    if (!result.claimed) {
      this.stats.refused++;
      return result;
    }
    this.stats.claimed++;
    if (result.previous !== undefined && result.previous.node !== claim.node) this.stats.tookOver++;
    this.#claims.set(key, claim);
    return result;
  }

  /** Releases `key` if this node holds it (a failure is left to the TTL: the key is free within it anyway). */
  async release(key: string): Promise<void> {
    if (!this.#claims.delete(key) || this.#id === undefined) return;
    await this.registry.release(key, this.#id).catch(() => {
      this.stats.releaseFailures++;
    });
  }

  /** The claim of `key` in the registry. */
  lookup(key: string): Promise<StreamClaim | undefined> {
    return this.registry.lookup(key);
  }

  /** Every node of the cluster (this one included). */
  nodes(): Promise<NodeRecord[]> {
    return this.registry.nodes();
  }

  /** Every live claim of the cluster. */
  claims(): Promise<StreamClaim[]> {
    return this.registry.claims();
  }

  /**
   * The live node (not draining, not this one) with the least load: the lowest bandwidth (bytes in + out per
   * second), then the fewest connections, then the smallest id. Undefined when there is none.
   */
  async leastLoaded(): Promise<NodeRecord | undefined> {
    const nodes = (await this.nodes()).filter((n) => n.id !== this.#id && n.state === 'live');
    const bandwidth = (n: NodeRecord) => n.load.bytesInPerSec + n.load.bytesOutPerSec;
    nodes.sort(
      (a, b) =>
        bandwidth(a) - bandwidth(b) ||
        a.load.connections - b.load.connections ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
    return nodes[0];
  }

  /**
   * Starts draining: this node's claims are marked so that another node may take each key over (its publisher
   * moving there), the node is no longer a target, and a heartbeat writes it at once.
   */
  async drain(): Promise<void> {
    if (this.#state !== 'live') return;
    this.#state = 'draining';
    await this.heartbeat();
  }

  /**
   * One heartbeat now: renews this node's claims (re-asserting missing ones, reporting lost ones) and its record.
   * Never throws; a failure is counted and reported by the `heartbeat` event. Concurrent calls share one.
   */
  heartbeat(): Promise<void> {
    if (this.#beating !== undefined) {
      this.#again = true;
      return this.#beating;
    }
    this.#beating = this.#beat().finally(() => {
      this.#beating = undefined;
      if (this.#again) {
        this.#again = false;
        void this.heartbeat();
      }
    });
    return this.#beating;
  }

  /** Stops the heartbeat, releases every claim and withdraws the node record (best effort). Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const started = this.#state !== 'new';
    this.#state = 'closed';
    clearInterval(this.#timer);
    this.#unsubscribe?.();
    await this.#beating;
    if (!started || this.#id === undefined) return;
    const id = this.#id;
    const keys = this.held();
    this.#claims.clear();
    await Promise.all([
      ...keys.map((key) => this.registry.release(key, id).catch(() => false)),
      this.registry.withdraw(id).catch(() => undefined),
    ]);
  }

  async #beat(): Promise<void> {
    if (this.#state === 'new' || this.#state === 'closed') return;
    const draining = this.#state === 'draining';
    const sent = [...this.#claims.values()].map((claim) =>
      claim.draining === draining ? claim : { ...claim, draining },
    );
    for (const claim of sent) this.#claims.set(claim.key, claim);
    let failure: ClusterError | undefined;
    try {
      const renewed = await this.registry.renew(sent, this.ttl);
      if (renewed.reasserted.length > 0) {
        this.stats.reasserted += renewed.reasserted.length;
        this.emit('reasserted', renewed.reasserted);
      }
      for (const holder of renewed.lost) this.#movedAway(holder.key, holder);
      await this.registry.announce(await this.#record(), this.ttl);
      this.stats.heartbeats++;
    } catch (error) {
      failure = registryError(error, 'heartbeat');
      this.stats.heartbeatFailures++;
    }
    this.#lastHeartbeat = { at: Date.now(), ok: failure === undefined };
    this.emit('heartbeat', failure);
  }

  async #record(): Promise<NodeRecord> {
    const report = (await this.#options.report?.()) ?? NO_REPORT;
    const http = this.#options.httpUrl;
    return {
      id: this.id,
      url: this.#url,
      httpUrl: (typeof http === 'function' ? http() : http) ?? null,
      state: this.#state === 'draining' ? 'draining' : 'live',
      load: report.load,
      streams: report.streams,
      startedAt: this.#startedAt,
      updatedAt: Date.now(),
    };
  }

  #movedAway(key: string, holder: StreamClaim): void {
    if (holder.node === this.#id || !this.#claims.delete(key)) return;
    this.stats.moved++;
    this.emit('moved', key, holder);
  }

  #onEvent(event: RegistryEvent): void {
    switch (event.type) {
      case 'claim':
        if (event.claim.node === this.#id) return;
        this.#movedAway(event.claim.key, event.claim);
        this.emit('claim', event.claim, event.previous);
        return;
      case 'release':
        if (event.node !== this.#id) this.emit('release', event.key, event.node);
        return;
      case 'available':
        this.emit('available');
        void this.heartbeat();
        return;
      case 'unavailable':
        this.emit('unavailable', event.error);
        return;
    }
  }
}

const ID_RE = /^[A-Za-z0-9:_.@[\]-]{1,128}$/;

function checkId(id: string): string {
  if (!ID_RE.test(id)) {
    throw new ClusterError('ERR_CLUSTER_INVALID_OPTION', `node id "${id}" must match ${ID_RE}`);
  }
  return id;
}
