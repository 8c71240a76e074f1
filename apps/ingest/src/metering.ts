import { type ClientSession, isRtmpPlayer, type LiveRelay, type RtmpServer } from '@rtmp/server';
import type { Logger } from './logger.js';
import type { IngestMetrics } from './metrics.js';

/** Bytes of one connection already added to the Prometheus byte counters. */
interface Reported {
  in: number;
  out: number;
}

/**
 * Feeds {@link IngestMetrics} and the log from the RTMP listeners and the relay: open and accepted connections,
 * errors by code, slow players, and at each scrape the bytes the open connections moved since the last scrape and
 * the media the relay dropped.
 */
export class ServerMetering {
  // Byte counters are read from the live connections: remember what was already added to the Prometheus counters.
  private readonly reported = new Map<ClientSession, Reported>();
  private reportedDrops = 0;

  constructor(
    private readonly metrics: IngestMetrics,
    private readonly relay: LiveRelay,
    private readonly log: Logger,
  ) {
    metrics.beforeScrape = () => this.sync();
    // Relay keys are `<app>/<key>`: logged as `stream` so the `key` field keeps meaning the stream key alone.
    relay.on('slowPlayer', (key, session) => {
      metrics.error('ERR_RTMP_SLOW_CONSUMER');
      log.warn({ stream: key, session: session.id, remote: session.remote }, 'slow player disconnected');
    });
    // Viewers of every protocol (RTMP players included), as the relay counts them.
    relay.on('subscribe', (_key, subscriber) => metrics.viewers.inc({ protocol: subscriber.protocol }));
    relay.on('unsubscribe', (_key, subscriber) => metrics.viewers.dec({ protocol: subscriber.protocol }));
    relay.on('slowSubscriber', (key, subscriber) => {
      // RTMP players are reported by slowPlayer above.
      if (isRtmpPlayer(subscriber)) return;
      metrics.error('ERR_RTMP_SLOW_CONSUMER');
      log.warn({ stream: key, protocol: subscriber.protocol }, 'slow viewer disconnected');
    });
    relay.on('subscriberDrop', (key, subscriber, messages, bytes) => {
      if (isRtmpPlayer(subscriber)) return;
      log.warn(
        { stream: key, protocol: subscriber.protocol, messages, bytes },
        'viewer fell behind: media dropped',
      );
    });
    relay.on('drop', (key, session, messages, bytes) => {
      log.warn(
        { stream: key, session: session.id, remote: session.remote, messages, bytes },
        'player fell behind: media dropped',
      );
    });
  }

  /** Counts the connections of `server` and logs its refusals and errors under `label` (`rtmp`, `rtmps`). */
  watch(server: RtmpServer, label: string): void {
    const { metrics, log } = this;
    server.on('connection', (session) => {
      metrics.connections.inc();
      metrics.connectionsTotal.inc();
      this.reported.set(session, { in: 0, out: 0 });
    });
    server.on('disconnect', (session, stats) => {
      metrics.connections.dec();
      this.syncBytes(session, stats);
      if (stats.error) metrics.error(stats.error.code);
    });
    server.on('connectionRefused', (error, remote) => {
      metrics.error(error.code);
      log.warn({ code: error.code, remote, listener: label }, error.message);
    });
    server.on('error', (error) => log.error({ err: error, listener: label }, 'listener error'));
  }

  /** Folds the open connections' byte counters and the relay's drops into the metrics. */
  private sync(): void {
    for (const session of this.reported.keys()) this.syncBytes(session);
    // The relay counts exactly what it did not deliver to players that fell behind.
    const dropped = this.relay.totals().droppedMessages;
    if (dropped > this.reportedDrops) this.metrics.droppedFrames.inc(dropped - this.reportedDrops);
    this.reportedDrops = dropped;
  }

  /** Adds what `session` moved since the last call; `final` (its closing figures) also forgets it. */
  private syncBytes(session: ClientSession, final?: { bytesIn: number; bytesOut: number }): void {
    const reported = this.reported.get(session) ?? { in: 0, out: 0 };
    const bytesIn = final?.bytesIn ?? session.connection.bytesIn;
    const bytesOut = final?.bytesOut ?? session.connection.bytesOut;
    if (bytesIn > reported.in) this.metrics.bytesIn.inc(bytesIn - reported.in);
    if (bytesOut > reported.out) this.metrics.bytesOut.inc(bytesOut - reported.out);
    reported.in = bytesIn;
    reported.out = bytesOut;
    if (final === undefined) this.reported.set(session, reported);
    else this.reported.delete(session);
  }
}
