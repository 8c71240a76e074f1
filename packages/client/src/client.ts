import { EventEmitter } from 'node:events';
import type { AmfValue } from '@rtmp/amf';
import type { ControlMessage, RtmpMessage } from '@rtmp/chunk';
import {
  negotiated,
  type RtmpCallResult,
  type RtmpCommand,
  RtmpConnection,
  type RtmpDataMessage,
  type RtmpStatus,
  readCapabilities,
  watchDeadline,
} from '@rtmp/connection';
import { RtmpClientError, type RtmpClientStep, toClientError } from './errors.js';
import { emitGuarded } from './listeners.js';
import {
  chunkSizeOf,
  connectionOptions,
  connectObject,
  openSocket,
  type RtmpClientOptions,
  type RtmpConnectResult,
  resolveOptions,
  type StepOptions,
} from './options.js';
import { openPlayer, type PlayOptions, type RtmpPlayer } from './player.js';
import {
  openPublisher,
  type PublishOptions,
  type PublishType,
  type RtmpPublisher,
  replayHeaders,
} from './publisher.js';
import { RECONNECT_REQUEST, type RtmpReconnectRequest, reconnectRequestOf } from './reconnect.js';
import { statusOf } from './status.js';
import { closedError, rejection, runStep } from './step.js';
import type { StreamHandle } from './stream.js';
import type { RtmpUrl } from './url.js';

/** Events of {@link RtmpClient}. */
export interface RtmpClientEvents {
  /** Every `onStatus`, whichever stream it is about. */
  status: [status: RtmpStatus];
  /**
   * The server asks for a reconnect (E-RTMP). Nothing happens by itself: the connection stays as it is. A request
   * whose `tcUrl` is not an `rtmp://` or `rtmps://` URL once resolved is reported by `status` only. Announce that
   * you follow these with the `capsEx` bit Reconnect (`capsEx: 15`: Reconnect and the default bits).
   */
  reconnectRequest: [request: RtmpReconnectRequest];
  /** A command from the server that is not a reply (e.g. `onBWDone`, `onFCPublish`). */
  command: [command: RtmpCommand];
  /** The connection closed; `error` is undefined for a clean close. The client may connect again. */
  close: [error: RtmpClientError | undefined];
}

/** Options of {@link RtmpClient.followReconnect}. */
export interface FollowReconnectOptions extends StepOptions {
  /**
   * Runs on the new publisher before the old connection is left, after it published. What the old publisher
   * remembers (its {@link RtmpPublisher.headers}) and `prepare` did not send with the same bytes is sent after it.
   */
  prepare?: (publisher: RtmpPublisher) => Promise<void> | void;
}

function noop(): void {}

