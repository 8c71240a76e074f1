import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PullInfo, PushInfo } from '@rtmp/restream';
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
  /** Viewers of every protocol (RTMP players, HTTP-FLV, WS-FLV...). */
  players: number;
  /** {@link StreamApiEntry.players} by protocol, e.g. `{ rtmp: 1, 'http-flv': 2 }` (protocols with none left out). */
  playersByProtocol?: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
  /** Media messages not delivered to players of this stream because they fell behind (relay's exact count). */
  droppedFrames: number;
  recording: string | null;
  /** Where the stream is pushed (`--push`, `--push-map`, control API), with each target's state. */
  pushes?: PushInfo[];
  /** Streams pulled here (`--pull`, a cluster's edge pulls): the pull's origin and state (the rest is probed too). */
  pull?: PullInfo;
}

/** What the HTTP server needs from the app. */
export interface HttpSource {
  streams(): StreamApiEntry[];
  /** False while shutting down: `/healthz` answers 503 so load balancers drain. */
  healthy(): boolean;
}

/** A request path, checked and split: what routes match on. */
export interface RequestPath {
  /** The decoded path, e.g. `/live/cam 1.flv`. */
  readonly path: string;
  /** Its decoded segments, without empty ones: `['live', 'cam 1.flv']`. */
  readonly segments: readonly string[];
  /** The query string after `?`, without it (raw, as `--keys-url` receives it). */
  readonly query: string;
}

/**
 * One route of {@link IngestHttpServer}: the dashboard, HTTP-FLV/WS-FLV, HLS, API additions. Routes are asked in the
 * order they were added; the first that answers true owns the request.
 */
export interface HttpRoute {
  /** Handles a GET/HEAD request and returns true, or returns false when it is not for this route. */
  request?(req: IncomingMessage, res: ServerResponse, path: RequestPath): boolean;
  /**
   * Takes an `Upgrade` request (WebSocket) and returns true, or false when it is not for this route. The socket is
   * the route's from then on: it answers or destroys it.
   */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, path: RequestPath): boolean;
  /** Called when the server closes: end what the route holds (WebSocket viewers, waits). */
  close?(): void;
}

/**
 * A hook that sees every request first, whatever its method (the control API: its POST/DELETE endpoints, and the
 * `--api-bind`/`--api-token` guard in front of `/api` and `/metrics`): it answers and resolves true, or resolves
 * false without touching the response, and the request goes on to the built-in endpoints and the routes.
 */
export type HttpIntercept = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** The limits of the HTTP listener, set deliberately rather than left to Node's defaults. */
export interface HttpLimits {
  /** Simultaneous connections (HTTP and WebSocket); more are closed at accept. */
  readonly maxConnections: number;
  /** Bytes of request line + headers (Node answers 431 past it). */
  readonly maxHeaderSize: number;
  /** Milliseconds a client has to send its whole request head (slowloris); 408 past it. */
  readonly headersTimeoutMs: number;
  /** Milliseconds a client has to send its whole request (the head and a body). */
  readonly requestTimeoutMs: number;
  /** Milliseconds an idle keep-alive connection is kept. */
  readonly keepAliveTimeoutMs: number;
}

/** The defaults of {@link HttpLimits}. */
export const HTTP_LIMITS: HttpLimits = {
  maxConnections: 10_000,
  maxHeaderSize: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 2_000,
};

/** Options of {@link IngestHttpServer}. */
export interface IngestHttpOptions {
  readonly limits?: Partial<HttpLimits>;
  /** `Access-Control-Allow-Origin` of every answer (`--cors-origin`). Default `*`. */
  readonly corsOrigin?: string;
}

