import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { StreamDemuxer } from '@rtmp/flv-demux';
import {
  type ClientSession,
  LiveRelay,
  type RtmpError,
  type RtmpHandler,
  RtmpServer,
  reject,
} from '@rtmp/server';
import { Authorizer } from './auth.js';
import type { IngestConfig, IngestReconnect } from './config.js';
import { type HttpSource, IngestHttpServer } from './http.js';
import { createLogger, type Logger } from './logger.js';
import { IngestMetrics } from './metrics.js';
import { DemuxProbe } from './probe.js';
import type { FlvTagType } from './recorder.js';
import { type LiveStream, StreamRegistry } from './streams.js';

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
  readonly log: Logger;
  /** Stops accepting, ends players, finalizes recordings, closes HTTP. Idempotent. */
  close(): Promise<void>;
}

/** Players of one key: (session, message stream id) pairs. */
type PlayerSet = Map<ClientSession, Set<number>>;

function countPlayers(set: PlayerSet | undefined): number {
  let n = 0;
  if (set !== undefined) for (const ids of set.values()) n += ids.size;
  return n;
}

/** Where a peer is, for logs and the keys callback. */
function ipOf(session: ClientSession): string {
  return session.connection.socket.remoteAddress ?? '';
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
  /** Players by relay key (`<app>/<key>`, from relay.keyFor). */
  const players = new Map<string, PlayerSet>();
  // Byte counters are read from the live connections: remember what was already added to the Prometheus counters.
  const reported = new Map<ClientSession, { in: number; out: number }>();
  let reportedDrops = 0;
  let healthy = true;

  const syncBytes = (session: ClientSession, final?: { bytesIn: number; bytesOut: number }) => {
    const r = reported.get(session) ?? { in: 0, out: 0 };
    const bytesIn = final?.bytesIn ?? session.connection.bytesIn;
    const bytesOut = final?.bytesOut ?? session.connection.bytesOut;
    if (bytesIn > r.in) metrics.bytesIn.inc(bytesIn - r.in);
    if (bytesOut > r.out) metrics.bytesOut.inc(bytesOut - r.out);
    r.in = bytesIn;
    r.out = bytesOut;
    if (final === undefined) reported.set(session, r);
    else reported.delete(session);
  };
  metrics.beforeScrape = () => {
    for (const s of reported.keys()) syncBytes(s);
    // The relay counts exactly what it did not deliver to players that fell behind.
    const dropped = relay.totals().droppedMessages;
    if (dropped > reportedDrops) metrics.droppedFrames.inc(dropped - reportedDrops);
    reportedDrops = dropped;
  };

  const handler = (_options: unknown, session: ClientSession): RtmpHandler => {
    const slog = log.child({ session: session.id, remote: session.remote });
    let app = '';
    const published = new Map<number, LiveStream>();
    /** Relay keys by play stream id. */
    const playing = new Map<number, string>();

    const endPublish = (streamId: number, reason: string) => {
      const stream = published.get(streamId);
      if (stream === undefined) return;
      published.delete(streamId);
      void registry.end(stream, reason);
    };
    const endPlay = (streamId: number) => {
      const key = playing.get(streamId);
      if (key === undefined) return;
      playing.delete(streamId);
      const set = players.get(key);
      const ids = set?.get(session);
      if (ids?.delete(streamId)) {
        metrics.players.dec();
        slog.info({ stream: key, players: countPlayers(set) }, 'play stopped');
      }
      if (ids?.size === 0) set!.delete(session);
      if (set?.size === 0) players.delete(key);
    };

    return {
      handleConnect: (info) => {
        app = info.app.replace(/\/+$/, '');
        if (!auth.appAllowed(app)) {
          slog.warn({ app }, 'connect refused: unknown app');
          metrics.error('INGEST_APP_REFUSED');
          return reject(`unknown app "${app}" (allowed: ${config.apps.join(', ')})`);
        }
        slog.debug({ app, tcUrl: info.tcUrl, flashVer: info.properties.flashVer }, 'connect');
        return undefined;
      },
      handlePublish: async (streamKey, info) => {
        const query = info.name.includes('?') ? info.name.slice(info.name.indexOf('?') + 1) : '';
        if (registry.all().length >= config.limits.maxPublishers) {
          slog.warn({ key: streamKey }, 'publish refused: too many publishers');
          return reject(`too many publishers (max ${config.limits.maxPublishers})`);
        }
        const decision = await auth.authorize({
          action: 'publish',
          app,
          key: streamKey,
          query,
          ip: ipOf(session),
        });
        if (!decision.allowed) {
          slog.warn({ app, key: streamKey, reason: decision.reason }, 'publish refused');
          metrics.error('INGEST_PUBLISH_REFUSED');
          return reject(decision.reason, 'NetStream.Publish.Unauthorized');
        }
        return undefined;
      },
      handlePlay: async (play) => {
        const query = play.rawName.includes('?') ? play.rawName.slice(play.rawName.indexOf('?') + 1) : '';
        if (
          countPlayers(players.get(relay.keyFor(session, play.name))) >= config.limits.maxPlayersPerStream
        ) {
          slog.warn({ key: play.name }, 'play refused: too many players');
          return reject(
            `too many players (max ${config.limits.maxPlayersPerStream})`,
            'NetStream.Play.Failed',
          );
        }
        const decision = await auth.authorize({
          action: 'play',
          app,
          key: play.name,
          query,
          ip: ipOf(session),
        });
        if (!decision.allowed) {
          slog.warn({ app, key: play.name, reason: decision.reason }, 'play refused');
          metrics.error('INGEST_PLAY_REFUSED');
          return reject(decision.reason, 'NetStream.Play.Failed');
        }
        return undefined;
      },
      handleMessage: (message, context) => {
        const stream = published.get(context.streamId);
        if (stream === undefined) return;
        const t = message.type;
        if (t !== 8 && t !== 9 && t !== 18) return;
        stream.media(t as FlvTagType, message.timestamp, message.payload);
      },
      handleUnpublish: (context) =>
        // On a dropped or crashed publisher the session unpublishes for it while closing.
        endPublish(context.streamId, session.closed ? 'publisher disconnected' : 'unpublish'),
      handleStop: (context) => endPlay(context.streamId),
      handleDisconnect: (error: RtmpError | undefined) => {
        for (const id of [...published.keys()])
          endPublish(id, error ? `publisher failed: ${error.code}` : 'disconnect');
        for (const id of [...playing.keys()]) endPlay(id);
        if (error) slog.warn({ code: error.code, err: error.message }, 'connection ended with an error');
        else slog.debug('disconnected');
      },
      // Publish/play acceptance is final only after the relay's own decision (BadName): learn it from the events.
      init: () => {
        session.on('publish', (info) => {
          const key = relay.keyFor(session, info.streamKey);
          const stream = registry.begin(app, info.streamKey, {
            session: session.id,
            remote: session.remote,
            type: info.type,
          });
          stream.io = {
            bytesIn: () => session.connection.bytesIn,
            bytesOut: () => {
              let n = 0;
              for (const p of players.get(key)?.keys() ?? []) n += p.connection.bytesOut;
              return n;
            },
            players: () => countPlayers(players.get(key)),
            droppedFrames: () => relay.stats(key)?.droppedMessages ?? 0,
          };
          published.set(info.streamId, stream);
        });
        session.on('play', (info) => {
          const key = relay.keyFor(session, info.name);
          playing.set(info.streamId, key);
          let set = players.get(key);
          if (set === undefined) players.set(key, (set = new Map()));
          let ids = set.get(session);
          if (ids === undefined) set.set(session, (ids = new Set()));
          ids.add(info.streamId);
          metrics.players.inc();
          slog.info(
            { app, key: info.name, live: relay.isLive(key), players: countPlayers(set) },
            'play started',
          );
        });
      },
    };
  };

  const onServer = (server: RtmpServer, label: string) => {
    server.on('connection', (session) => {
      metrics.connections.inc();
      metrics.connectionsTotal.inc();
      reported.set(session, { in: 0, out: 0 });
    });
    server.on('disconnect', (session, stats) => {
      metrics.connections.dec();
      syncBytes(session, stats);
      if (stats.error) metrics.error(stats.error.code);
    });
    server.on('connectionRefused', (error, remote) => {
      metrics.error(error.code);
      log.warn({ code: error.code, remote, listener: label }, error.message);
    });
    server.on('error', (error) => log.error({ err: error, listener: label }, 'listener error'));
  };
  // Relay keys are `<app>/<key>`: logged as `stream` so the `key` field keeps meaning the stream key alone.
  relay.on('slowPlayer', (key, session) => {
    metrics.error('ERR_RTMP_SLOW_CONSUMER');
    log.warn({ stream: key, session: session.id, remote: session.remote }, 'slow player disconnected');
  });
  relay.on('drop', (key, session, messages, bytes) => {
    log.warn(
      { stream: key, session: session.id, remote: session.remote, messages, bytes },
      'player fell behind: media dropped',
    );
  });

  const common = {
    handler: relay.handler(handler),
    host: config.host,
    // The app demuxes in its own probe (from handleMessage); the session need not demux a second time.
    demux: false,
    maxConnections: config.limits.maxConnections,
  };
  const rtmp = new RtmpServer({ ...common, port: config.port });
  onServer(rtmp, 'rtmp');
  let rtmps: RtmpServer | null = null;
  if (config.tls !== null) {
    rtmps = new RtmpServer({
      ...common,
      port: config.tls.port,
      tls: { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) },
    });
    onServer(rtmps, 'rtmps');
  }

  const source: HttpSource = { streams: () => registry.api(), healthy: () => healthy };
  const http = config.httpPort === 0 ? null : new IngestHttpServer(source, metrics, log);

  const rtmpPort = await rtmp.start();
  const rtmpsPort = rtmps === null ? null : await rtmps.start();
  const httpPort = http === null ? null : await http.listen(config.httpPort, config.host);
  registry.start();

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
    },
    'rtmp-ingest listening',
  );

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      healthy = false;
      if (config.reconnect.graceSec > 0) {
        await moveClients([rtmp, rtmps], config.reconnect, log);
      }
      log.info('shutting down: no new connections, closing players, finishing recordings');
      // Sessions close gracefully (Play.Stop to players); never let a stuck peer hold the exit.
      await Promise.race([
        Promise.all([rtmp.stop(), rtmps?.stop()]),
        new Promise((r) => setTimeout(r, 5000).unref()),
      ]);
      await registry.shutdown();
      await http?.close();
      log.info('stopped');
    })();
    return closing;
  };

  return { rtmpPort, rtmpsPort, httpPort, registry, metrics, log, close };
}

