import type { IncomingMessage } from 'node:http';
import { HLS_MODES, type HlsMode, HlsService } from '@rtmp/hls';
import type { LiveRelay } from '@rtmp/server';
import { Counter, Gauge } from 'prom-client';
import type { Authorizer } from './auth.js';
import type { Logger } from './logger.js';
import type { IngestMetrics } from './metrics.js';

/** `--hls` and the options beside it. */
export interface IngestHlsConfig {
  /** `on-demand` (default): muxed from the first playlist request until `idleSec` after the last; `always`; `off`. */
  readonly mode: HlsMode;
  /** `--hls-segment`: seconds per segment, 0 for one per GOP of at least 1 s. */
  readonly segmentSec: number;
  /** `--hls-window`: segments listed in the playlist. */
  readonly window: number;
  /** `--hls-idle`: seconds after the last request before an on-demand muxer stops. */
  readonly idleSec: number;
  /** `--hls-low-latency` (default): LL-HLS tags in the playlists; false: plain HLS playlists. */
  readonly lowLatency: boolean;
  /** `--hls-dir`: absolute folder where segments and a plain playlist are also written, or null (memory only). */
  readonly dir: string | null;
}

export { HLS_MODES };

/** How long a `--keys-url` answer for an HLS viewer (app, key, address, query) is reused: not one call per part. */
const AUTH_CACHE_MS = 30_000;
const AUTH_CACHE_MAX = 10_000;

/** The query a viewer gave, without the LL-HLS delivery directives (which change with every request). */
function viewerQuery(request: IncomingMessage | null): string {
  const url = request?.url ?? '';
  const q = url.indexOf('?');
  if (q < 0) return '';
  const params = new URLSearchParams(url.slice(q + 1));
  for (const name of [...params.keys()]) if (name.startsWith('_HLS_')) params.delete(name);
  return params.toString();
}

/**
 * HLS for the ingest app: the `@rtmp/hls` service over the relay, with the app's play authorization (the app
 * list, then `--keys-url` as for RTMP players, its answers cached for 30 s per viewer) and HLS figures in
 * `/metrics`. Null with `--hls off`.
 */
export function createHls(
  config: IngestHlsConfig,
  relay: LiveRelay,
  auth: Authorizer,
  metrics: IngestMetrics,
  log: Logger,
): HlsService | null {
  if (config.mode === 'off') return null;
  const decisions = new Map<string, { allowed: boolean; at: number }>();
  const service = new HlsService({
    relay,
    mode: config.mode,
    segmentDuration: config.segmentSec,
    window: config.window,
    idleTimeout: config.idleSec,
    lowLatency: config.lowLatency,
    ...(config.dir === null ? {} : { directory: config.dir }),
    allow: async (app, key, request) => {
      if (!auth.appAllowed(app)) return false;
      const query = viewerQuery(request);
      const ip = request?.socket.remoteAddress ?? '';
      const id = `${app}\n${key}\n${ip}\n${query}`;
      const now = Date.now();
      const cached = decisions.get(id);
      if (cached !== undefined && now - cached.at < AUTH_CACHE_MS) return cached.allowed;
      const decision = await auth.authorize({ action: 'play', app, key, query, ip });
      if (decisions.size >= AUTH_CACHE_MAX) decisions.clear();
      decisions.set(id, { allowed: decision.allowed, at: now });
      if (!decision.allowed) log.info({ app, key, ip, reason: decision.reason }, 'hls play denied');
      return decision.allowed;
    },
  });
  relay.on('subscribe', (key, subscriber) => {
    if (subscriber.protocol === 'hls') log.info({ key, mode: config.mode }, 'hls muxer started');
  });
  relay.on('unsubscribe', (key, subscriber) => {
    if (subscriber.protocol === 'hls') log.info({ key }, 'hls muxer stopped');
  });
  registerHlsMetrics(service, metrics);
  return service;
}

/** `rtmp_hls_*` gauges and counters, read from the service at each scrape. */
function registerHlsMetrics(service: HlsService, metrics: IngestMetrics): void {
  const registers = [metrics.registry];
  const gauge = (name: string, help: string, read: (s: ReturnType<HlsService['stats']>) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(service.stats()));
      },
    });
  gauge('rtmp_hls_streams', 'Streams being muxed to HLS', (s) => s.streams);
  gauge('rtmp_hls_bytes', 'Bytes of HLS segments and parts held in memory', (s) => s.bytes);
  gauge('rtmp_hls_segments', 'HLS segments retained', (s) => s.segments);
  gauge(
    'rtmp_hls_waiting_requests',
    'HLS requests held (blocking playlist reloads, preload hints)',
    (s) => s.waiting,
  );
  new Counter({
    name: 'rtmp_hls_muxers_started_total',
    help: 'HLS muxers started',
    registers,
    collect() {
      this.reset();
      this.inc(service.stats().started);
    },
  });
  new Counter({
    name: 'rtmp_hls_requests_total',
    help: 'HLS requests answered, by kind',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      this.reset();
      for (const [kind, count] of Object.entries(service.stats().requests)) this.inc({ kind }, count);
    },
  });
}