/** Writes a whole small answer. */
export function sendText(res: ServerResponse, status: number, type: string, body: string | Uint8Array): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Answers JSON. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendText(res, status, 'application/json', `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Reads the path of a request target, or returns null for one no route should see: not an absolute path, bad
 * percent-encoding, a NUL or a backslash, or a `.`/`..` segment (plain or percent-encoded: `%2e%2e`).
 */
export function parseRequestPath(target: string | undefined): RequestPath | null {
  if (target === undefined || !target.startsWith('/')) return null;
  const q = target.indexOf('?');
  const raw = q < 0 ? target : target.slice(0, q);
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return null;
  }
  if (path.includes('\0') || path.includes('\\')) return null;
  const segments = path.split('/').filter((s) => s.length > 0);
  if (segments.some((s) => s === '.' || s === '..')) return null;
  return { path, segments, query: q < 0 ? '' : target.slice(q + 1) };
}

/**
 * The HTTP side of the app on `--http-port`: `GET /api/streams`, `GET /healthz`, `GET /metrics`, then the routes
 * added with {@link IngestHttpServer.route} (dashboard, HTTP-FLV and WS-FLV, HLS). Plain node:http, no framework;
 * every answer carries the CORS origin, and the listener's limits are {@link HttpLimits}.
 */
export class IngestHttpServer {
  readonly server: Server;
  readonly limits: HttpLimits;
  readonly corsOrigin: string;
  private readonly routes: HttpRoute[] = [];
  private readonly intercepts: HttpIntercept[] = [];

  constructor(
    private readonly source: HttpSource,
    private readonly metrics: IngestMetrics,
    private readonly log: Logger,
    options: IngestHttpOptions = {},
  ) {
    const limits = { ...HTTP_LIMITS, ...options.limits };
    this.limits = limits;
    this.corsOrigin = options.corsOrigin ?? '*';
    this.server = createServer(
      {
        maxHeaderSize: limits.maxHeaderSize,
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        // How often the two timeouts above are checked (Node's default, 30 s, lets a slowloris sit that long).
        connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
        keepAliveTimeout: limits.keepAliveTimeoutMs,
      },
      (req, res) => {
        const failed = (e: unknown) => {
          this.log.error({ err: e }, 'http handler failed');
          if (!res.headersSent) sendText(res, 500, 'text/plain', 'internal error\n');
          else res.destroy();
        };
        if (this.intercepts.length === 0) {
          try {
            this.handle(req, res);
          } catch (e) {
            failed(e);
          }
          return;
        }
        this.intercepted(req, res).catch(failed);
      },
    );
    this.server.maxConnections = limits.maxConnections;
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // The socket is ours from here: an error on it must not become an unhandled 'error' event.
      socket.on('error', () => socket.destroy());
      const path = parseRequestPath(req.url);
      if (path === null) {
        rejectUpgrade(socket, 400);
        return;
      }
      for (const route of this.routes) {
        if (route.upgrade?.(req, socket, head, path)) return;
      }
      rejectUpgrade(socket, 404);
    });
    this.server.on('drop', () => this.metrics.error('ERR_INGEST_HTTP_MAX_CONNECTIONS'));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
      answerClientError(err, socket),
    );
  }

  /** Adds a hook that sees every request before anything else (see {@link HttpIntercept}). */
  intercept(hook: HttpIntercept): this {
    this.intercepts.push(hook);
    return this;
  }

  private async intercepted(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const hook of this.intercepts) {
      if (await hook(req, res)) return;
    }
    this.handle(req, res);
  }

  /** Adds a route, asked after the built-in API and the routes added before it. */
  route(route: HttpRoute): this {
    this.routes.push(route);
    return this;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('access-control-allow-origin', this.corsOrigin);
    if (req.method === 'OPTIONS') {
      // CORS preflight: players only GET.
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, HEAD, OPTIONS',
        'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '*',
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD, OPTIONS');
      sendText(res, 405, 'text/plain', 'method not allowed\n');
      return;
    }
    const path = parseRequestPath(req.url);
    if (path === null) {
      sendJson(res, 400, { error: 'bad request path' });
      return;
    }
    switch (path.path) {
      case '/api/streams':
        sendJson(res, 200, { streams: this.source.streams() });
        return;
      case '/healthz': {
        const ok = this.source.healthy();
        sendText(
          res,
          ok ? 200 : 503,
          'application/json',
          `${JSON.stringify({ status: ok ? 'ok' : 'shutting down' })}\n`,
        );
        return;
      }
      case '/metrics':
        this.metrics.scrape().then(
          (text) => sendText(res, 200, this.metrics.registry.contentType, text),
          (e: unknown) => {
            this.log.error({ err: e }, 'metrics scrape failed');
            sendText(res, 500, 'text/plain', 'internal error\n');
          },
        );
        return;
    }
    for (const route of this.routes) {
      if (route.request?.(req, res, path)) return;
    }
    sendJson(res, 404, { error: 'not found', endpoints: ['/', '/api/streams', '/healthz', '/metrics'] });
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

  /** Stops accepting and closes every connection, WebSocket viewers included. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const route of this.routes) route.close?.();
      this.server.closeAllConnections();
    });
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  503: 'Service Unavailable',
};

/** How long a refused client may keep sending before its socket is destroyed (see {@link answerClientError}). */
const LINGER_MS = 2_000;
const answeredClients = new WeakSet<Duplex>();

/**
 * Answers a request Node's parser refused (headers too large, too slow, malformed) and closes the socket gently.
 *
 * Node's default writes the answer and destroys the socket at once. A client that is still sending (the endless
 * header case) then gets a TCP reset, and the reset can discard the 431 before the client reads it. Like nginx's
 * lingering close, this ends our side, reads and drops whatever the client still sends, and destroys the socket when
 * the client ends or after {@link LINGER_MS}.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (answeredClients.has(socket)) return;
  answeredClients.add(socket);
  const net = socket as Duplex & { bytesWritten?: number };
  if (err.code === 'ECONNRESET' || !socket.writable || (net.bytesWritten ?? 0) > 0) {
    socket.destroy();
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  // The parser is done with this socket: what still arrives is dropped, not parsed again.
  socket.removeAllListeners('data');
  socket.on('data', () => {});
  socket.on('error', () => socket.destroy());
  socket.once('end', () => socket.destroy());
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
  rejectUpgrade(socket, status);
}

/** Answers an `Upgrade` request with an HTTP error and closes its socket. */
export function rejectUpgrade(socket: Duplex, status: number, reason?: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${reason ?? STATUS_TEXT[status] ?? 'error'}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nconnection: close\r\ncontent-type: text/plain\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
