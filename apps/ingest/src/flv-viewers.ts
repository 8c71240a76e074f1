import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { FlvOutput, type FlvSink, type LiveRelay } from '@rtmp/server';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Authorizer } from './auth.js';
import { type HttpRoute, type RequestPath, rejectUpgrade, sendJson } from './http.js';
import type { Logger } from './logger.js';
import type { IngestMetrics } from './metrics.js';

/** What {@link FlvViewers} decides with. */
export interface FlvViewersOptions {
  readonly relay: LiveRelay;
  readonly auth: Authorizer;
  readonly log: Logger;
  readonly metrics: IngestMetrics;
  /** Milliseconds a viewer of a key that is not live waits for its publisher (`--play-wait`); 0: 404 at once. */
  readonly playWaitMs: number;
  /** Viewers per stream, every protocol together (`--max-players`). */
  readonly maxPlayersPerStream: number;
  /** Bytes a viewer may have queued before the relay skips it to the next keyframe (then drops it). */
  readonly maxQueuedBytes?: number;
  /** Told when an admitted viewer starts (`play`) and when it leaves (`play_done`): the webhooks of RTMP plays. */
  readonly onPlay?: (event: FlvPlayEvent) => void;
}

/** One start or end of an HTTP-FLV or WS-FLV viewer ({@link FlvViewersOptions.onPlay}). */
export interface FlvPlayEvent {
  readonly event: 'play' | 'play_done';
  readonly app: string;
  readonly key: string;
  readonly query: string;
  /** `http-flv` or `ws-flv`. */
  readonly protocol: string;
  readonly clientAddress: string | null;
  /** With `play_done`: bytes sent to the viewer. */
  readonly bytes?: number;
}

/** The stream a `/<app>/<key>.flv` path names. */
interface FlvTarget {
  readonly app: string;
  readonly key: string;
  /** The relay's key, `<app>/<key>` (streams are scoped by app). */
  readonly relayKey: string;
  readonly query: string;
}

/** A viewer waiting for the publisher of its key (`--play-wait`). */
interface Waiter {
  readonly ready: () => void;
}

/** ws options: viewers send nothing but control frames, so a small maxPayload bounds what a hostile one can make us buffer. */
const WS_OPTIONS = {
  noServer: true,
  maxPayload: 4 * 1024,
  perMessageDeflate: false,
  clientTracking: false,
} as const;
const SEND_OPTIONS = { binary: true, compress: false } as const;

/** Close code of a WebSocket viewer whose key did not go live within `--play-wait` (4000-4999: application). */
export const WS_CLOSE_NOT_LIVE = 4404;

/** A WebSocket as an {@link FlvSink}: one binary message per FLV tag (the shared tag, framed without a copy). */
export class WebSocketSink implements FlvSink {
  constructor(readonly socket: WebSocket) {}

  write(chunk: Uint8Array): void {
    this.socket.send(chunk, SEND_OPTIONS);
  }

  get writableLength(): number {
    return this.socket.bufferedAmount;
  }

  end(): void {
    this.socket.close(1000, 'stream ended');
  }

  destroy(): void {
    this.socket.terminate();
  }
}

/**
 * HTTP-FLV and WS-FLV viewers, with node-media-server's URL layout: `GET /<app>/<key>.flv` (chunked HTTP) and
 * `ws://host/<app>/<key>.flv` (binary messages). A viewer is admitted as an RTMP player is (a served app, the
 * per-stream player limit, the `--keys-url` play check), then becomes an {@link FlvOutput} subscriber of the relay:
 * the same fan-out, shared FLV tags and slow-viewer policy as RTMP players, counted per protocol in the relay's stats.
 */
export class FlvViewers implements HttpRoute {
  readonly #options: FlvViewersOptions;
  readonly #wss = new WebSocketServer(WS_OPTIONS);
  /** Viewers attached now, with the bytes already added to the metrics. */
  readonly #open = new Map<FlvOutput, number>();
  readonly #webSockets = new Set<WebSocket>();
  readonly #waiting = new Map<string, Set<Waiter>>();
  /** The wait of each viewer still waiting, to end it when the viewer leaves first. */
  readonly #waits = new Map<FlvOutput, { waiter: Waiter; timer: NodeJS.Timeout }>();
  /** The remote address of each viewer attached now (for its `play_done`). */
  readonly #remotes = new Map<FlvOutput, string | null>();