/**
 * An RTMP/RTMPS client connection (a NetConnection): connect, then publish or play on streams it creates.
 * Built on `@rtmp/connection` (`RtmpConnection`), the core it shares with `@rtmp/server`: handshake, chunking,
 * acknowledgements, pings and command transactions are the server's own code, used in the client role.
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
  #streams = new Map<number, StreamHandle>();

  /** @throws {RtmpClientError} `ERR_RTMP_INVALID_URL` / `ERR_RTMP_INVALID_OPTION`. */
  constructor(options: RtmpClientOptions) {
    super();
    this.#options = options;
    const { target, timeout } = resolveOptions(options);
    this.target = target;
    this.#timeout = timeout;
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
    let opened: RtmpConnection | undefined;
    try {
      const socket = await openSocket(this.target, this.#options.tls);
      const connection = new RtmpConnection(socket, connectionOptions(this.#options));
      opened = connection;
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
        connection.setChunkSize(chunkSizeOf(this.#options));
        const commandObject = connectObject(this.#options, this.target);
        let reply: RtmpCallResult;
        try {
          reply = await connection.call('connect', [commandObject, ...(this.#options.connectArgs ?? [])], {
            signal,
          });
        } catch (error) {
          throw rejection(error, 'connect', 'ERR_RTMP_CONNECT_REJECTED');
        }
        return {
          handshakeKind: connection.handshakeKind ?? 'simple',
          properties: reply.commandObject,
          status: statusOf(reply.args[0]),
          enhancedRtmp: negotiated(readCapabilities(commandObject), readCapabilities(reply.commandObject)),
        };
      });
      this.#connectResult = result;
      return result;
    } catch (error) {
      // A failed connect leaves nothing behind: the next connect() starts afresh.
      this.#connection = undefined;
      opened?.destroy();
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
      let reply: RtmpCallResult;
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
    const { publisher, handle } = openPublisher(connection, streamId, name, type, () =>
      streams.delete(streamId),
    );
    streams.set(streamId, handle);
    try {
      // An abandoned publish is withdrawn (FCUnpublish, deleteStream); the connection stays usable.
      await this.#step('publish', options, connection, handle.end, async () => {
        const started = handle.started();
        connection.sendCommand('publish', 0, [null, name, type], streamId);
        await started;
      });
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
    const { player, handle } = openPlayer(connection, streamId, name, options, () =>
      streams.delete(streamId),
    );
    streams.set(streamId, handle);
    try {
      // An abandoned play is withdrawn (deleteStream); the connection stays usable.
      await this.#step('play', options, connection, handle.end, async () => {
        const started = handle.started();
        const args: AmfValue[] = [null, name, options.start ?? -2000];
        if (options.duration !== undefined || options.reset !== undefined) args.push(options.duration ?? -1);
        if (options.reset !== undefined) args.push(options.reset);
        connection.sendCommand('play', 0, args, streamId);
        connection.sendUserControl({
          type: 'setBufferLength',
          streamId,
          bufferLength: options.bufferLength ?? 3000,
        });
        await started;
      });
    } catch (error) {
      streams.delete(streamId);
      throw error;
    }
    handle.flowSoon();
    return player;
  }

  /**
   * Follows a reconnect request for a publish of this client the way the E-RTMP spec describes; call it at a
   * keyframe. A new client with this client's options (TLS, handshake, capabilities, timeouts) connects to
   * `request.tcUrl` and publishes `publisher`'s stream name with its type; `prepare` runs with the new publisher,
   * then what `publisher` remembers ({@link RtmpPublisher.headers}: the metadata and every track's sequence header)
   * and `prepare` did not send is sent there, so that the new server has it before the next keyframe. Then this
   * client closes. When a step fails, the new client is destroyed, this one is left as it was (go on publishing
   * here), and the error is thrown. Listeners of `reconnectRequest`, `status` and `command` are carried over to the
   * new client.
   */
  async followReconnect(
    request: RtmpReconnectRequest,
    publisher: RtmpPublisher,
    options: FollowReconnectOptions = {},
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
      await replayHeaders(publisher, moved);
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
   * when the socket is closed (destroyed after the timeout, or at once when the signal aborts). Safe to call at any
   * time; the client can connect again.
   */
  async close(options: StepOptions = {}): Promise<void> {
    const connection = this.#connection;
    if (!connection) return;
    for (const stream of [...this.#streams.values()]) stream.end();
    if (connection.socket.destroyed) return this.#waitClosed(connection);
    connection.close();
    const timeout = options.timeout ?? this.#timeout;
    const deadline = watchDeadline({ timeout, signal: options.signal }, () => connection.destroy());
    try {
      await this.#waitClosed(connection);
    } finally {
      deadline.clear();
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
    const streams = new Map<number, StreamHandle>();
    this.#streams = streams;
    const route = (streamId: number): StreamHandle | undefined => {
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
      this.#emit(connection, 'status', status);
      if (aboutConnection && status.code === RECONNECT_REQUEST && !connection.closed) {
        // The stream in use: the one stream's name when exactly one is open, else the URL's.
        const open = [...streams.values()];
        const name = open.length === 1 ? open[0]!.name : this.target.streamName;
        const request = reconnectRequestOf(status, this.target.tcUrl, name);
        if (request) this.#emit(connection, 'reconnectRequest', request);
      }
    });
    connection.on('control', (control: ControlMessage) => {
      if (control.type === 'userControl' && control.event.type === 'streamEof') {
        streams.get(control.event.streamId)?.onStreamEof();
      }
    });
    connection.on('command', (command: RtmpCommand) => {
      if (command.name === '_error') route(command.streamId)?.onError(statusOf(command.args[0]));
      this.#emit(connection, 'command', command);
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
      this.#emit(connection, 'close', clientError);
    });
  }

  /** {@link runStep} on this client's default timeout; a step that ended the connection leaves the client free. */
  async #step<T>(
    step: RtmpClientStep,
    options: StepOptions,
    connection: RtmpConnection,
    abandon: () => void,
    run: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    try {
      return await runStep(step, options, this.#timeout, abandon, run);
    } catch (error) {
      // A step that ended the connection leaves the client ready to connect again at once.
      if (connection.closed && this.#connection === connection) {
        this.#connection = undefined;
        this.#connectResult = undefined;
      }
      throw error;
    }
  }

  // A throwing listener ends the client (ERR_RTMP_HANDLER_FAILED), or is reported once nothing is left to end.
  #emit<K extends keyof RtmpClientEvents>(
    connection: RtmpConnection,
    event: K,
    ...args: RtmpClientEvents[K]
  ): void {
    emitGuarded(connection, `the client's '${event}' event`, () =>
      (this.emit as (event: K, ...args: RtmpClientEvents[K]) => boolean)(event, ...args),
    );
  }
}
