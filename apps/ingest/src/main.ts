import { readFileSync } from 'node:fs';
import { StreamDemuxer } from '@rtmp/flv-demux';
import { LiveRelay, RtmpServer } from '@rtmp/server';
import { Authorizer } from './auth.js';
import { connectCluster } from './cluster.js';
import { CLUSTER_VIEWER_WAIT_MS, clusterHttp, registerClusterMetrics } from './cluster-http.js';
import type { IngestConfig } from './config.js';
import { controlApi } from './control-api.js';
import { Dashboard } from './dashboard.js';
import { FlvViewers } from './flv-viewers.js';
import { appliedGcTuning } from './gc-tuning.js';
import { createHls } from './hls.js';
import { IngestHttpServer } from './http.js';
import { type Integrations, ruleUrl, startIntegrations } from './integrations.js';
import { createLogger, type Logger } from './logger.js';
import { ServerMetering } from './metering.js';
import { IngestMetrics } from './metrics.js';
import { PlayerTable } from './players.js';
import { DemuxProbe } from './probe.js';
import { HLS_PULL_WAIT_MS, pulledStreams, pullForHlsViewers } from './pull-http.js';
import { createSessionHandler } from './session-handler.js';
import { exitOnSignals, shutDown } from './shutdown.js';
import { StreamRegistry } from './streams.js';
import { realRoot, VOD_APP } from './vod/paths.js';
import { VodService } from './vod/service.js';

/** A started ingest server; {@link IngestServer.close} stops it gracefully. */
export interface IngestServer {
  /** Bound RTMP port. */
  readonly rtmpPort: number;
  /** Bound RTMPS port, or null without TLS. */
  readonly rtmpsPort: number | null;
  /** Bound HTTP port, or null when disabled. */
  readonly httpPort: number | null;
  readonly registry: StreamRegistry;
  readonly metrics: IngestMetrics;
  /** Pushes, pulls, webhooks, sessions and recordings on request (what the control API drives). */
  readonly integrations: Integrations;
  readonly log: Logger;
  /** Stops accepting, ends players, finalizes recordings, closes HTTP. Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds and starts the ingest server: RTMP (and RTMPS) with the live relay, statistics, recordings and the HTTP API.
 * Does not install signal handlers (see {@link runIngest}).
 */
export async function startIngest(
  config: IngestConfig,
  log: Logger = createLogger({ level: config.logLevel }),
): Promise<IngestServer> {
  const metrics = new IngestMetrics();
  const registry = new StreamRegistry(
    config,
    log,
    metrics,
    (stats, streamLog) =>
      new DemuxProbe(new StreamDemuxer(), stats, streamLog, (code) => metrics.error(code)),
  );
  const auth = new Authorizer({
    apps: config.apps,
    keys: config.keys,
    keysUrl: config.keysUrl,
    keysUrlTimeoutMs: config.limits.keysUrlTimeoutMs,
  });
  // Streams are scoped by app (`live/test` and `show/test` are two streams), as nginx-rtmp does.
  const relay = new LiveRelay({ scope: 'app' });
  const players = new PlayerTable();
  const metering = new ServerMetering(metrics, relay, log);
  let servers: RtmpServer[] = [];
  let rtmpPort = 0;
  let httpPort: number | null = null;
  // With --cluster: Redis first (the node does not start without it), its puller also serves --pull.
  const cluster =
    config.cluster === null
      ? null
      : await connectCluster({
          config,
          cluster: config.cluster,
          relay,
          log,
          servers: () => servers,
          publishers: () => registry.all().length,
          fallback: config.pull.rules.length === 0 ? undefined : (key) => ruleUrl(config.pull.rules, key),
          rtmpPort: () => rtmpPort,
          httpPort: () => httpPort,
        });
  const integrations = startIntegrations({
    config,
    relay,
    registry,
    metrics,
    log,
    puller: cluster?.relay.puller,
  });

  const inner = createSessionHandler({ config, log, auth, registry, metrics, relay, players });
  const sessions = cluster === null ? relay.handler(inner) : cluster.relay.handler(inner);
  const vod = await vodService(config, log);
  const common = {
    // Signed URLs (--sign-*) are checked first, for live and VOD streams alike.
    handler: integrations.signed(vod === null ? sessions : vod.handler(sessions)),
    host: config.host,
    // The app demuxes in its own probe (from handleMessage); the session need not demux a second time.
    demux: false,
    maxConnections: config.limits.maxConnections,
  };
  const rtmp = new RtmpServer({ ...common, port: config.port });
  metering.watch(rtmp, 'rtmp');
  integrations.sessions.watch(rtmp, 'rtmp');
  let rtmps: RtmpServer | null = null;
  if (config.tls !== null) {
    rtmps = new RtmpServer({
      ...common,
      port: config.tls.port,
      tls: { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) },
    });
    metering.watch(rtmps, 'rtmps');
    integrations.sessions.watch(rtmps, 'rtmps');
  }