  constructor(options: FlvViewersOptions) {
    this.#options = options;
    options.relay.on('publish', (key) => {
      const waiters = this.#waiting.get(key);
      if (waiters === undefined) return;
      this.#waiting.delete(key);
      for (const waiter of waiters) waiter.ready();
    });
  }

  request(req: IncomingMessage, res: ServerResponse, path: RequestPath): boolean {
    const target = flvTarget(path);
    if (target === null) return false;
    this.#admit(req, target).then(
      (refusal) => {
        if (res.destroyed) return;
        if (refusal !== null) sendJson(res, refusal.status, { error: refusal.reason });
        else this.#serveHttp(req, res, target);
      },
      (e: unknown) => {
        this.#options.log.error({ err: e }, 'http-flv admission failed');
        res.destroy();
      },
    );
    return true;
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: RequestPath): boolean {
    const target = flvTarget(path);
    if (target === null) return false;
    this.#admit(req, target).then(
      (refusal) => {
        if (socket.destroyed) return;
        if (refusal !== null) {
          rejectUpgrade(socket, refusal.status, refusal.reason);
          return;
        }
        this.#wss.handleUpgrade(req, socket, head, (ws) => this.#serveWebSocket(req, ws, target));
      },
      (e: unknown) => {
        this.#options.log.error({ err: e }, 'ws-flv admission failed');
        socket.destroy();
      },
    );
    return true;
  }

  /** Closes every WebSocket viewer (HTTP ones go with the server's connections). */
  close(): void {
    for (const ws of this.#webSockets) ws.terminate();
  }

  /** Adds what the open viewers sent since the last call to the byte counter (before a scrape). */
  syncMetrics(): void {
    for (const output of this.#open.keys()) this.#countBytes(output, false);
  }

  /** Null when the viewer may play, else the HTTP status and reason. */
  async #admit(req: IncomingMessage, target: FlvTarget): Promise<{ status: number; reason: string } | null> {
    const { relay, auth, maxPlayersPerStream, playWaitMs, metrics } = this.#options;
    if (!auth.appAllowed(target.app)) return { status: 404, reason: `unknown app "${target.app}"` };
    if ((relay.stats(target.relayKey)?.players ?? 0) >= maxPlayersPerStream) {
      return { status: 503, reason: `too many players (max ${maxPlayersPerStream})` };
    }
    const decision = await auth.authorize({
      action: 'play',
      app: target.app,
      key: target.key,
      query: target.query,
      ip: req.socket.remoteAddress ?? '',
    });
    if (!decision.allowed) {
      metrics.error('INGEST_PLAY_REFUSED');
      return { status: 403, reason: decision.reason };
    }
    if (playWaitMs === 0 && !relay.isLive(target.relayKey)) {
      return { status: 404, reason: `${target.relayKey} is not live` };
    }
    return null;
  }

  #serveHttp(req: IncomingMessage, res: ServerResponse, target: FlvTarget): void {
    res.statusCode = 200;
    res.setHeader('content-type', 'video/x-flv');
    res.setHeader('cache-control', 'no-cache, no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // A write racing the viewer's disconnect must not become an unhandled 'error' event.
    res.on('error', (error) =>
      this.#options.log.debug({ err: error.message, stream: target.relayKey }, 'http-flv error'),
    );
    const output = new FlvOutput(res, { protocol: 'http-flv' });
    this.#attach(target, output, req.socket.remoteAddress, {
      // Until the first frame nothing is written: send the head now so the player knows it is connected.
      live: () => res.flushHeaders(),
      notLive: () => {
        if (!res.headersSent) sendJson(res, 404, { error: `${target.relayKey} did not go live in time` });
        else res.destroy();
      },
    });
    res.on('close', () => this.#detach(target, output));
  }

  #serveWebSocket(req: IncomingMessage, ws: WebSocket, target: FlvTarget): void {
    this.#webSockets.add(ws);
    // A malformed frame, an oversized message or a reset: ws closes the socket; the error is the viewer's alone.
    ws.on('error', (error) =>
      this.#options.log.debug({ err: error.message, stream: target.relayKey }, 'ws-flv error'),
    );
    const output = new FlvOutput(new WebSocketSink(ws), { protocol: 'ws-flv' });
    this.#attach(target, output, req.socket.remoteAddress, {
      live: () => undefined,
      notLive: () => ws.close(WS_CLOSE_NOT_LIVE, 'not live'),
    });
    ws.on('close', () => {
      this.#webSockets.delete(ws);
      this.#detach(target, output);
    });
  }

  /** Subscribes `output` to its key, and waits for the publisher (up to `--play-wait`) when the key is not live. */
  #attach(
    target: FlvTarget,
    output: FlvOutput,
    remote: string | undefined,
    on: { live: () => void; notLive: () => void },
  ): void {
    const { relay, log, playWaitMs, maxQueuedBytes } = this.#options;
    const key = target.relayKey;
    this.#open.set(output, 0);
    // Subscribing first raises the relay's `demand` for a key that is not live (a pull may start it).
    relay.subscribe(key, output, maxQueuedBytes === undefined ? {} : { maxQueuedBytes });
    log.info({ stream: key, protocol: output.protocol, remote, live: relay.isLive(key) }, 'play started');
    this.#remotes.set(output, remote ?? null);
    this.#notify('play', target, output);
    if (relay.isLive(key)) {
      on.live();
      return;
    }
    let waiters = this.#waiting.get(key);
    if (waiters === undefined) this.#waiting.set(key, (waiters = new Set()));
    const waiter: Waiter = {
      ready: () => {
        this.#stopWaiting(key, output);
        on.live();
      },
    };
    waiters.add(waiter);
    const timer = setTimeout(() => {
      this.#stopWaiting(key, output);
      relay.unsubscribe(key, output);
      on.notLive();
    }, playWaitMs);
    timer.unref();
    this.#waits.set(output, { waiter, timer });
  }

  /** Ends the wait of `output` (it went live, timed out or left). */
  #stopWaiting(key: string, output: FlvOutput): void {
    const wait = this.#waits.get(output);
    if (wait === undefined) return;
    this.#waits.delete(output);
    clearTimeout(wait.timer);
    const waiters = this.#waiting.get(key);
    if (waiters === undefined) return;
    waiters.delete(wait.waiter);
    if (waiters.size === 0) this.#waiting.delete(key);
  }

  #detach(target: FlvTarget, output: FlvOutput): void {
    if (!this.#open.has(output)) return;
    this.#stopWaiting(target.relayKey, output);
    this.#options.relay.unsubscribe(target.relayKey, output);
    this.#countBytes(output, true);
    this.#notify('play_done', target, output);
    this.#remotes.delete(output);
    this.#options.log.info(
      {
        stream: target.relayKey,
        protocol: output.protocol,
        bytes: output.bytesWritten,
        ended:
          output.ended?.kind === 'close' ? output.ended.error.code : (output.ended?.kind ?? 'viewer left'),
      },
      'play stopped',
    );
  }

  #notify(event: FlvPlayEvent['event'], target: FlvTarget, output: FlvOutput): void {
    const onPlay = this.#options.onPlay;
    if (onPlay === undefined) return;
    try {
      onPlay({
        event,
        app: target.app,
        key: target.key,
        query: target.query,
        protocol: output.protocol,
        clientAddress: this.#remotes.get(output) ?? null,
        ...(event === 'play_done' ? { bytes: output.bytesWritten } : {}),
      });
    } catch (e) {
      this.#options.log.error({ err: e }, 'play event listener failed');
    }
  }

  #countBytes(output: FlvOutput, final: boolean): void {
    const reported = this.#open.get(output);
    if (reported === undefined) return;
    const sent = output.bytesWritten;
    if (sent > reported)
      this.#options.metrics.viewerBytesOut.inc({ protocol: output.protocol }, sent - reported);
    if (final) this.#open.delete(output);
    else this.#open.set(output, sent);
  }
}

/** The stream of `/<app>/<key>.flv`, or null for any other path. */
export function flvTarget(path: RequestPath): FlvTarget | null {
  const [app, file, ...rest] = path.segments;
  if (app === undefined || file === undefined || rest.length > 0) return null;
  if (!file.endsWith('.flv') || file.length <= 4) return null;
  const key = file.slice(0, -4);
  return { app, key, relayKey: `${app}/${key}`, query: path.query };
}