/**
 * Asks every client that follows E-RTMP reconnect requests to connect again (to `reconnect.tcUrl`, or to the URL it
 * used), then waits until they have all left or `graceSec` passed. The servers keep serving meanwhile: the spec has
 * a client stream on until its next keyframe and leave only once its new connection publishes.
 */
async function moveClients(
  servers: readonly (RtmpServer | null)[],
  reconnect: IngestReconnect,
  log: Logger,
): Promise<void> {
  const asked: ClientSession[] = [];
  for (const server of servers) {
    for (const session of server?.sessions ?? []) {
      const request = {
        description: 'The server is shutting down',
        ...(reconnect.tcUrl === null ? {} : { tcUrl: reconnect.tcUrl }),
      };
      if (session.canReconnect && session.requestReconnect(request)) asked.push(session);
    }
  }
  if (asked.length === 0) return;
  log.info(
    { clients: asked.length, graceSec: reconnect.graceSec, tcUrl: reconnect.tcUrl ?? undefined },
    'asked clients to reconnect',
  );
  const left = Promise.all(asked.map((s) => (s.closed ? undefined : once(s, 'close'))));
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), reconnect.graceSec * 1000);
  });
  const outcome = await Promise.race([left.then(() => 'left' as const), graceOver]);
  clearTimeout(timer);
  const remaining = asked.filter((s) => !s.closed).length;
  log.info({ moved: asked.length - remaining, remaining, outcome }, 'reconnect grace over');
}

/**
 * The CLI's main: starts the server and turns SIGINT/SIGTERM into a graceful stop with exit code 0 (a second
 * signal exits at once with 1).
 */
export async function runIngest(config: IngestConfig): Promise<void> {
  const log = createLogger({ level: config.logLevel });
  const server = await startIngest(config, log);
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    log.info({ signal }, 'signal received');
    server.close().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('uncaughtException', (e) => {
    log.fatal({ err: e }, 'uncaught exception: finishing recordings and exiting');
    server.registry.shutdown().finally(() => process.exit(1));
  });
}