  let closing: Promise<void> | null = null;
  // HTTP viewers are decided like RTMP players, plus the signed link that `integrations.signed` checks for RTMP.
  const viewerAuth =
    integrations.viewerSigning.signing === undefined
      ? auth
      : new Authorizer({
          apps: config.apps,
          keys: config.keys,
          keysUrl: config.keysUrl,
          keysUrlTimeoutMs: config.limits.keysUrlTimeoutMs,
          ...integrations.viewerSigning,
        });
  const hls = config.httpPort === 0 ? null : createHls(config.hls, relay, viewerAuth, metrics, log);
  const apiStreams = () => {
    const published = registry
      .api()
      .map((entry) => ({ ...entry, pushes: integrations.pushesOf(entry.app, entry.key) }));
    const { puller, recordings } = integrations;
    const local = new Set(published.map((e) => `${e.app}/${e.key}`));
    const pulled =
      puller === null ? [] : pulledStreams(puller, relay, local, (key) => registry.pulledStream(key));
    // A recording started through the control API is the stream's recording too.
    return [...published, ...pulled].map((entry) => ({
      ...entry,
      recording: entry.recording ?? recordings.pathOf(entry.app, entry.key),
    }));
  };
  const http =
    config.httpPort === 0
      ? null
      : new IngestHttpServer(
          // `/healthz` turns 503 as soon as shutdown starts, so that load balancers drain.
          {
            streams: apiStreams,
            healthy: () => closing === null,
          },
          metrics,
          log,
          { corsOrigin: config.corsOrigin, limits: { maxConnections: config.limits.maxHttpConnections } },
        );
  if (http !== null) {
    const viewers = new FlvViewers({
      relay,
      auth: viewerAuth,
      onPlay: ({ event, app, key, query, protocol, clientAddress, bytes }) =>
        integrations.notify({
          event,
          app,
          key,
          query,
          protocol,
          clientAddress,
          ...(bytes === undefined ? {} : { data: { bytes } }),
        }),
      log,
      metrics,
      // In a cluster a viewer of a stream published on another node waits for its pull here.
      playWaitMs: cluster === null ? config.playWaitMs : Math.max(config.playWaitMs, CLUSTER_VIEWER_WAIT_MS),
      maxPlayersPerStream: config.limits.maxPlayersPerStream,
    });
    const scrape = metrics.beforeScrape;
    metrics.beforeScrape = () => {
      scrape?.();
      viewers.syncMetrics();
    };
    const dashboard = await Dashboard.load(() => ({
      rtmpPort,
      apps: config.apps,
      hls: hls !== null && config.hls.mode !== 'off',
    }));
    // The API first (built in), then the dashboard's files, then /<app>/<key>.flv, then /<app>/<key>/index.m3u8...
    http.intercept(controlApi(config, integrations, log));
    if (cluster !== null) http.intercept(clusterHttp(cluster, config, apiStreams));
    if (integrations.puller !== null && config.pull.rules.length > 0) {
      const covered = (key: string) => ruleUrl(config.pull.rules, key) !== undefined;
      const wait = Math.max(config.playWaitMs, HLS_PULL_WAIT_MS);
      http.intercept(pullForHlsViewers(integrations.puller, relay, config.apps, covered, viewerAuth, wait));
    }
    http.route(dashboard).route(viewers);
    if (hls !== null) http.route({ request: (req, res) => hls.handle(req, res) });
  }

