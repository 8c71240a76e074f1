import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeRecord, StreamClaim } from '@rtmp/cluster';
import { Counter, Gauge } from 'prom-client';
import type { IngestClusterNode } from './cluster.js';
import type { IngestConfig } from './config.js';
import { type HttpIntercept, parseRequestPath, type StreamApiEntry, sendJson } from './http.js';
import type { IngestMetrics } from './metrics.js';
import { viewerKey } from './pull-http.js';

/** How long an HTTP viewer (HLS playlist, HTTP-FLV) of a stream held by another node waits for its pull here. */
export const CLUSTER_VIEWER_WAIT_MS = 5_000;

/** One stream of the cluster in `GET /api/streams` (`cluster.streams`). */
export interface ClusterStreamEntry {
  /** The relay key, `<app>/<key>`. */
  stream: string;
  app: string;
  key: string;
  /** The node that holds it (its publisher is there), and where the others pull it from. */
  node: string;
  url: string;
  /** When its publish started there (ISO 8601). */
  since: string;
  /** Its node is draining: the publisher is moving. */
  draining: boolean;
  /** Viewers per node (other nodes' pulls not counted), from each node's last heartbeat. */
  viewers: Record<string, number>;
  totalViewers: number;
}

/** One node in `GET /api/nodes`. */
export interface ClusterNodeEntry extends NodeRecord {
  /** This node. */
  self: boolean;
  /** Seconds since its last heartbeat. */
  heartbeatAgeSec: number;
}

function splitKey(stream: string): { app: string; key: string } {
  const slash = stream.indexOf('/');
  return slash < 0 ? { app: '', key: stream } : { app: stream.slice(0, slash), key: stream.slice(slash + 1) };
}

/** Every claim with the viewers each node reported for it. */
export function clusterStreams(
  claims: readonly StreamClaim[],
  nodes: readonly NodeRecord[],
): ClusterStreamEntry[] {
  return claims.map((claim) => {
    const viewers: Record<string, number> = {};
    let total = 0;
    for (const node of nodes) {
      const stream = node.streams.find((s) => s.key === claim.key);
      if (stream === undefined) continue;
      viewers[node.id] = stream.viewers;
      total += stream.viewers;
    }
    return {
      stream: claim.key,
      ...splitKey(claim.key),
      node: claim.node,
      url: claim.url,
      since: new Date(claim.since).toISOString(),
      draining: claim.draining,
      viewers,
      totalViewers: total,
    };
  });
}

/**
 * The cluster's part of the HTTP API, ahead of the built-in endpoints: `GET /api/streams` with the cluster's
 * streams beside this node's, `GET /api/nodes`; and for a viewer (HLS playlist, HTTP-FLV) of a stream that another
 * node holds, the edge pull started here first (HLS muxes only live streams: its request waits for the pull).
 */
export function clusterHttp(
  cluster: IngestClusterNode,
  config: IngestConfig,
  localStreams: () => StreamApiEntry[],
): HttpIntercept {
  const { node, relay } = cluster;
  return async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = parseRequestPath(req.url);
    if (path === null) return false;
    if (path.path === '/api/streams') {
      const local = localStreams();
      try {
        const [claims, nodes] = await Promise.all([node.claims(), node.nodes()]);
        sendJson(res, 200, {
          streams: local,
          cluster: { node: node.id, streams: clusterStreams(claims, nodes) },
        });
      } catch (error) {
        sendJson(res, 200, {
          streams: local,
          cluster: {
            node: node.id,
            streams: null,
            error: error instanceof Error ? error.message : String(error),
          },
        });
      }
      return true;
    }
    if (path.path === '/api/nodes') {
      try {
        const now = Date.now();
        const nodes: ClusterNodeEntry[] = (await node.nodes()).map((n) => ({
          ...n,
          self: n.id === node.id,
          heartbeatAgeSec: Math.max(0, (now - n.updatedAt) / 1000),
        }));
        sendJson(res, 200, { node: node.id, nodes });
      } catch (error) {
        sendJson(res, 503, { error: error instanceof Error ? error.message : String(error) });
      }
      return true;
    }
    const key = viewerKey(path.segments, config.apps);
    if (key !== undefined && !relay.relay.isLive(key)) await relay.ensureLocal(key, CLUSTER_VIEWER_WAIT_MS);
    return false;
  };
}

