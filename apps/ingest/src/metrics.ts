import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** Prometheus metrics of the ingest server, on their own registry (never the global one). */
export class IngestMetrics {
  /** The registry served on `GET /metrics`. */
  readonly registry = new Registry();
  /** RTMP connections currently open. */
  readonly connections: Gauge;
  /** RTMP connections accepted since start. */
  readonly connectionsTotal: Counter;
  /** Streams currently being published. */
  readonly publishers: Gauge;
  /** Players currently attached. */
  readonly players: Gauge;
  /** Viewers attached, by protocol (`rtmp`, `http-flv`, `ws-flv`...). */
  readonly viewers: Gauge<'protocol'>;
  /** Bytes sent to HTTP-FLV and WS-FLV viewers, by protocol. */
  readonly viewerBytesOut: Counter<'protocol'>;
  /** Bytes received from RTMP peers. */
  readonly bytesIn: Counter;
  /** Bytes sent to RTMP peers. */
  readonly bytesOut: Counter;
  /** Media frames not delivered to a player (slow player, queue overflow). */
  readonly droppedFrames: Counter;
  /** Errors by stable code. */
  readonly errors: Counter<'code'>;
  /** Recordings finished. */
  readonly recordings: Counter;
  /** Called before each scrape, to fold live figures (connection byte counters) into the metrics. */
  beforeScrape: (() => void) | null = null;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.connections = new Gauge({ name: 'rtmp_connections', help: 'Open RTMP connections', registers });
    this.connectionsTotal = new Counter({
      name: 'rtmp_connections_total',
      help: 'RTMP connections accepted',
      registers,
    });
    this.publishers = new Gauge({ name: 'rtmp_publishers', help: 'Streams being published', registers });
    this.players = new Gauge({ name: 'rtmp_players', help: 'Players attached', registers });
    this.viewers = new Gauge({
      name: 'rtmp_viewers',
      help: 'Viewers attached, by protocol',
      labelNames: ['protocol'] as const,
      registers,
    });
    this.viewerBytesOut = new Counter({
      name: 'rtmp_viewer_bytes_out_total',
      help: 'Bytes sent to HTTP-FLV and WS-FLV viewers',
      labelNames: ['protocol'] as const,
      registers,
    });
    this.bytesIn = new Counter({ name: 'rtmp_bytes_in_total', help: 'Bytes received over RTMP', registers });
    this.bytesOut = new Counter({ name: 'rtmp_bytes_out_total', help: 'Bytes sent over RTMP', registers });
    this.droppedFrames = new Counter({
      name: 'rtmp_dropped_frames_total',
      help: 'Media frames dropped for players',
      registers,
    });
    this.errors = new Counter({
      name: 'rtmp_errors_total',
      help: 'Errors by code',
      labelNames: ['code'] as const,
      registers,
    });
    this.recordings = new Counter({
      name: 'rtmp_recordings_total',
      help: 'Recordings finalized',
      registers,
    });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition, after {@link IngestMetrics.beforeScrape}. */
  async scrape(): Promise<string> {
    this.beforeScrape?.();
    return this.registry.metrics();
  }

  /** Counts one error under its stable code (e.g. `ERR_RTMP_...`), or `unknown`. */
  error(code: string | undefined): void {
    this.errors.inc({ code: code ?? 'unknown' });
  }
}
