import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import type { IngestMetrics } from './metrics.js';
import type { TrackSnapshot } from './stats.js';

/** One entry of `GET /api/streams`. */
export interface StreamApiEntry {
  app: string;
  key: string;
  /** RFC 6381 codec strings, video first. */
  codecs: string[];
  video: {
    codec: string | null;
    width: number | null;
    height: number | null;
    fps: number | null;
    keyframeIntervalMs: number | null;
    frames: number;
  };
  audio: { codec: string | null; sampleRate: number | null; channels: number | null; frames: number };
  /** Every track that announced a codec, video first (track 0's entries repeat `video` and `audio`). */
  tracks: TrackSnapshot[];
  /** `"<width>x<height>"` or null before the video configuration arrives. */
  resolution: string | null;
  fps: number | null;
  /** Bits per second over the last statistics window. */
  bitrate: number;
  uptimeSec: number;
  players: number;
  bytesIn: number;
  bytesOut: number;
  /** Media messages not delivered to players of this stream because they fell behind (relay's exact count). */
  droppedFrames: number;
  recording: string | null;
}

/** What the HTTP server needs from the app. */
export interface HttpSource {
  streams(): StreamApiEntry[];
  /** False while shutting down: `/healthz` answers 503 so load balancers drain. */
  healthy(): boolean;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * The HTTP side of the app: `GET /api/streams`, `GET /healthz`, `GET /metrics`. Plain node:http, no framework.
 */
export class IngestHttpServer {
  readonly server: Server;

  constructor(
    private readonly source: HttpSource,
    private readonly metrics: IngestMetrics,
    private readonly log: Logger,
  ) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        this.log.error({ err: e }, 'http handler failed');
        if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
        else res.destroy();
      });
    });
    // Idle keep-alive sockets must not hold shutdown.
    this.server.keepAliveTimeout = 2000;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'text/plain', 'method not allowed\n');
      return;
    }
    switch (path) {
      case '/api/streams':
        send(
          res,
          200,
          'application/json',
          `${JSON.stringify({ streams: this.source.streams() }, null, 2)}\n`,
        );
        return;
      case '/healthz': {
        const ok = this.source.healthy();
        send(
          res,
          ok ? 200 : 503,
          'application/json',
          `${JSON.stringify({ status: ok ? 'ok' : 'shutting down' })}\n`,
        );
        return;
      }
      case '/metrics':
        send(res, 200, this.metrics.registry.contentType, await this.metrics.scrape());
        return;
      default:
        send(
          res,
          404,
          'application/json',
          `${JSON.stringify({ error: 'not found', endpoints: ['/api/streams', '/healthz', '/metrics'] })}\n`,
        );
    }
  }

  /** Starts listening; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting and closes every connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
