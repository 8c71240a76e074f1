import type { AmfObject } from '@rtmp/amf';
import { MessageType, type RtmpMessage } from '@rtmp/chunk';
import {
  type EnhancedRtmpCapabilities,
  type NegotiatedEnhancedRtmp,
  type RtmpCommand,
  type RtmpConnection,
  type RtmpDataMessage,
  RtmpError,
  toRtmpError,
} from '@rtmp/connection';
import { stripSetDataFrame } from '@rtmp/flv-demux';
import { COMMANDS } from './commands.js';
import type { RtmpHandler, RtmpHandlerFactory } from './handler.js';
import { HandlerQueue } from './queue.js';
import type { ClientSession, ClientSessionEvents } from './session.js';
import { REFUSALS, type RefusedCommand, statusInfo } from './status.js';
import { type NetStream, NetStreams } from './streams.js';
import { recordFor } from './util.js';

/** Session-level options, filled in by the server. */
export interface SessionOptions {
  demux: boolean;
  chunkSize: number;
  windowAckSize: number;
  peerBandwidth: number;
  maxStreams: number;
  /** What the server states of E-RTMP to clients that announce it; false: nothing. */
  enhancedRtmp: EnhancedRtmpCapabilities | false;
}

/** Hooks the server passes to each session (plain callbacks, so that the session does not know the server). */
export interface SessionHooks {
  /**
   * Reports an error of the session: the one that ended it, then any handler or listener failure that happened
   * once it had ended (nothing is left to end). Must not throw.
   */
  onError(session: ClientSession, error: RtmpError): void;
}

/**
 * The inside of a {@link ClientSession}: its state, the handler, the ordered handler queue, the inbound dispatch of
 * commands (through the command table), data and media, and failures. Not exported by the package: the session's
 * public face is `ClientSession`.
 */
export class SessionCore {
  readonly session: ClientSession;
  readonly connection: RtmpConnection;
  readonly options: SessionOptions;
  readonly streams: NetStreams;
  readonly queue: HandlerQueue;
  handler: RtmpHandler = {};
  /** `connect` was accepted. */
  connected = false;
  /** Both sides' E-RTMP statements, once `connect` was accepted. */
  enhancedRtmp: NegotiatedEnhancedRtmp | undefined;
  /** `close()` was called; the connection is flushing. */
  closing = false;
  /** The connection is closed. */
  closed = false;
  readonly #hooks: SessionHooks;
  /**
   * Failures not reported yet: those of the open session (the first ends it; the close reports them) and those of the
   * close itself (reported after the error that ended the session). Undefined otherwise: a failure is then reported
   * at once.
   */
  #failures: RtmpError[] | undefined;

