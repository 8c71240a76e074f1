import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import { type AmfValue, createAmfObject } from '@rtmp/amf';
import type { ControlMessage, RtmpMessage } from '@rtmp/chunk';
import {
  CONNECTION_DEFAULTS,
  type RtmpCommand,
  RtmpConnection,
  type RtmpDataMessage,
  type RtmpStatus,
} from '@rtmp/connection';
import {
  RtmpClientError,
  type RtmpClientErrorCode,
  type RtmpClientStep,
  type RtmpServerStatus,
  toClientError,
} from './errors.js';
import { type PlayOptions, RtmpPlayer } from './player.js';
import { type PublishOptions, type PublishType, RtmpPublisher } from './publisher.js';
import { parseRtmpUrl, type RtmpUrl } from './url.js';
import { statusOf } from './util.js';

/** Per-step controls accepted by every asynchronous method of the client. */
export interface StepOptions {
  /**
   * Aborts the step. The step is withdrawn and the connection stays usable (a pending call is forgotten, a
   * publish or play gets deleteStream), except during connect, whose connection is destroyed.
   */
  signal?: AbortSignal;
  /** Milliseconds allowed for this step; defaults to the client's `timeout`. 0 disables. */
  timeout?: number;
}

/** Options of {@link RtmpClient}. */
export interface RtmpClientOptions {
  /** `rtmp[s]://host[:port]/app[/instance]/stream[?query]`; the parts below override what it says. */
  url?: string;
  /** Server host (required without `url`). */
  host?: string;
  /** Server port. Default 1935, or 443 with `secure`. */
  port?: number;
  /** Use TLS (RTMPS). Default: true for `rtmps://` URLs. */
  secure?: boolean;
  /** Application name sent in `connect` (default: from the URL). */
  app?: string;
  /** Stream name used by {@link RtmpClient.publish}/{@link RtmpClient.play} (default: from the URL, query kept). */
  streamName?: string;
  /** `tcUrl` sent in `connect`. Default: built from the URL (`rtmp://host[:port]/app`). */
  tcUrl?: string;
  /** `flashVer` sent in `connect`. Default `FMLE/3.0 (compatible; rtmp-stack)`. */
  flashVer?: string;
  /** Use the digest (FP9) handshake. Default true; false sends the simple handshake. */
  digest?: boolean;
  /** E-RTMP: the FourCCs this client can handle, sent as `fourCcList`. */
  fourCcList?: readonly string[];
  /** E-RTMP: `capsEx` bits (Reconnect 1, Multitrack 2, ModEx 4, TimestampNanoOffset 8). */
  capsEx?: number;
  /** E-RTMP: `videoFourCcInfoMap` (FourCC -> CanDecode 1 | CanEncode 2 | CanForward 4). */
  videoFourCcInfoMap?: Readonly<Record<string, number>>;
  /** E-RTMP: `audioFourCcInfoMap`. */
  audioFourCcInfoMap?: Readonly<Record<string, number>>;
  /** More `connect` command-object properties; they override the defaults. */
  properties?: Readonly<Record<string, AmfValue>>;
  /** Values appended after the command object of `connect` (some servers read credentials there). */
  connectArgs?: readonly AmfValue[];
  /** TLS options for RTMPS (`ca`, `rejectUnauthorized`, `servername`...). */
  tls?: tls.ConnectionOptions;
  /** Default per-step timeout (ms). Default 10 000; 0 disables. */
  timeout?: number;
  /** Chunk size this client writes with (announced right after the handshake). Default 4096. */
  chunkSize?: number;
  /**
   * Close the connection when nothing arrives for this long (ms); pings keep a live server talking. Default 45 000,
   * as in every layer (`CONNECTION_DEFAULTS`); 0 disables.
   */
  idleTimeout?: number;
  /** Ping the server after this many ms of silence. Default 15 000; 0 disables. */
  pingInterval?: number;
  /** Largest message accepted from the server (bytes). Default 16 MiB - 1. */
  maxMessageSize?: number;
}

