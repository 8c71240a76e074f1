import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import {
  BufferBudget,
  CONNECTION_DEFAULTS as defaults,
  type EnhancedRtmpCapabilities,
  RtmpConnection,
  RtmpError,
  toRtmpError,
} from '@rtmp/connection';
import { checkCapabilities } from './enhanced.js';
import type { PlayInfo, PublishInfo, RtmpHandlerFactory, StreamContext } from './handler.js';
import { type ClientSession, createSession, failSession, shutdownSession } from './session.js';

// node:tls is loaded only by a server that serves RTMPS: loading it costs about 1 MB of RSS on Node 20 and 4 MB on
// Node 24 (OpenSSL's TLS state), paid for nothing by a plain RTMP server.
let tlsModule: typeof tls | undefined;
async function loadTls(): Promise<void> {
  tlsModule ??= await import('node:tls');
}

/** Options of {@link RtmpServer}. Every limit has a safe default. */
export interface RtmpServerOptions<O = unknown> {
  /** Builds the handler of each connection. Required. */
  handler: RtmpHandlerFactory<O>;
  /** Passed to `handler` for every connection. */
  handlerOptions?: O;
  /** TCP port; 0 picks a free one. Default 1935. */
  port?: number;
  /** Address to bind. Default: all interfaces. */
  host?: string;
  /** Demux published media into codec events and samples (default true); raw tag bodies when false. */
  demux?: boolean;
  /** RTMPS: serve TLS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer } & tls.TlsOptions;
  /** Handshake must complete within this many ms. Default 10 000. */
  handshakeTimeout?: number;
  /** A connection that sends nothing for this long is closed (ms). Default 45 000; 0 disables. */
  idleTimeout?: number;
  /** Ping a silent peer after this many ms so live but quiet players stay alive. Default 15 000; 0 disables. */
  pingInterval?: number;
  /** Most simultaneous connections; further ones are closed at once. Default 1 000. */
  maxConnections?: number;
  /** Largest message a peer may send, in bytes. Default 16 MiB - 1 (the protocol's limit). */
  maxMessageSize?: number;
  /** Most chunk stream ids one peer may use. Default 64. */
  maxChunkStreams?: number;
  /**
   * Most bytes one connection may hold for incomplete messages (the copies of their received chunks; over TLS, the
   * socket reads pinned by partial payloads); above it the connection is closed with `ERR_RTMP_BUFFER_LIMIT`. Default `maxMessageSize` + 1 MiB, so a message of
   * the largest allowed size (a 4K keyframe of several MB) always gets through.
   */
  maxBufferedBytes?: number;
  /**
   * Most bytes all connections together may hold for incomplete messages. When exceeded, the connection holding
   * the most is closed with `ERR_RTMP_MEMORY_BUDGET`. Default 256 MiB (about 15 incomplete messages of the
   * largest size at once; legitimate publishers hold one keyframe each, briefly).
   */
  maxTotalBufferedBytes?: number;
  /** Most message streams (createStream) per connection. Default 16. */
  maxStreamsPerConnection?: number;
  /** Chunk size the server announces and writes with. Default 4096. */
  chunkSize?: number;
  /** Window Ack Size announced to peers. Default 2 500 000. */
  windowAckSize?: number;
  /** Set Peer Bandwidth announced to peers. Default 2 500 000. */
  peerBandwidth?: number;
  /**
   * What the server states of Enhanced RTMP in its `_result` to a client whose `connect` announced E-RTMP (a client
   * that announced nothing gets the legacy answer). Default {@link SERVER_CAPABILITIES}: forwards every codec, every
   * known FourCC listed, `capsEx` Reconnect | Multitrack | ModEx | TimestampNanoOffset. `false` states nothing. A
   * handler narrows it per connection with `acceptConnect`.
   */
  enhancedRtmp?: EnhancedRtmpCapabilities | false;
}

/** Events of {@link RtmpServer}, for logging and metrics. */
export interface RtmpServerEvents {
  /** The server is listening. */
  listening: [port: number];
  /** A TCP (or TLS) connection was accepted and a session created. */
  connection: [session: ClientSession];
  /** A connection was refused before a session existed (max connections). */
  connectionRefused: [error: RtmpError, remote: string];
  /**
   * A session ended with an error (once per session, with the error it ended with). Also, after that, each handler
   * callback or listener that threw once its session had ended, as `ERR_RTMP_HANDLER_FAILED` (cause: the exception):
   * there was nothing left to end, and a failure is never dropped.
   */
  sessionError: [session: ClientSession, error: RtmpError];
  /** A session was closed; `bytesIn`/`bytesOut` are its totals. */
  disconnect: [
    session: ClientSession,
    stats: { bytesIn: number; bytesOut: number; error: RtmpError | undefined },
  ];
  publish: [session: ClientSession, info: PublishInfo];
  unpublish: [session: ClientSession, context: StreamContext];
  play: [session: ClientSession, info: PlayInfo];
  stop: [session: ClientSession, context: StreamContext];
  /**
   * An error of the listening socket itself; or `ERR_RTMP_HANDLER_FAILED` when a listener of `sessionError` or
   * `connectionRefused` threw (no session is left to end). Without a listener, such a listener failure becomes a
   * process warning (`process.emitWarning`): it is printed, never thrown at the server.
   */
  error: [error: Error];
}

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RtmpError(
      'ERR_RTMP_INVALID_OPTION',
      `option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`,
    );
  }
  return value;
}