  constructor(
    session: ClientSession,
    factory: RtmpHandlerFactory<unknown>,
    handlerOptions: unknown,
    options: SessionOptions,
    hooks: SessionHooks,
  ) {
    this.session = session;
    this.connection = session.connection;
    this.options = options;
    this.#hooks = hooks;
    this.streams = new NetStreams(options.maxStreams);
    this.queue = new HandlerQueue(
      () => this.closed,
      (error) => this.fail(error),
    );
    const connection = this.connection;
    const queue = this.queue;
    connection.on('command', (command) => queue.push(() => this.#onCommand(command)));
    connection.on('data', (data) => queue.inOrder(data.payload.byteLength, () => this.#onData(data)));
    connection.on('message', (message) => {
      // The per-message hot path: no closure unless a decision is pending.
      if (queue.idle) this.#onMedia(message);
      else queue.inOrder(message.payload.byteLength, () => this.#onMedia(message));
    });
    connection.on('close', (error) => this.#onClose(error));
    queue.push(async () => {
      this.handler = factory(handlerOptions, session);
      await this.handler.init?.();
    });
  }

  /** True once the connection is closed or closing. */
  get closedOrClosing(): boolean {
    return this.closed || this.closing;
  }

  /** Closes the connection after pending writes are flushed (see `ClientSession.close`). */
  close(error?: RtmpError): void {
    if (this.closed) return;
    this.closing = true;
    this.connection.close(error);
  }

  /** Sends `onStatus` with `info` (built by `statusInfo`) on message stream `streamId`. */
  sendStatus(streamId: number, info: AmfObject): boolean {
    return this.connection.sendCommand('onStatus', 0, [null, info], streamId);
  }

  /** Answers a call with `_error` NetConnection.Call.Failed. */
  callFailed(command: RtmpCommand, description: string): void {
    this.connection.replyError(command, [
      null,
      statusInfo('error', 'NetConnection.Call.Failed', description),
    ]);
  }

  /**
   * The one refusal path: answers `command` with an error status (`_error` for connect, `onStatus` on its stream
   * for publish and play) whose description repeats the code (FFmpeg prints only the description), then closes the
   * connection once that is flushed, with the refusal's `ERR_RTMP_*_REJECTED` error.
   */
  refuse(
    command: RtmpCommand,
    refused: RefusedCommand,
    reason: string,
    code = REFUSALS[refused].status,
  ): void {
    const info = statusInfo('error', code, `${reason} (${code})`);
    if (refused === 'connect') this.connection.replyError(command, [null, info]);
    else this.sendStatus(command.streamId, info);
    this.close(new RtmpError(REFUSALS[refused].error, `${refused} rejected: ${reason}`));
  }

  /**
   * A handler callback or a listener threw (or rejected): ends the session with `ERR_RTMP_HANDLER_FAILED` (the
   * exception is the cause; an `RtmpError` is kept as is), or reports it when the session has already ended.
   */
  fail(error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    const failure = toRtmpError(error, 'ERR_RTMP_HANDLER_FAILED', text === '' ? 'handler failed' : text);
    if (this.closed && this.#failures === undefined) {
      this.#hooks.onError(this.session, failure);
      return;
    }
    (this.#failures ??= []).push(failure);
    if (!this.closed) this.connection.destroy(failure);
  }

  /** Runs a handler callback that is not awaited, turning a throw or rejection into {@link fail}. */
  fire(run: () => unknown): void {
    try {
      const result = run();
      if (result instanceof Promise) result.catch((error: unknown) => this.fail(error));
    } catch (error) {
      this.fail(error);
    }
  }

  /** Emits a session event whose listener failures go to {@link fail} (outside the handler queue). */
  emitSafe<K extends keyof ClientSessionEvents>(event: K, ...args: ClientSessionEvents[K]): void {
    try {
      (this.session.emit as (event: K, ...args: ClientSessionEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Ends a publish or play on a stream, firing the matching event and handler callback once. */
  endStream(stream: NetStream): void {
    if (stream.mode === 'idle') return;
    const mode = this.streams.reset(stream);
    const context = stream.context;
    if (mode === 'publishing') {
      this.emitSafe('unpublish', context);
      this.fire(() => this.handler.handleUnpublish?.(context));
    } else {
      this.emitSafe('stop', context);
      this.fire(() => this.handler.handleStop?.(context));
    }
  }

  async #onCommand(command: RtmpCommand): Promise<void> {
    if (!this.connected && command.name !== 'connect') {
      if (command.transactionId > 0) this.callFailed(command, 'connect first');
      return;
    }
    const run = COMMANDS.get(command.name);
    if (run) return run(this, command);
    if (command.transactionId > 0) this.callFailed(command, `Method not found (${command.name})`);
  }

  #onData(data: RtmpDataMessage): void {
    const stream = this.streams.get(data.streamId);
    if (stream?.mode !== 'publishing') return;
    let values = data.values;
    let payload = data.payload;
    if (data.messageType === MessageType.DataAmf3) payload = payload.subarray(1);
    if (values[0] === '@setDataFrame') {
      values = values.slice(1);
      // Players expect a bare onMetaData: strip the wrapper without re-encoding what follows.
      payload = stripSetDataFrame(payload);
    } else if (values[0] === '@clearDataFrame') {
      return;
    }
    const message: RtmpMessage = {
      type: MessageType.DataAmf0,
      streamId: data.streamId,
      timestamp: data.timestamp,
      payload,
    };
    if (values[0] === 'onMetaData') {
      const metadata = recordFor(values[1]);
      this.fire(() => this.handler.handleMetadata?.(metadata, stream.context));
    }
    this.fire(() => this.handler.handleMessage?.(message, stream.context));
  }

  #onMedia(message: RtmpMessage): void {
    if (message.type !== MessageType.Audio && message.type !== MessageType.Video) return;
    const stream = this.streams.get(message.streamId);
    // Media before NetStream.Publish.Start (or on a stream not publishing) is dropped.
    if (stream?.mode !== 'publishing') return;
    const context = stream.context;
    const handler = this.handler;
    if (handler.handleMessage) {
      try {
        handler.handleMessage(message, context);
      } catch (error) {
        this.fail(error);
        return;
      }
    }
    const deliver = message.type === MessageType.Video ? handler.handleVideoData : handler.handleAudioData;
    if (!deliver) return;
    if (!stream.demuxer) {
      this.fire(() =>
        deliver.call(handler, { kind: 'raw', timestamp: message.timestamp, body: message.payload }, context),
      );
      return;
    }
    const events = stream.demuxer.push(message.type, message.timestamp, message.payload);
    for (const event of events) {
      if (this.closed) return;
      this.fire(() => deliver.call(handler, event, context));
    }
  }

  #onClose(error: RtmpError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    // Failures while the streams end wait here, to be reported after the error that ended the session.
    const failures = (this.#failures ??= []);
    for (const stream of this.streams.values()) this.endStream(stream);
    this.streams.clear();
    if (error) this.#hooks.onError(this.session, error);
    for (const failure of failures) if (failure !== error) this.#hooks.onError(this.session, failure);
    this.#failures = undefined;
    this.fire(() => this.handler.handleDisconnect?.(error));
    this.emitSafe('close', error);
  }
}