/** `rtmp_cluster_*` in `/metrics`: the registry, this node's claims and pulls, and every node's health and load. */
export function registerClusterMetrics(cluster: IngestClusterNode, metrics: IngestMetrics): void {
  const { node, relay, registry } = cluster;
  const registers = [metrics.registry];
  // One registry read per scrape, shared by the gauges that need the node list.
  let listing: { at: number; nodes: Promise<NodeRecord[]> } | undefined;
  const nodes = () => {
    const now = Date.now();
    if (listing === undefined || now - listing.at > 500) {
      listing = { at: now, nodes: node.nodes().catch(() => []) };
    }
    return listing.nodes;
  };
  new Gauge({
    name: 'rtmp_cluster_registry_up',
    help: 'Whether the cluster registry (Redis) is reachable: 1 or 0',
    registers,
    collect() {
      this.set(registry.available ? 1 : 0);
    },
  });
  new Gauge({
    name: 'rtmp_cluster_heartbeat_age_seconds',
    help: 'Seconds since this node last wrote its heartbeat to the registry',
    registers,
    collect() {
      const last = node.lastHeartbeat;
      this.set(last === undefined ? 0 : (Date.now() - last.at) / 1000);
    },
  });
  new Gauge({
    name: 'rtmp_cluster_claims',
    help: 'Streams this node holds in the cluster (published here)',
    registers,
    collect() {
      this.set(node.held().length);
    },
  });
  new Gauge({
    name: 'rtmp_cluster_edge_pulls',
    help: 'Streams pulled from another node (live)',
    registers,
    collect() {
      this.set(relay.puller.pulls().filter((p) => p.state === 'live').length);
    },
  });
  new Gauge({
    name: 'rtmp_cluster_nodes',
    help: 'Nodes of the cluster, by state (live, draining)',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      const list = await nodes();
      this.set({ state: 'live' }, list.filter((n) => n.state === 'live').length);
      this.set({ state: 'draining' }, list.filter((n) => n.state === 'draining').length);
    },
  });
  const perNode = (name: string, help: string, read: (n: NodeRecord) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['node'] as const,
      registers,
      async collect() {
        this.reset();
        for (const n of await nodes()) this.set({ node: n.id }, read(n));
      },
    });
  perNode('rtmp_cluster_node_up', 'Nodes whose record is fresh (1), by node', () => 1);
  perNode('rtmp_cluster_node_heartbeat_age_seconds', "Seconds since each node's last heartbeat", (n) =>
    Math.max(0, (Date.now() - n.updatedAt) / 1000),
  );
  perNode('rtmp_cluster_node_connections', 'RTMP connections of each node', (n) => n.load.connections);
  perNode('rtmp_cluster_node_viewers', 'Viewers of each node', (n) => n.load.viewers);
  perNode(
    'rtmp_cluster_node_bytes_in_per_second',
    'Bytes received per second by each node',
    (n) => n.load.bytesInPerSec,
  );
  perNode(
    'rtmp_cluster_node_bytes_out_per_second',
    'Bytes sent per second by each node',
    (n) => n.load.bytesOutPerSec,
  );
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const stats = node.stats;
  counter('rtmp_cluster_heartbeats_total', 'Heartbeats written', () => stats.heartbeats);
  counter(
    'rtmp_cluster_heartbeat_failures_total',
    'Heartbeats that could not reach the registry',
    () => stats.heartbeatFailures,
  );
  counter('rtmp_cluster_claims_total', 'Publishes claimed in the cluster', () => stats.claimed);
  counter(
    'rtmp_cluster_claims_refused_total',
    'Publishes refused: another node publishes the stream',
    () => stats.refused,
  );
  counter(
    'rtmp_cluster_claim_failures_total',
    'Publishes refused: the registry could not be reached',
    () => stats.claimFailures,
  );
  counter('rtmp_cluster_takeovers_total', 'Streams taken over from a draining node', () => stats.tookOver);
  counter(
    'rtmp_cluster_reasserted_total',
    'Claims set again after the registry lost them',
    () => stats.reasserted,
  );
  counter('rtmp_cluster_moved_total', 'Streams of this node taken over by another node', () => stats.moved);
}