function integer(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RtmpError('ERR_RTMP_INVALID_OPTION', `option ${name} must be a positive integer`);
  }
  return value;
}

/**
 * An RTMP (or RTMPS) server: one {@link ClientSession} and one handler instance per connection.
 *
 * @example
 * ```ts
 * const server = new RtmpServer({ port: 1935, handler: () => ({ handleVideoData: (e) => console.log(e.kind) }) });
 * await server.start();
 * ```
 */
export class RtmpServer<O = unknown> extends EventEmitter<RtmpServerEvents> {
  readonly #options: RtmpServerOptions<O>;
  readonly #settings: {
    port: number;
    demux: boolean;
    handshakeTimeout: number;
    idleTimeout: number;
    pingInterval: number;
    maxConnections: number;
    maxMessageSize: number;
    maxChunkStreams: number;
    maxBufferedBytes: number | undefined;
    maxStreams: number;
    chunkSize: number;
    windowAckSize: number;
    peerBandwidth: number;
    enhancedRtmp: EnhancedRtmpCapabilities | false;
  };
  readonly #sessions = new Set<ClientSession>();
  readonly #budget: BufferBudget;
  #server: net.Server | undefined;
  #port = 0;
  #stopping: Promise<void> | undefined;

  constructor(options: RtmpServerOptions<O>) {
    super();
    if (typeof options?.handler !== 'function') {
      throw new RtmpError('ERR_RTMP_INVALID_OPTION', 'option handler (a factory function) is required');
    }
    this.#options = options;
    const chunkSize = positive('chunkSize', options.chunkSize, 4096);
    if (!Number.isInteger(chunkSize) || chunkSize > 0x7fffffff) {
      throw new RtmpError('ERR_RTMP_INVALID_OPTION', 'option chunkSize must be an integer in 1..2^31-1');
    }
    const port = positive('port', options.port, 1935, true);
    if (!Number.isInteger(port) || port > 65535) {
      throw new RtmpError('ERR_RTMP_INVALID_OPTION', 'option port must be an integer in 0..65535');
    }
    this.#settings = {
      port,
      demux: options.demux ?? true,
      handshakeTimeout: positive(
        'handshakeTimeout',
        options.handshakeTimeout,
        defaults.handshakeTimeout,
        true,
      ),
      idleTimeout: positive('idleTimeout', options.idleTimeout, defaults.idleTimeout, true),
      pingInterval: positive('pingInterval', options.pingInterval, defaults.pingInterval, true),
      maxConnections: positive('maxConnections', options.maxConnections, 1000),
      maxMessageSize: positive('maxMessageSize', options.maxMessageSize, defaults.maxMessageSize),
      maxChunkStreams: positive('maxChunkStreams', options.maxChunkStreams, defaults.maxChunkStreams),
      maxBufferedBytes:
        options.maxBufferedBytes === undefined
          ? undefined
          : integer('maxBufferedBytes', options.maxBufferedBytes),
      maxStreams: positive('maxStreamsPerConnection', options.maxStreamsPerConnection, 16),
      chunkSize,
      windowAckSize: positive('windowAckSize', options.windowAckSize, 2_500_000),
      peerBandwidth: positive('peerBandwidth', options.peerBandwidth, 2_500_000),
      enhancedRtmp: checkCapabilities(options.enhancedRtmp),
    };
    this.#budget = new BufferBudget(
      integer('maxTotalBufferedBytes', options.maxTotalBufferedBytes ?? 256 * 1024 * 1024),
    );
  }

  /** Bytes all connections currently hold for incomplete messages (what `maxTotalBufferedBytes` bounds). */
  get bufferedBytes(): number {
    return this.#budget.total;
  }

  /** Starts listening; resolves with the bound port (useful with `port: 0`). */
  start(): Promise<number> {
    if (this.#server) return Promise.resolve(this.#port);
    if (this.#options.tls && tlsModule === undefined) return loadTls().then(() => this.start());
    const onSocket = (socket: net.Socket) => this.#accept(socket);
    const server = this.#options.tls
      ? tlsModule!.createServer(
          // A client that never finishes its TLS handshake must not hold a socket for Node's default 120 s.
          { handshakeTimeout: this.#settings.handshakeTimeout || 120_000, ...this.#options.tls },
          onSocket,
        )
      : net.createServer({ noDelay: true }, onSocket);
    this.#server = server;
    server.on('error', (error) => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
    });
    if (this.#options.tls) {
      // A failed TLS handshake never reaches the RTMP layer: close that socket only.
      server.on('tlsClientError', (_error, socket) => socket.destroy());
    }
    return new Promise<number>((resolve, reject) => {
      const fail = (error: Error) => {
        this.#server = undefined;
        reject(error);
      };
      server.once('error', fail);
      const listenOptions: net.ListenOptions = { port: this.#settings.port };
      if (this.#options.host !== undefined) listenOptions.host = this.#options.host;
      server.listen(listenOptions, () => {
        server.off('error', fail);
        const address = server.address();
        this.#port = typeof address === 'object' && address ? address.port : this.#settings.port;
        this.emit('listening', this.#port);
        resolve(this.#port);
      });
    });
  }

  /** The bound port (0 before {@link start} resolved). */
  port(): number {
    return this.#port;
  }

  /** Live sessions. */
  get sessions(): ReadonlySet<ClientSession> {
    return this.#sessions;
  }

  /**
   * Graceful stop: stops accepting, tells players their stream ended (StreamEOF, UnpublishNotify, Play.Stop),
   * closes every session, and resolves when all are closed.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const server = this.#server;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    await Promise.all([...this.#sessions].map(shutdownSession));
    await closed;
    this.#server = undefined;
  }

  /** Same as {@link stop}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #accept(socket: net.Socket): void {
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    // A socket error before the session exists must not become an uncaught exception.
    socket.on('error', () => {});
    if (this.#stopping || this.#sessions.size >= this.#settings.maxConnections) {
      const error = this.#stopping
        ? new RtmpError('ERR_RTMP_SERVER_STOPPED', 'server is stopping')
        : new RtmpError(
            'ERR_RTMP_MAX_CONNECTIONS',
            `too many connections (${this.#settings.maxConnections})`,
          );
      socket.destroy();
      try {
        this.emit('connectionRefused', error, remote);
      } catch (thrown) {
        this.#listenerFailed('connectionRefused', thrown);
      }
      return;
    }
    const s = this.#settings;
    const connection = new RtmpConnection(socket, {
      role: 'server',
      handshakeTimeout: s.handshakeTimeout,
      idleTimeout: s.idleTimeout,
      pingInterval: s.pingInterval,
      maxMessageSize: s.maxMessageSize,
      maxChunkStreams: s.maxChunkStreams,
      ...(s.maxBufferedBytes === undefined ? {} : { maxBufferedBytes: s.maxBufferedBytes }),
      bufferBudget: this.#budget,
      // Accepted before its first read: every plain TCP connection reads into the process's one read buffer.
      sharedReadBuffer: true,
    });
    const session = createSession(
      connection,
      this.#options.handler as RtmpHandlerFactory<unknown>,
      this.#options.handlerOptions,
      {
        demux: s.demux,
        chunkSize: s.chunkSize,
        windowAckSize: s.windowAckSize,
        peerBandwidth: s.peerBandwidth,
        maxStreams: s.maxStreams,
        enhancedRtmp: s.enhancedRtmp,
      },
      { onError: (failed, error) => this.#sessionError(failed, error) },
    );
    this.#sessions.add(session);
    session.on('publish', (info) => this.#emitFor(session, 'publish', session, info));
    session.on('unpublish', (context) => this.#emitFor(session, 'unpublish', session, context));
    session.on('play', (info) => this.#emitFor(session, 'play', session, info));
    session.on('stop', (context) => this.#emitFor(session, 'stop', session, context));
    session.on('close', (error) => {
      this.#sessions.delete(session);
      this.#emitFor(session, 'disconnect', session, {
        bytesIn: connection.bytesIn,
        bytesOut: connection.bytesOut,
        error,
      });
    });
    this.#emitFor(session, 'connection', session);
  }

  /**
   * Emits an event about `session`. A listener that throws ends that session with `ERR_RTMP_HANDLER_FAILED` (or,
   * once it has ended, is reported as its `sessionError`); it never takes the process down, and the session's own
   * listeners still run.
   */
  #emitFor<K extends keyof RtmpServerEvents>(
    session: ClientSession,
    event: K,
    ...args: RtmpServerEvents[K]
  ): void {
    try {
      (this.emit as (event: K, ...args: RtmpServerEvents[K]) => boolean)(event, ...args);
    } catch (thrown) {
      failSession(session, toRtmpError(thrown, 'ERR_RTMP_HANDLER_FAILED', `listener of '${event}' threw`));
    }
  }

  #sessionError(session: ClientSession, error: RtmpError): void {
    try {
      this.emit('sessionError', session, error);
    } catch (thrown) {
      this.#listenerFailed('sessionError', thrown);
    }
  }

  /** A listener threw where no session is left to end: the `error` event, else a process warning. */
  #listenerFailed(event: keyof RtmpServerEvents, thrown: unknown): void {
    const failure = toRtmpError(thrown, 'ERR_RTMP_HANDLER_FAILED', `listener of '${event}' threw`);
    if (this.listenerCount('error') === 0) {
      process.emitWarning(failure);
      return;
    }
    try {
      this.emit('error', failure);
    } catch (again) {
      process.emitWarning(toRtmpError(again, 'ERR_RTMP_HANDLER_FAILED', "listener of 'error' threw"));
    }
  }
}
