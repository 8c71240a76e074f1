import { hostname } from 'node:os';
import type { ClusterNode, ClusterRelay, NodeLoad, RedisRegistry } from '@rtmp/cluster';
import type { OriginResolver } from '@rtmp/restream';
import { type ClientSession, FlvOutput, type LiveRelay, type RtmpServer, signUrl } from '@rtmp/server';
import type { IngestConfig } from './config.js';
import type { IngestCluster } from './config-cluster.js';
import type { Logger } from './logger.js';

/** What the node reports of its load, measured between two heartbeats. */
class LoadMeter {
  readonly #sessions = new Map<ClientSession, { in: number; out: number }>();
  readonly #viewers = new WeakMap<FlvOutput, number>();
  #at = Date.now();
  /** The last sample. */
  last: NodeLoad | undefined;

  constructor(
    private readonly relay: LiveRelay,
    private readonly servers: () => readonly RtmpServer[],
    private readonly localViewers: typeof import('@rtmp/cluster')['localViewers'],
  ) {}

  /** Connections and viewers now, bytes per second since the last call. */
  sample(publishers: number): NodeLoad {
    const now = Date.now();
    const seconds = Math.max((now - this.#at) / 1000, 0.001);
    this.#at = now;
    let connections = 0;
    let bytesIn = 0;
    let bytesOut = 0;
    const seen = new Set<ClientSession>();
    for (const server of this.servers()) {
      for (const session of server.sessions) {
        connections++;
        seen.add(session);
        const last = this.#sessions.get(session) ?? { in: 0, out: 0 };
        const now = { in: session.connection.bytesIn, out: session.connection.bytesOut };
        bytesIn += Math.max(0, now.in - last.in);
        bytesOut += Math.max(0, now.out - last.out);
        this.#sessions.set(session, now);
      }
    }
    for (const session of this.#sessions.keys()) if (!seen.has(session)) this.#sessions.delete(session);
    let viewers = 0;
    for (const stats of this.relay.stats()) {
      viewers += this.localViewers(stats);
      for (const player of stats.playerStats) {
        // HTTP-FLV and WS-FLV viewers: their bytes are counted by their FlvOutput.
        const output = player.subscriber;
        if (!(output instanceof FlvOutput)) continue;
        bytesOut += Math.max(0, output.bytesWritten - (this.#viewers.get(output) ?? 0));
        this.#viewers.set(output, output.bytesWritten);
      }
    }
    this.last = {
      connections,
      publishers,
      viewers,
      bytesInPerSec: Math.round(bytesIn / seconds),
      bytesOutPerSec: Math.round(bytesOut / seconds),
    };
    return this.last;
  }
}

/** This node's URL for the others: `--node-url`, else `rtmp://<--host, or the hostname>:<RTMP port>`. */
export function defaultNodeUrl(config: IngestConfig, rtmpPort: number): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? hostname() : config.host;
  return `rtmp://${host.includes(':') ? `[${host}]` : host}:${rtmpPort}`;
}

/** What {@link connectCluster} needs of the app. */
export interface ClusterParts {
  readonly config: IngestConfig;
  readonly cluster: IngestCluster;
  readonly relay: LiveRelay;
  readonly log: Logger;
  /** The RTMP listeners (known once started). */
  readonly servers: () => readonly RtmpServer[];
  /** Streams published here (the app's stream registry). */
  readonly publishers: () => number;
  /** `--pull` rules: where keys that no node holds are played from. */
  readonly fallback?: OriginResolver | undefined;
  /** The bound RTMP and HTTP ports, once listening. */
  readonly rtmpPort: () => number;
  readonly httpPort: () => number | null;
}

/** The cluster side of an ingest node: its registry connection, node, relay wiring and load meter. */
export interface IngestClusterNode {
  readonly registry: RedisRegistry;
  readonly node: ClusterNode;
  readonly relay: ClusterRelay;
  /** Announces the node and starts its heartbeat (once the RTMP port is bound). */
  start(): Promise<void>;
  /** The URL a client that follows reconnect requests is sent to, per session (least loaded live node first). */
  planMoves(sessions: readonly ClientSession[]): Promise<Map<ClientSession, string>>;
  close(): Promise<void>;
}

/**
 * Connects to the cluster's Redis (the app does not start without it) and builds the node and its relay wiring:
 * claims, edge pulls (one `Puller`, which also serves `--pull` for keys no node holds), logs.
 */
export async function connectCluster(parts: ClusterParts): Promise<IngestClusterNode> {
  const { cluster, relay, log, config } = parts;
  const clog = log.child({ component: 'cluster' });
  // Loaded only with --cluster: @rtmp/cluster brings ioredis, about 20 MB of RSS in every process that imports it.
  const clusterModule = await import('@rtmp/cluster');
  const registry = await clusterModule.RedisRegistry.connect(cluster.redisUrl, { prefix: cluster.prefix });
  const meter = new LoadMeter(relay, parts.servers, clusterModule.localViewers);
  let clusterRelay: ClusterRelay | undefined;
  const node: ClusterNode = new clusterModule.ClusterNode({
    registry,
    url: () => cluster.nodeUrl ?? defaultNodeUrl(config, parts.rtmpPort()),
    ...(cluster.nodeId === null ? {} : { id: cluster.nodeId }),
    httpUrl: (): string | null => {
      const port = parts.httpPort();
      return port === null ? null : `http://${new URL(node.url).host.replace(/:\d+$/, '')}:${port}`;
    },
    ttl: cluster.ttlSec * 1000,
    report: () => {
      const load = meter.sample(parts.publishers());
      return clusterRelay?.report(load) ?? { load, streams: [] };
    },
  });
  const playSecret = config.signing.playSecret;
  clusterRelay = new clusterModule.ClusterRelay(relay, node, {
    idleTimeout: config.pull.idleSec * 1000,
    ...(parts.fallback === undefined ? {} : { fallback: parts.fallback }),
    // Nodes share their --sign-play-secret: an edge pull signs its play like any player must.
    ...(playSecret === null
      ? {}
      : { playUrl: (url: string) => signUrl(url, { secret: playSecret, action: 'play', expiresIn: 300 }) }),
  });
  const wiring = clusterRelay;

  wiring.on('refused', (key, holder, error) => {
    if (error !== undefined)
      clog.error(
        { stream: key, code: error.code, err: error.message },
        'publish refused: registry unreachable',
      );
    else clog.warn({ stream: key, holder: holder?.node }, 'publish refused: published on another node');
  });
  wiring.on('handover', (key) =>
    clog.info({ stream: key }, 'publisher moved: viewers kept, pulled from its new node'),
  );
  wiring.on('rehome', (key, from, to) =>
    clog.info({ stream: key, from, to }, 'stream moved: pull follows it'),
  );
  node.on('moved', (key, holder) =>
    clog.info({ stream: key, to: holder.node }, 'stream taken over by another node'),
  );
  node.on('reasserted', (keys) =>
    clog.warn({ streams: keys }, 'claims re-asserted (the registry had lost them)'),
  );
  node.on('unavailable', (error) => clog.error({ err: error.message }, 'cluster registry unreachable'));
  node.on('available', () => clog.info('cluster registry reachable'));
  let failing = false;
  node.on('heartbeat', (error) => {
    if (error !== undefined && !failing)
      clog.warn({ code: error.code, err: error.message }, 'heartbeat failed');
    failing = error !== undefined;
  });

  return {
    registry,
    node,
    relay: wiring,
    start: async () => {
      await node.start();
      clog.info({ node: node.id, url: node.url, ttlSec: cluster.ttlSec }, 'joined the cluster');
    },
    planMoves: async (sessions) => {
      const plan = new Map<ClientSession, string>();
      let nodes = (await node.nodes().catch(() => [])).filter((n) => n.id !== node.id && n.state === 'live');
      if (nodes.length === 0) return plan;
      // Each move adds a publisher's mean rate here to the node it goes to, so that a drain spreads them.
      const own = meter.last;
      const rate = own === undefined ? 1 : Math.max(1, own.bytesInPerSec / Math.max(1, own.publishers));
      const weight = new Map(nodes.map((n) => [n.id, n.load.bytesInPerSec + n.load.bytesOutPerSec]));
      nodes = [...nodes];
      for (const session of sessions) {
        nodes.sort((a, b) => (weight.get(a.id) ?? 0) - (weight.get(b.id) ?? 0) || (a.id < b.id ? -1 : 1));
        const target = nodes[0];
        if (target === undefined) break;
        const app = session.connectInfo?.app ?? '';
        plan.set(session, `${target.url}/${app}`);
        weight.set(target.id, (weight.get(target.id) ?? 0) + rate);
      }
      return plan;
    },
    close: async () => {
      await wiring.close();
      await node.close();
      await registry.close();
    },
  };
}