/** What {@link RtmpClient.connect} resolves with. */
export interface RtmpConnectResult {
  /** `simple` or `digest`: the handshake the server answered with. */
  handshakeKind: string;
  /** The command object of the server's `_result` (fmsVer, capabilities, E-RTMP echoes...). */
  properties: AmfValue;
  /** The info object (`NetConnection.Connect.Success`...). */
  status: RtmpServerStatus;
}

/**
 * An E-RTMP Reconnect Request from the server (`onStatus` code `NetConnection.Connect.ReconnectRequest`): it asks this
 * client to connect again, after its next keyframe when publishing, and then to leave this connection.
 */
export interface RtmpReconnectRequest {
  /** Where to connect: the server's `tcUrl` resolved against this connection's, or this connection's own. */
  tcUrl: string;
  /** `tcUrl` plus this client's stream name (query kept): the `url` for a new {@link RtmpClient}. */
  url: string;
  /** The server's reason, '' when it gave none. */
  description: string;
  /** The status as received. */
  status: RtmpStatus;
}

/** Events of {@link RtmpClient}. */
export interface RtmpClientEvents {
  /** Every `onStatus`, whichever stream it is about. */
  status: [status: RtmpStatus];
  /**
   * The server asks for a reconnect (E-RTMP). Nothing happens by itself: the connection stays as it is. A request
   * whose `tcUrl` is not an `rtmp://` or `rtmps://` URL once resolved is reported by `status` only. Announce that
   * you follow these with `capsEx: 1` (Reconnect).
   */
  reconnectRequest: [request: RtmpReconnectRequest];
  /** A command from the server that is not a reply (e.g. `onBWDone`, `onFCPublish`). */
  command: [command: RtmpCommand];
  /** The connection closed; `error` is undefined for a clean close. The client may connect again. */
  close: [error: RtmpClientError | undefined];
}

type Stream = RtmpPublisher | RtmpPlayer;

const DEFAULT_FLASH_VER = 'FMLE/3.0 (compatible; rtmp-stack)';

function checkTimeout(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new RtmpClientError(
      'ERR_RTMP_INVALID_OPTION',
      'connect',
      `option ${name} must be a non-negative number`,
    );
  }
  return value;
}

/**
 * An RTMP/RTMPS client connection (a NetConnection): connect, then publish or play on streams it creates.
 * Built on `@rtmp/connection` (`RtmpConnection`), the core it shares with `@rtmp/server`: handshake, chunking, acknowledgements,
 * pings and command transactions are the server's own code, used in the client role.
 *
 * After {@link RtmpClient.close} (or a disconnect) the same client may {@link RtmpClient.connect} again.
 *
 * @example
 * ```ts
 * const client = new RtmpClient({ url: 'rtmp://localhost/live/key' });
 * await client.connect();
 * const publisher = await client.publish();
 * await publisher.sendMetadata({ width: 1280, height: 720 });
 * await publisher.sendTag(9, 0, videoTagBody);
 * await client.close();
 * ```
 */
export class RtmpClient extends EventEmitter<RtmpClientEvents> {
  /** Where this client connects, after options were applied to the URL. */
  readonly target: RtmpUrl;
  readonly #options: RtmpClientOptions;
  readonly #timeout: number;
  #connection: RtmpConnection | undefined;
  #connecting = false;
  #connectResult: RtmpConnectResult | undefined;
  #streams = new Map<number, Stream>();