  if (cluster !== null) registerClusterMetrics(cluster, metrics);
  servers = rtmps === null ? [rtmp] : [rtmp, rtmps];
  rtmpPort = await rtmp.start();
  const rtmpsPort = rtmps === null ? null : await rtmps.start();
  httpPort = http === null ? null : await http.listen(config.httpPort, config.host);
  await cluster?.start();
  registry.start();
  logListening(config, log, { rtmpPort, rtmpsPort, httpPort });

  const drain = cluster === null ? null : { drain: () => cluster.node.drain(), planMoves: cluster.planMoves };
  const close = (): Promise<void> => {
    // HLS playlists end first (ENDLIST, held requests released), so that HTTP closes without waiting for them.
    closing ??= (hls?.close() ?? Promise.resolve())
      .then(() => shutDown({ servers, registry, http, reconnect: config.reconnect, log, cluster: drain }))
      .then(() => vod?.close())
      .then(() => integrations.close())
      .then(() => cluster?.close());
    return closing;
  };
  return { rtmpPort, rtmpsPort, httpPort, registry, metrics, integrations, log, close };
}

/** Video on demand from `--vod-dir`: plays are decided by `--keys-url` like live ones (the key is the file's path). */
async function vodService(config: IngestConfig, log: Logger): Promise<VodService | null> {
  if (config.vodDir === null) return null;
  const auth = new Authorizer({
    apps: [VOD_APP],
    keys: null,
    keysUrl: config.keysUrl,
    keysUrlTimeoutMs: config.limits.keysUrlTimeoutMs,
  });
  return new VodService({
    root: await realRoot(config.vodDir),
    log: log.child({ app: VOD_APP }),
    authorize: (request) => auth.authorize(request),
    maxPlayersPerFile: config.limits.maxPlayersPerStream,
  });
}

/** The start-up log line: where to publish, play and scrape, and what is accepted. */
function logListening(
  config: IngestConfig,
  log: Logger,
  ports: { rtmpPort: number; rtmpsPort: number | null; httpPort: number | null },
): void {
  const { rtmpPort, rtmpsPort, httpPort } = ports;
  const shown = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  log.info(
    {
      rtmp: `rtmp://${shown}:${rtmpPort}/${config.apps[0]}`,
      rtmps: rtmpsPort === null ? undefined : `rtmps://${shown}:${rtmpsPort}/${config.apps[0]}`,
      http: httpPort === null ? undefined : `http://${shown}:${httpPort}`,
      apps: config.apps,
      keys:
        config.keys === null
          ? config.keysUrl === null
            ? 'any'
            : 'keys-url'
          : `${config.keys.length} configured`,
      recording: config.record ? config.recordDir : false,
      vod: config.vodDir ?? undefined,
      hls:
        httpPort === null || config.hls.mode === 'off'
          ? undefined
          : `http://${shown}:${httpPort}/${config.apps[0]}/<key>/index.m3u8 (${config.hls.mode})`,
      push: config.push.rules.length + config.push.map.size || undefined,
      pull: config.pull.rules.length || undefined,
      webhooks: config.webhooks.urls.length || undefined,
      signedUrls: config.signing.publishSecret !== null || config.signing.playSecret !== null || undefined,
      controlApi: config.api.token !== null || undefined,
      // What the rtmp-ingest command told V8 (gc-tuning.ts); absent when an application embeds the app.
      gcTuning:
        appliedGcTuning.youngGenerationCapped || appliedGcTuning.markingRoomForPayloads
          ? appliedGcTuning
          : undefined,
    },
    'rtmp-ingest listening',
  );
}

/**
 * The CLI's main: starts the server and turns SIGINT/SIGTERM into a graceful stop with exit code 0 (a second
 * signal exits at once with 1).
 */
export async function runIngest(config: IngestConfig): Promise<void> {
  const log = createLogger({ level: config.logLevel });
  const server = await startIngest(config, log);
  exitOnSignals(server, log);
}