  /** @throws {RtmpClientError} `ERR_RTMP_INVALID_URL` / `ERR_RTMP_INVALID_OPTION`. */
  constructor(options: RtmpClientOptions) {
    super();
    this.#options = options;
    this.#timeout = checkTimeout('timeout', options.timeout, CONNECTION_DEFAULTS.handshakeTimeout);
    checkTimeout('idleTimeout', options.idleTimeout, CONNECTION_DEFAULTS.idleTimeout);
    checkTimeout('pingInterval', options.pingInterval, CONNECTION_DEFAULTS.pingInterval);
    const chunkSize = options.chunkSize ?? 4096;
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 0x7fffffff) {
      throw new RtmpClientError(
        'ERR_RTMP_INVALID_OPTION',
        'connect',
        'option chunkSize must be in 1..2^31-1',
      );
    }
    let base: RtmpUrl;
    if (options.url !== undefined) base = parseRtmpUrl(options.url);
    else {
      if (!options.host || options.app === undefined) {
        throw new RtmpClientError('ERR_RTMP_INVALID_OPTION', 'connect', 'give url, or host and app');
      }
      const secure = options.secure ?? false;
      const port = options.port ?? (secure ? 443 : 1935);
      const scheme = secure ? 'rtmps' : 'rtmp';
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      base = {
        protocol: scheme,
        secure,
        host: options.host,
        port,
        app: options.app,
        streamName: options.streamName ?? '',
        tcUrl: `${scheme}://${host}:${port}/${options.app}`,
      };
    }
    const secure = options.secure ?? base.secure;
    const port = options.port ?? base.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RtmpClientError('ERR_RTMP_INVALID_OPTION', 'connect', `invalid port ${port}`);
    }
    this.target = {
      ...base,
      secure,
      protocol: secure ? 'rtmps' : 'rtmp',
      host: options.host ?? base.host,
      port,
      app: options.app ?? base.app,
      streamName: options.streamName ?? base.streamName,
      tcUrl: options.tcUrl ?? base.tcUrl,
    };
  }

  /** The connection core underneath (bytes counters, chunk sizes, raw sends); undefined when not connected. */
  get connection(): RtmpConnection | undefined {
    return this.#connection;
  }

  /** True between a successful {@link RtmpClient.connect} and the close. */
  get connected(): boolean {
    return this.#connection !== undefined && !this.#connection.closed && this.#connectResult !== undefined;
  }

  /** `simple` or `digest` once connected. */
  get handshakeKind(): string | undefined {
    return this.#connection?.handshakeKind;
  }

  /** The server's answer to `connect`, once connected. */
  get connectResult(): RtmpConnectResult | undefined {
    return this.#connectResult;
  }

  /**
   * Opens the TCP (or TLS) connection, runs the handshake and sends `connect`. Resolves with the server's reply.
   * @throws {RtmpClientError} `ERR_RTMP_SOCKET`, `ERR_RTMP_HANDSHAKE_FAILED`, `ERR_RTMP_CONNECT_REJECTED` (with the
   *   server's `status`), `ERR_RTMP_TIMEOUT`, `ERR_RTMP_ABORTED`, `ERR_RTMP_CLOSED`, `ERR_RTMP_INVALID_STATE`.
   */
  async connect(options: StepOptions = {}): Promise<RtmpConnectResult> {
    if (this.#connection || this.#connecting) {
      throw new RtmpClientError('ERR_RTMP_INVALID_STATE', 'connect', 'already connected or connecting');
    }
    this.#connecting = true;
    try {
      const target = this.target;
      // node:tls only for rtmps: URLs (loading it costs 1-4 MB of RSS depending on the Node version).
      const socket = target.secure
        ? (await import('node:tls')).connect({
            host: target.host,
            port: target.port,
            ...(net.isIP(target.host) === 0 ? { servername: target.host } : {}),
            ...this.#options.tls,
          })
        : net.connect({ host: target.host, port: target.port });
      const connection = new RtmpConnection(socket, {
        role: 'client',
        digest: this.#options.digest ?? true,
        // The step timeout below covers the handshake; the core's own timer would only duplicate it.
        handshakeTimeout: 0,
        idleTimeout: this.#options.idleTimeout ?? CONNECTION_DEFAULTS.idleTimeout,
        pingInterval: this.#options.pingInterval ?? CONNECTION_DEFAULTS.pingInterval,
        callTimeout: 0,
        ...(this.#options.maxMessageSize === undefined
          ? {}
          : { maxMessageSize: this.#options.maxMessageSize }),
      });
      this.#attach(connection);
      // Nothing is usable before connect completes: an abandoned connect ends its connection.
      const abandon = () => connection.destroy();
      const result = await this.#step('connect', options, connection, abandon, async (signal) => {
        await new Promise<void>((resolve, reject) => {
          if (connection.ready) return resolve();
          const onClose = (error: unknown) =>
            reject(toClientError(error ?? closedError('connect'), 'connect', 'ERR_RTMP_CLOSED'));
          connection.once('ready', () => {
            connection.off('close', onClose);
            resolve();
          });
          connection.once('close', onClose);
        });
        connection.setChunkSize(this.#options.chunkSize ?? 4096);
        let reply: Awaited<ReturnType<RtmpConnection['call']>>;
        try {
          reply = await connection.call(
            'connect',
            [this.#connectObject(), ...(this.#options.connectArgs ?? [])],
            { signal },
          );
        } catch (error) {
          throw rejection(error, 'connect', 'ERR_RTMP_CONNECT_REJECTED');
        }
        return {
          handshakeKind: connection.handshakeKind ?? 'simple',
          properties: reply.commandObject,
          status: statusOf(reply.args[0]),
        };
      });
      this.#connectResult = result;
      return result;
    } catch (error) {
      // A failed connect leaves nothing behind: the next connect() starts afresh.
      const connection = this.#connection as RtmpConnection | undefined;
      this.#connection = undefined;
      connection?.destroy();
      throw error;
    } finally {
      this.#connecting = false;
    }
  }

  /**
   * Sends `createStream` and resolves with the new message stream id. {@link RtmpClient.publish} and
   * {@link RtmpClient.play} call it themselves.
   */
  async createStream(options: StepOptions = {}): Promise<number> {
    const connection = this.#require('createStream');
    // The call is withdrawn through the step's signal; the connection stays usable.
    return this.#step('createStream', options, connection, noop, async (signal) => {
      let reply: Awaited<ReturnType<RtmpConnection['call']>>;
      try {
        reply = await connection.call('createStream', [null], { signal });
      } catch (error) {
        throw rejection(error, 'createStream', 'ERR_RTMP_CREATE_STREAM_FAILED');
      }
      const id = reply.args[0];
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffffffff) {
        throw new RtmpClientError(
          'ERR_RTMP_CREATE_STREAM_FAILED',
          'createStream',
          `server answered stream id ${String(id)}`,
        );
      }
      return id;
    });
  }

  /**
   * Publishes: `releaseStream` and `FCPublish` (not awaited, as FFmpeg does: many servers never answer them),
   * `createStream`, then `publish(name, type)`; resolves once the server says `NetStream.Publish.Start`.
   * @throws {RtmpClientError} `ERR_RTMP_PUBLISH_REJECTED` carrying the server's `status` (BadName, Unauthorized...).
   */
  async publish(options: PublishOptions = {}): Promise<RtmpPublisher> {
    const connection = this.#require('publish');
    const name = options.name ?? this.target.streamName;
    const type: PublishType = options.type ?? 'live';
    if (name === '')
      throw new RtmpClientError('ERR_RTMP_INVALID_OPTION', 'publish', 'no stream name (URL or option name)');
    if (type !== 'live' && type !== 'record' && type !== 'append') {
      throw new RtmpClientError('ERR_RTMP_INVALID_OPTION', 'publish', `invalid publish type ${String(type)}`);
    }
    // Many servers never answer these: sent with transaction ids (as FFmpeg does), nothing waits for a reply.
    connection.sendCall('releaseStream', [null, name]);
    connection.sendCall('FCPublish', [null, name]);
    const streamId = await this.createStream(options);
    const streams = this.#streams;
    const publisher = new RtmpPublisher(connection, streamId, name, type, () => streams.delete(streamId));
    streams.set(streamId, publisher);
    try {
      // An abandoned publish is withdrawn (FCUnpublish, deleteStream); the connection stays usable.
      await this.#step(
        'publish',
        options,
        connection,
        () => publisher.end(),
        async () => {
          const started = publisher.started();
          connection.sendCommand('publish', 0, [null, name, type], streamId);
          await started;
        },
      );
    } catch (error) {
      streams.delete(streamId);
      throw error;
    }
    return publisher;
  }

  /**
   * Plays: `createStream`, Set Buffer Length, `play(name, start, duration, reset)`; resolves once the server says
   * `NetStream.Play.Start`. Attach listeners (or start iterating) right after it resolves: events are held until
   * the next turn of the event loop so none is lost.
   * @throws {RtmpClientError} `ERR_RTMP_PLAY_REJECTED` carrying the server's `status` (StreamNotFound...).
   */
  async play(options: PlayOptions = {}): Promise<RtmpPlayer> {
    const connection = this.#require('play');
    const name = options.name ?? this.target.streamName;
    if (name === '')
      throw new RtmpClientError('ERR_RTMP_INVALID_OPTION', 'play', 'no stream name (URL or option name)');
    const streamId = await this.createStream(options);
    const streams = this.#streams;
    const player = new RtmpPlayer(connection, streamId, name, options, () => streams.delete(streamId));
    streams.set(streamId, player);
    try {
      // An abandoned play is withdrawn (deleteStream); the connection stays usable.
      await this.#step(
        'play',
        options,
        connection,
        () => player.end(),
        async () => {
          const started = player.started();
          const args: AmfValue[] = [null, name, options.start ?? -2000];
          if (options.duration !== undefined || options.reset !== undefined)
            args.push(options.duration ?? -1);
          if (options.reset !== undefined) args.push(options.reset);
          connection.sendCommand('play', 0, args, streamId);
          connection.sendUserControl({
            type: 'setBufferLength',
            streamId,
            bufferLength: options.bufferLength ?? 3000,
          });
          await started;
        },
      );
    } catch (error) {
      streams.delete(streamId);
      throw error;
    }
    player.flowSoon();
    return player;
  }

  /**
   * Follows a reconnect request for a publish of this client the way the E-RTMP spec describes; call it at a
   * keyframe. A new client with this client's options (TLS, handshake, capabilities, timeouts) connects to
   * `request.tcUrl`, publishes `publisher`'s stream name with its type, and runs `prepare` with the new publisher:
   * send the metadata and sequence headers there, since a new connection knows nothing yet. Then this client closes.
   * When a step fails, the new client is destroyed, this one is left as it was (go on publishing here), and the
   * error is thrown. Listeners of `reconnectRequest`, `status` and `command` are carried over to the new client.
   */
  async followReconnect(
    request: RtmpReconnectRequest,
    publisher: RtmpPublisher,
    options: StepOptions & { prepare?: (publisher: RtmpPublisher) => Promise<void> | void } = {},
  ): Promise<{ client: RtmpClient; publisher: RtmpPublisher }> {
    const { host: _h, port: _p, secure: _s, app: _a, streamName: _n, tcUrl: _t, ...kept } = this.#options;
    // As a URL, so that an app of several segments (`app/instance`) stays the app.
    const next = new RtmpClient({ ...kept, url: `${request.tcUrl}/${publisher.name}` });
    for (const event of ['reconnectRequest', 'status', 'command'] as const) {
      for (const listener of this.listeners(event)) next.on(event, listener as never);
    }
    const step = {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    };
    let moved: RtmpPublisher;
    try {
      await next.connect(step);
      moved = await next.publish({ ...step, type: publisher.type });
      await options.prepare?.(moved);
    } catch (error) {
      next.destroy();
      throw error;
    }
    // The new publish stands: the old connection goes whatever its close does.
    await this.close(step).catch(() => this.destroy());
    return { client: next, publisher: moved };
  }

  /**
   * Ends every publish and play (`FCUnpublish`, `deleteStream`), then closes the connection gracefully. Resolves
   * when the socket is closed (destroyed after the timeout). Safe to call at any time; the client can connect again.
   */
  async close(options: StepOptions = {}): Promise<void> {
    const connection = this.#connection;
    if (!connection) return;
    for (const stream of [...this.#streams.values()]) stream.end();
    if (connection.socket.destroyed) return this.#waitClosed(connection);
    connection.close();
    const timeout = options.timeout ?? this.#timeout;
    const timer = timeout > 0 ? setTimeout(() => connection.destroy(), timeout) : undefined;
    const onAbort = () => connection.destroy();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#waitClosed(connection);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Closes the connection at once (no teardown commands). */
  destroy(): void {
    this.#connection?.destroy();
  }

  /** Same as {@link RtmpClient.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #waitClosed(connection: RtmpConnection): Promise<void> {
    if (this.#connection !== connection) return Promise.resolve();
    return new Promise<void>((resolve) => connection.once('close', () => resolve()));
  }

  #connectObject(): Record<string, AmfValue> {
    const o = this.#options;
    const props = createAmfObject() as Record<string, AmfValue>;
    props.app = this.target.app;
    props.type = 'nonprivate';
    props.flashVer = o.flashVer ?? DEFAULT_FLASH_VER;
    props.tcUrl = this.target.tcUrl;
    props.fpad = false;
    props.capabilities = 15;
    props.audioCodecs = 0x0fff;
    props.videoCodecs = 0x00ff;
    props.videoFunction = 1;
    props.objectEncoding = 0;
    if (o.fourCcList) props.fourCcList = [...o.fourCcList];
    if (o.capsEx !== undefined) props.capsEx = o.capsEx;
    if (o.videoFourCcInfoMap) props.videoFourCcInfoMap = toAmfObject(o.videoFourCcInfoMap);
    if (o.audioFourCcInfoMap) props.audioFourCcInfoMap = toAmfObject(o.audioFourCcInfoMap);
    for (const [key, value] of Object.entries(o.properties ?? {})) props[key] = value;
    return props;
  }

  #require(step: RtmpClientStep): RtmpConnection {
    const connection = this.#connection;
    if (!connection || connection.closed || !this.#connectResult) {
      throw new RtmpClientError('ERR_RTMP_INVALID_STATE', step, 'not connected: call connect() first');
    }
    return connection;
  }

  #attach(connection: RtmpConnection): void {
    this.#connection = connection;
    this.#connectResult = undefined;
    // Streams belong to their connection: a late close of an old one must not touch a new one's streams.
    const streams = new Map<number, Stream>();
    this.#streams = streams;
    const route = (streamId: number): Stream | undefined => {
      const stream = streams.get(streamId);
      if (stream || streams.size !== 1) return stream;
      // Some servers send a single stream's status and media on message stream 0.
      return streamId === 0 ? streams.values().next().value : undefined;
    };
    connection.on('message', (message: RtmpMessage) => route(message.streamId)?.onMessage(message));
    connection.on('data', (data: RtmpDataMessage) => route(data.streamId)?.onData(data));
    connection.on('status', (status: RtmpStatus) => {
      // NetConnection statuses are about the connection, even though some servers send stream statuses on 0 too.
      const aboutConnection = status.streamId === 0 && status.code.startsWith('NetConnection.');
      if (!aboutConnection) route(status.streamId)?.onStatus(status);
      this.#emitSafe('status', status);
      if (aboutConnection && status.code === 'NetConnection.Connect.ReconnectRequest') {
        const request = this.#reconnectRequest(status);
        if (request) this.#emitSafe('reconnectRequest', request);
      }
    });
    connection.on('control', (control: ControlMessage) => {
      if (control.type === 'userControl' && control.event.type === 'streamEof') {
        streams.get(control.event.streamId)?.onStreamEof();
      }
    });
    connection.on('command', (command: RtmpCommand) => {
      if (command.name === '_error') route(command.streamId)?.onError(statusOf(command.args[0]));
      this.#emitSafe('command', command);
    });
    connection.on('drain', () => {
      for (const stream of streams.values()) stream.onDrain();
    });
    connection.on('close', (error) => {
      const clientError =
        error === undefined ? undefined : toClientError(error, 'connection', 'ERR_RTMP_CLOSED');
      for (const stream of [...streams.values()]) stream.onClose(clientError);
      streams.clear();
      if (this.#connection === connection) {
        this.#connection = undefined;
        this.#connectResult = undefined;
      }
      this.#emitSafe('close', clientError);
    });
  }

  /**
   * Runs one step under its timeout and the caller's signal. When either fires, the step is withdrawn with
   * `abandon` (a pending call is withdrawn through the signal given to `run`; the connection is destroyed only
   * where its state would be unknown, i.e. during connect).
   */
  async #step<T>(
    step: RtmpClientStep,
    options: StepOptions,
    connection: RtmpConnection,
    abandon: () => void,
    run: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const timeout = options.timeout ?? this.#timeout;
    if (!Number.isFinite(timeout) || timeout < 0) {
      throw new RtmpClientError('ERR_RTMP_INVALID_OPTION', step, 'timeout must be a non-negative number');
    }
    const signal = options.signal;
    const aborted = () =>
      new RtmpClientError('ERR_RTMP_ABORTED', step, `${step} aborted`, { cause: signal?.reason });
    if (signal?.aborted) {
      abandon();
      throw aborted();
    }
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const guard = new Promise<never>((_, reject) => {
      const fail = (error: RtmpClientError) => {
        if (controller.signal.aborted) return;
        reject(error);
        controller.abort(error);
        abandon();
      };
      if (timeout > 0) {
        timer = setTimeout(
          () =>
            fail(
              new RtmpClientError('ERR_RTMP_TIMEOUT', step, `${step} did not complete within ${timeout} ms`),
            ),
          timeout,
        );
      }
      if (signal) {
        onAbort = () => fail(aborted());
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    // A step that loses the race must not surface as an unhandled rejection.
    const work = run(controller.signal);
    work.catch(() => {});
    try {
      return await Promise.race([work, guard]);
    } catch (error) {
      // A step that ended the connection leaves the client ready to connect again at once.
      if (connection.closed && this.#connection === connection) {
        this.#connection = undefined;
        this.#connectResult = undefined;
      }
      throw toClientError(error, step, 'ERR_RTMP_CLOSED');
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  // Resolves the request's tcUrl (absolute, or relative to ours per the spec) and names the stream in use: the
  // one stream's name when exactly one is open, else the URL's.
  #reconnectRequest(status: RtmpStatus): RtmpReconnectRequest | undefined {
    const info = status.info as Record<string, AmfValue> | null;
    const given = info !== null && typeof info === 'object' ? info.tcUrl : undefined;
    // A tcUrl that is there but not a string is malformed: the request is not followable.
    if (given !== undefined && given !== null && typeof given !== 'string') return undefined;
    let tcUrl = this.target.tcUrl;
    if (typeof given === 'string' && given !== '') {
      let resolved: URL;
      try {
        resolved = new URL(given, this.target.tcUrl);
      } catch {
        return undefined;
      }
      if ((resolved.protocol !== 'rtmp:' && resolved.protocol !== 'rtmps:') || resolved.hostname === '') {
        return undefined;
      }
      tcUrl = resolved.href.replace(/\/+$/, '');
    }
    const streams = [...(this.#streams?.values() ?? [])];
    const name = streams.length === 1 ? streams[0]!.name : this.target.streamName;
    return {
      tcUrl,
      url: name === '' ? tcUrl : `${tcUrl}/${name}`,
      description: status.description,
      status,
    };
  }

  #emitSafe<K extends keyof RtmpClientEvents>(event: K, ...args: RtmpClientEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: RtmpClientEvents[K]) => boolean)(event, ...args);
    } catch {
      // A throwing user listener must not break the connection's own bookkeeping.
    }
  }
}

function noop(): void {}

function toAmfObject(record: Readonly<Record<string, number>>): AmfValue {
  const object = createAmfObject() as Record<string, AmfValue>;
  for (const [key, value] of Object.entries(record)) object[key] = value;
  return object;
}

function closedError(step: RtmpClientStep): RtmpClientError {
  return new RtmpClientError('ERR_RTMP_CLOSED', step, `${step}: the server closed the connection`);
}

/** A call's `_error` becomes `code` with the server's status; anything else keeps its own meaning. */
function rejection(error: unknown, step: RtmpClientStep, code: RtmpClientErrorCode): RtmpClientError {
  if ((error as { code?: unknown })?.code === 'ERR_RTMP_CALL_FAILED') {
    const status = statusOf((error as { detail?: AmfValue }).detail);
    const reason = [status.code, status.description].filter((s) => s !== '').join(': ') || 'refused';
    return new RtmpClientError(code, step, `${step} rejected by the server: ${reason}`, {
      cause: error,
      status,
    });
  }
  return toClientError(error, step, 'ERR_RTMP_CLOSED');
}
