import { EventEmitter } from 'node:events';
import type { AmfValue } from '@rtmp/amf';
import { EcmaArray } from '@rtmp/amf';
import { MessageType, type RtmpMessage } from '@rtmp/chunk';
import {
  ChunkStreams,
  type RtmpCommand,
  type RtmpConnection,
  type RtmpDataMessage,
  RtmpError,
  toRtmpError,
} from '@rtmp/connection';
import { concatBytes, type DemuxEvent, StreamDemuxer, StreamMuxer } from '@rtmp/flv-demux';
import type {
  ConnectInfo,
  Decision,
  PlayInfo,
  PublishInfo,
  RejectDecision,
  RtmpHandler,
  RtmpHandlerFactory,
  StreamContext,
} from './handler.js';
import { asRecord, parseStreamName } from './util.js';

/** Session-level options, filled in by the server. */
export interface SessionOptions {
  demux: boolean;
  chunkSize: number;
  windowAckSize: number;
  peerBandwidth: number;
  maxStreams: number;
}

/** Events of a {@link ClientSession}. */
export interface ClientSessionEvents {
  /** `connect` was accepted. */
  connect: [info: ConnectInfo];
  /** A publish was accepted and NetStream.Publish.Start sent. */
  publish: [info: PublishInfo];
  /** A publish ended. */
  unpublish: [context: StreamContext];
  /** A play was accepted and Play.Reset/Play.Start/|RtmpSampleAccess sent: media may be sent now. */
  play: [info: PlayInfo];
  /** A play ended (by the client, by {@link ClientSession.endPlayback}, or on disconnect). */
  stop: [context: StreamContext];
  /** A play stream was paused or resumed. */
  pause: [context: StreamContext, paused: boolean];
  /** The session is closed; `error` is undefined for a clean close. */
  close: [error: RtmpError | undefined];
}

type StreamMode = 'idle' | 'publishing' | 'playing';

interface StreamState {
  id: number;
  mode: StreamMode;
  key: string;
  demuxer: StreamDemuxer | undefined;
  /** Turns demuxed events sent to this play stream back into tag bodies (built on first use). */
  muxer: StreamMuxer | undefined;
  context: StreamContext;
  receiveAudio: boolean;
  receiveVideo: boolean;
  paused: boolean;
  play: PlayInfo | undefined;
}

const FMS_VERSION = 'FMS/3,0,1,123';
// Reconnect: sessions can send a reconnect request (requestReconnect). Multitrack, ModEx, TimestampNanoOffset:
// relayed untouched.
const SUPPORTED_CAPS_EX = 1 | 2 | 4 | 8;
const CAPS_EX_RECONNECT = 1;

/** What {@link ClientSession.requestReconnect} puts in its request. */
export interface ReconnectRequest {
  /**
   * Where to reconnect: an absolute `rtmp[s]://host[:port]/app` or a reference relative to the tcUrl the client
   * connected with (`//host/app`, `/app`). Without it, the client reconnects to the URL it used.
   */
  tcUrl?: string;
  /** Human-readable reason, e.g. "The server is restarting". */
  description?: string;
}

// '@setDataFrame' as an AMF0 string: a publisher's metadata starts with these 16 bytes.
const SET_DATA_FRAME = new Uint8Array([0x02, 0x00, 0x0d, ...new TextEncoder().encode('@setDataFrame')]);

let nextSessionId = 1;

/** Most bytes of media held while a command waits for a handler decision. */
const MAX_HELD_BYTES = 8 * 1024 * 1024;

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.byteLength < prefix.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function isReject(decision: Decision): decision is RejectDecision {
  return typeof decision === 'object' && decision !== null && decision.reject === true;
}

/** Hooks the server passes to each session (kept as plain callbacks so the session does not know the server). */
export interface SessionHooks {
  onError(session: ClientSession, error: RtmpError): void;
}

/**
 * One client connection as seen by the server (ExRTMP's ClientSession). The handler uses it to send
 * video, audio and metadata to a client that plays, and to close the connection. Built on
 * {@link RtmpConnection}; the server creates it, applications never construct it.
 */
export class ClientSession extends EventEmitter<ClientSessionEvents> {
  /** Process-unique id, for logs. */
  readonly id: number = nextSessionId++;
  /** The connection core underneath (bytes counters, backpressure, raw sends). */
  readonly connection: RtmpConnection;
  /** Remote address and port as `host:port`. */
  readonly remote: string;
  /** The accepted `connect`, once it happened. */
  connectInfo: ConnectInfo | undefined;

  readonly #options: SessionOptions;
  readonly #hooks: SessionHooks;
  #handler: RtmpHandler = {};
  #chain: Promise<void> = Promise.resolve();
  #queued = 0;
  #heldBytes = 0;
  #connected = false;
  #closing = false;
  #closed = false;
  #errorReported = false;
  #disconnectCalled = false;
  readonly #streams = new Map<number, StreamState>();

  /** @internal */
  constructor(
    connection: RtmpConnection,
    factory: RtmpHandlerFactory<unknown>,
    handlerOptions: unknown,
    options: SessionOptions,
    hooks: SessionHooks,
  ) {
    super();
    this.connection = connection;
    this.#options = options;
    this.#hooks = hooks;
    const socket = connection.socket;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    connection.on('command', (command) => this.#enqueue(() => this.#onCommand(command)));
    // While a command waits for the handler's decision, later messages wait behind it so that what a client
    // sends right after `publish` is judged against the decision, in order (as nginx-rtmp does).
    connection.on('data', (data) => this.#inOrder(data.payload.byteLength, () => this.#onData(data)));
    connection.on('message', (message) => {
      // The per-message hot path: no closure unless a decision is pending.
      if (this.#queued === 0) this.#onMedia(message);
      else this.#inOrder(message.payload.byteLength, () => this.#onMedia(message));
    });
    connection.on('close', (error) => this.#onClose(error));
    this.#enqueue(async () => {
      this.#handler = factory(handlerOptions, this);
      await this.#handler.init?.();
    });
  }

  /** Message stream ids this client currently plays. */
  get playingStreams(): number[] {
    return [...this.#streams.values()].filter((s) => s.mode === 'playing').map((s) => s.id);
  }

  /** Message stream ids this client currently publishes on. */
  get publishingStreams(): number[] {
    return [...this.#streams.values()].filter((s) => s.mode === 'publishing').map((s) => s.id);
  }

  /** True once the connection is closed or closing. */
  get closed(): boolean {
    return this.#closed || this.#closing;
  }

  /** Whether a play stream wants audio/video and is not paused (`receiveAudio`/`receiveVideo`/`pause`). */
  wants(streamId: number, type: 8 | 9): boolean {
    const stream = this.#streams.get(streamId);
    if (stream?.mode !== 'playing' || stream.paused) return false;
    return type === 8 ? stream.receiveAudio : stream.receiveVideo;
  }

  /** Sends a video tag body to a playing stream (default: the first one). Returns false when not written. */
  sendVideo(timestamp: number, body: Uint8Array, streamId?: number): boolean {
    return this.#sendMedia(MessageType.Video, timestamp, body, streamId);
  }

  /** Sends an audio tag body to a playing stream (default: the first one). */
  sendAudio(timestamp: number, body: Uint8Array, streamId?: number): boolean {
    return this.#sendMedia(MessageType.Audio, timestamp, body, streamId);
  }

  /**
   * Sends a demuxed event (as produced by `@rtmp/flv-demux`'s `StreamDemuxer`, e.g. what `handleVideoData` /
   * `handleAudioData` received from a publisher, or samples you built) to a playing stream (default: the first
   * one). Codec events become sequence headers, `video`/`audio` samples become tag bodies (NAL units get their
   * length prefixes), `metadata` becomes a data message; other kinds send nothing. Each play stream keeps its
   * own `StreamMuxer`, so a sample must follow the codec event of its track.
   *
   * @returns true when a message was written; false when the stream is not playing, does not want this media
   *   type (pause/receiveAudio/receiveVideo), the event carries no media, or the connection is closed
   * @throws {@link RtmpError} `ERR_RTMP_INVALID_STATE` for a sample whose track had no codec event on this
   *   stream, or a value the FLV format cannot carry (cause: the `FlvError`)
   */
  sendDemuxed(event: DemuxEvent, streamId?: number): boolean {
    const id = streamId ?? this.playingStreams[0];
    const stream = id === undefined ? undefined : this.#streams.get(id);
    if (stream?.mode !== 'playing') return false;
    stream.muxer ??= new StreamMuxer();
    let tags: ReturnType<StreamMuxer['push']>;
    try {
      // The muxer must see every codec event, even while paused, to mux the samples that follow.
      tags = stream.muxer.push(event);
    } catch (error) {
      throw new RtmpError('ERR_RTMP_INVALID_STATE', `cannot send ${event.kind} event`, { cause: error });
    }
    let sent = false;
    for (const tag of tags) {
      // One message needs one payload: a single piece is sent as is, several are joined (the only copy).
      const payload = tag.body.length === 1 ? tag.body[0]! : concatBytes(tag.body);
      if (tag.type === MessageType.DataAmf0) {
        this.connection.send(
          { type: MessageType.DataAmf0, streamId: stream.id, timestamp: tag.timestamp >>> 0, payload },
          ChunkStreams.Data,
        );
        sent = this.#writable();
      } else {
        sent = this.#sendMedia(tag.type, tag.timestamp, payload, stream.id) || sent;
      }
    }
    return sent;
  }

  /** Sends `onMetaData` (an ECMA array, no `@setDataFrame`) to a playing stream. */
  sendMetadata(metadata: Record<string, AmfValue>, streamId?: number, timestamp = 0): boolean {
    const id = streamId ?? this.playingStreams[0];
    if (id === undefined) return false;
    const properties = Object.assign(Object.create(null) as Record<string, AmfValue>, metadata);
    return this.connection.sendData(id, ['onMetaData', new EcmaArray(properties)], timestamp);
  }

  /**
   * Tells a player its stream ended: StreamEOF, then NetStream.Play.UnpublishNotify and NetStream.Play.Stop.
   * The stream stops being a play stream; the connection stays open.
   */
  endPlayback(streamId: number, description = 'Stream ended'): void {
    const stream = this.#streams.get(streamId);
    if (stream?.mode !== 'playing') return;
    this.connection.sendUserControl({ type: 'streamEof', streamId });
    this.connection.sendStatus(streamId, 'status', 'NetStream.Play.UnpublishNotify', description);
    this.connection.sendStatus(streamId, 'status', 'NetStream.Play.Stop', description);
    this.#endStream(stream);
  }

  /**
   * Whether the client announced that it follows reconnect requests (E-RTMP `capsEx` bit Reconnect in its
   * `connect`). Others, FFmpeg 5-7 and GStreamer among them, ignore a request.
   */
  get canReconnect(): boolean {
    const caps = this.connectInfo?.properties.capsEx;
    return typeof caps === 'number' && (caps & CAPS_EX_RECONNECT) !== 0;
  }

  /**
   * E-RTMP Reconnect Request: asks the client to connect again, to `tcUrl` or to the same server, for example
   * before a restart or to move it to another instance. It sends `onStatus` with code
   * `NetConnection.Connect.ReconnectRequest` on message stream 0 and nothing else: the connection stays open, and the
   * spec has the client go on streaming up to its next keyframe, connect again, and then leave. Returns false when
   * nothing was sent (not connected yet, or closed). A client that did not announce the capability
   * ({@link canReconnect}) ignores it.
   */
  requestReconnect(request: ReconnectRequest = {}): boolean {
    if (!this.#connected || this.#closing || this.#closed) return false;
    const extra: Record<string, AmfValue> = Object.create(null);
    if (request.tcUrl !== undefined) extra.tcUrl = request.tcUrl;
    return this.connection.sendStatus(
      0,
      'status',
      'NetConnection.Connect.ReconnectRequest',
      request.description ?? 'The server asks the client to reconnect.',
      extra,
    );
  }

  /**
   * Closes the connection after pending writes are flushed. With an error, it is reported once
   * (server `sessionError`) and given to `handleDisconnect`.
   */
  close(error?: RtmpError): void {
    if (this.#closed) return;
    this.#closing = true;
    this.connection.close(error);
  }

  /** @internal Graceful shutdown used by `RtmpServer.stop()`. */
  shutdown(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.once('close', () => resolve()));
    for (const id of this.playingStreams) this.endPlayback(id, 'Server is shutting down');
    this.close();
    return done;
  }

  #enqueue(task: () => Promise<void> | void): void {
    this.#queued++;
    this.#chain = this.#chain
      .then(() => (this.#closed ? undefined : task()))
      .catch((error: unknown) => this.#fail(error))
      .finally(() => {
        this.#queued--;
      });
  }

  #inOrder(bytes: number, task: () => void): void {
    if (this.#queued === 0) {
      task();
      return;
    }
    // Bounded: a client flooding media while its publish is being decided loses the excess.
    if (this.#heldBytes + bytes > MAX_HELD_BYTES) return;
    this.#heldBytes += bytes;
    this.#enqueue(() => {
      this.#heldBytes -= bytes;
      task();
    });
  }

  #fail(error: unknown): void {
    const rtmpError = toRtmpError(error, 'ERR_RTMP_HANDLER_FAILED', undefined);
    if (!(error instanceof RtmpError) && rtmpError.message === '') {
      (rtmpError as { message: string }).message = 'handler failed';
    }
    this.connection.destroy(rtmpError);
  }

  #report(error: RtmpError): void {
    if (this.#errorReported) return;
    this.#errorReported = true;
    try {
      this.#hooks.onError(this, error);
    } catch {
      // A throwing log hook must not end anything else.
    }
  }

  /** Runs a handler callback that is not awaited (media), turning a throw or rejection into a session failure. */
  #fire(run: () => unknown): void {
    try {
      const result = run();
      if (result instanceof Promise) result.catch((error: unknown) => this.#fail(error));
    } catch (error) {
      this.#fail(error);
    }
  }

  #sendMedia(type: 8 | 9, timestamp: number, body: Uint8Array, streamId?: number): boolean {
    const id = streamId ?? this.playingStreams[0];
    if (id === undefined || !this.wants(id, type)) return false;
    const csid = type === MessageType.Audio ? ChunkStreams.Audio : ChunkStreams.Video;
    this.connection.send({ type, streamId: id, timestamp: timestamp >>> 0, payload: body }, csid);
    return this.#writable();
  }

  // Whether a send just made was written. `send()` also returns false under backpressure (and in a write batch
  // the socket stays corked, so that is common); "written" only depends on the socket still taking data.
  #writable(): boolean {
    return !this.connection.closed && this.connection.socket.writable;
  }

  async #onCommand(command: RtmpCommand): Promise<void> {
    if (!this.#connected && command.name !== 'connect') {
      if (command.transactionId > 0) this.#callFailed(command, 'connect first');
      return;
    }
    switch (command.name) {
      case 'connect':
        return this.#onConnect(command);
      case 'createStream':
        return this.#onCreateStream(command);
      case 'releaseStream':
        this.connection.reply(command, [null]);
        return;
      case 'FCPublish': {
        const name = typeof command.args[0] === 'string' ? command.args[0] : '';
        this.#sendOnStatusCommand('onFCPublish', 'NetStream.Publish.Start', name);
        this.connection.reply(command, [null]);
        return;
      }
      case 'FCUnpublish': {
        // Wirecast sends `false` as the name: end whatever this connection publishes under that name, or everything.
        const name = typeof command.args[0] === 'string' ? parseStreamName(command.args[0]).key : undefined;
        for (const stream of this.#streams.values()) {
          if (stream.mode === 'publishing' && (name === undefined || stream.key === name))
            this.#endStream(stream);
        }
        this.#sendOnStatusCommand('onFCUnpublish', 'NetStream.Unpublish.Success', name ?? '');
        this.connection.reply(command, [null]);
        return;
      }
      case 'FCSubscribe': {
        const name = typeof command.args[0] === 'string' ? command.args[0] : '';
        this.#sendOnStatusCommand('onFCSubscribe', 'NetStream.Play.Start', name);
        if (command.transactionId > 0) this.connection.reply(command, [null]);
        return;
      }
      case 'publish':
        return this.#onPublish(command);
      case 'play':
        return this.#onPlay(command);
      case 'deleteStream':
        return this.#onDeleteStream(command);
      case 'closeStream': {
        const stream = this.#streams.get(command.streamId);
        if (stream) this.#endStream(stream);
        return;
      }
      case 'getStreamLength':
        this.connection.reply(command, [null, 0]);
        return;
      case 'pause':
        return this.#onPause(command);
      case 'receiveAudio':
      case 'receiveVideo': {
        const stream = this.#streams.get(command.streamId);
        if (stream) {
          const on = command.args[0] !== false;
          if (command.name === 'receiveAudio') stream.receiveAudio = on;
          else stream.receiveVideo = on;
        }
        return;
      }
      case '_result':
      case '_error':
      case 'onBWDone':
      case '_checkbw':
        if (command.name === '_checkbw' && command.transactionId > 0) this.connection.reply(command, [null]);
        return;
      default:
        if (command.transactionId > 0) this.#callFailed(command, `Method not found (${command.name})`);
    }
  }

  #callFailed(command: RtmpCommand, description: string): void {
    const info: Record<string, AmfValue> = Object.create(null);
    info.level = 'error';
    info.code = 'NetConnection.Call.Failed';
    info.description = description;
    this.connection.replyError(command, [null, info]);
  }

  #sendOnStatusCommand(name: string, code: string, description: string): void {
    const info: Record<string, AmfValue> = Object.create(null);
    info.code = code;
    info.description = description;
    this.connection.sendCommand(name, 0, [null, info]);
  }

  async #onConnect(command: RtmpCommand): Promise<void> {
    if (this.#connected) {
      this.#callFailed(command, 'already connected');
      return;
    }
    const properties = asRecord(command.commandObject);
    const objectEncoding = properties.objectEncoding === 3 ? 3 : 0;
    const info: ConnectInfo = {
      transactionId: command.transactionId,
      properties,
      userArguments: command.args,
      app: typeof properties.app === 'string' ? properties.app : '',
      tcUrl: typeof properties.tcUrl === 'string' ? properties.tcUrl : '',
      objectEncoding,
    };
    const decision = await this.#handler.handleConnect?.(info);
    if (this.closed) return;
    if (isReject(decision)) {
      const status: Record<string, AmfValue> = Object.create(null);
      status.level = 'error';
      status.code = decision.code ?? 'NetConnection.Connect.Rejected';
      // FFmpeg prints only the description: carry the code in it too.
      status.description = `${decision.reason} (${status.code})`;
      this.connection.replyError(command, [null, status]);
      this.close(new RtmpError('ERR_RTMP_CONNECT_REJECTED', `connect rejected: ${decision.reason}`));
      return;
    }
    this.#connected = true;
    this.connectInfo = info;
    this.connection.setWindowAckSize(this.#options.windowAckSize);
    this.connection.setPeerBandwidth(this.#options.peerBandwidth, 2);
    this.connection.setChunkSize(this.#options.chunkSize);

    const server: Record<string, AmfValue> = Object.create(null);
    server.fmsVer = FMS_VERSION;
    server.capabilities = 31;
    server.mode = 1;
    // E-RTMP: we relay every codec untouched, so we accept what the client lists.
    if (Array.isArray(properties.fourCcList)) server.fourCcList = properties.fourCcList;
    if (properties.videoFourCcInfoMap !== undefined)
      server.videoFourCcInfoMap = properties.videoFourCcInfoMap;
    if (properties.audioFourCcInfoMap !== undefined)
      server.audioFourCcInfoMap = properties.audioFourCcInfoMap;
    if (typeof properties.capsEx === 'number') server.capsEx = properties.capsEx & SUPPORTED_CAPS_EX;
    const status: Record<string, AmfValue> = Object.create(null);
    status.level = 'status';
    status.code = 'NetConnection.Connect.Success';
    status.description = 'Connection succeeded.';
    status.objectEncoding = objectEncoding;
    this.connection.reply(command, [server, status]);
    this.emit('connect', info);
  }

  #onCreateStream(command: RtmpCommand): void {
    const id = this.#allocateStream();
    if (id === undefined) {
      this.#callFailed(command, 'too many streams');
      return;
    }
    this.connection.reply(command, [null, id]);
  }

  #allocateStream(preferred?: number): number | undefined {
    if (this.#streams.size >= this.#options.maxStreams) return undefined;
    let id = preferred ?? 1;
    if (preferred === undefined) while (this.#streams.has(id)) id++;
    const stream: StreamState = {
      id,
      mode: 'idle',
      key: '',
      demuxer: undefined,
      muxer: undefined,
      context: { streamId: id, streamKey: '' },
      receiveAudio: true,
      receiveVideo: true,
      paused: false,
      play: undefined,
    };
    this.#streams.set(id, stream);
    return id;
  }

  #streamFor(command: RtmpCommand): StreamState | undefined {
    let stream = this.#streams.get(command.streamId);
    // Some clients publish/play without createStream: accept it on the id they used (never on 0).
    if (!stream && command.streamId > 0 && this.#allocateStream(command.streamId) !== undefined) {
      stream = this.#streams.get(command.streamId);
    }
    return stream;
  }

  /**
   * The idle stream a publish or play command may use; otherwise answers it with the standard error status
   * (BadName / Play.Failed), closes the connection and returns undefined.
   */
  #idleStreamFor(command: RtmpCommand, rawName: string, action: 'publish' | 'play'): StreamState | undefined {
    const stream = this.#streamFor(command);
    if (stream?.mode === 'idle' && rawName !== '') return stream;
    const reason = !stream ? 'no such stream' : rawName === '' ? 'empty stream name' : 'stream busy';
    const [code, errorCode] =
      action === 'publish'
        ? (['NetStream.Publish.BadName', 'ERR_RTMP_PUBLISH_REJECTED'] as const)
        : (['NetStream.Play.Failed', 'ERR_RTMP_PLAY_REJECTED'] as const);
    this.connection.sendStatus(command.streamId, 'error', code, `${reason} (${code})`);
    this.close(new RtmpError(errorCode, `${action} rejected: ${reason}`));
    return undefined;
  }

  async #onPublish(command: RtmpCommand): Promise<void> {
    const rawName = typeof command.args[0] === 'string' ? command.args[0] : '';
    const type = typeof command.args[1] === 'string' ? command.args[1] : 'live';
    const stream = this.#idleStreamFor(command, rawName, 'publish');
    if (!stream) return;
    const { key, query } = parseStreamName(rawName);
    const info: PublishInfo = { streamId: stream.id, streamKey: key, name: rawName, type, query };
    const decision = await this.#handler.handlePublish?.(key, info);
    if (this.closed) return;
    if (isReject(decision)) {
      const code = decision.code ?? 'NetStream.Publish.Rejected';
      this.connection.sendStatus(stream.id, 'error', code, `${decision.reason} (${code})`);
      this.close(new RtmpError('ERR_RTMP_PUBLISH_REJECTED', `publish rejected: ${decision.reason}`));
      return;
    }
    stream.mode = 'publishing';
    stream.key = key;
    stream.context = { streamId: stream.id, streamKey: key };
    stream.demuxer = this.#options.demux ? new StreamDemuxer() : undefined;
    this.connection.sendUserControl({ type: 'streamBegin', streamId: stream.id });
    this.connection.sendStatus(
      stream.id,
      'status',
      'NetStream.Publish.Start',
      `${rawName} is now published.`,
      {
        details: rawName,
      },
    );
    this.emit('publish', info);
  }

  async #onPlay(command: RtmpCommand): Promise<void> {
    const rawName = typeof command.args[0] === 'string' ? command.args[0] : '';
    const start = typeof command.args[1] === 'number' ? command.args[1] : -2000;
    const duration = typeof command.args[2] === 'number' ? command.args[2] : -1;
    const reset = command.args[3] !== false;
    const stream = this.#idleStreamFor(command, rawName, 'play');
    if (!stream) return;
    const { key, query } = parseStreamName(rawName);
    const info: PlayInfo = { streamId: stream.id, name: key, rawName, query, start, duration, reset };
    const decision = await this.#handler.handlePlay?.(info);
    if (this.closed) return;
    if (isReject(decision)) {
      const code = decision.code ?? 'NetStream.Play.StreamNotFound';
      this.connection.sendStatus(stream.id, 'error', code, `${decision.reason} (${code})`);
      this.close(new RtmpError('ERR_RTMP_PLAY_REJECTED', `play rejected: ${decision.reason}`));
      return;
    }
    stream.mode = 'playing';
    stream.key = key;
    stream.play = info;
    stream.context = { streamId: stream.id, streamKey: key };
    if (this.connection.outChunkSize !== this.#options.chunkSize)
      this.connection.setChunkSize(this.#options.chunkSize);
    this.connection.sendUserControl({ type: 'streamBegin', streamId: stream.id });
    if (reset) {
      this.connection.sendStatus(
        stream.id,
        'status',
        'NetStream.Play.Reset',
        `Playing and resetting ${rawName}.`,
        {
          details: rawName,
        },
      );
    }
    this.connection.sendStatus(stream.id, 'status', 'NetStream.Play.Start', `Started playing ${rawName}.`, {
      details: rawName,
    });
    this.connection.sendData(stream.id, ['|RtmpSampleAccess', true, true]);
    this.emit('play', info);
  }

  async #onDeleteStream(command: RtmpCommand): Promise<void> {
    const id = typeof command.args[0] === 'number' ? command.args[0] : command.streamId;
    const stream = this.#streams.get(id);
    if (stream) {
      this.#endStream(stream);
      this.#streams.delete(id);
    }
    const verdict = await this.#handler.handleDeleteStream?.(id);
    if (verdict === 'close' && !this.closed) this.close();
  }

  #onPause(command: RtmpCommand): void {
    const stream = this.#streams.get(command.streamId);
    if (stream?.mode !== 'playing') {
      if (command.transactionId > 0) this.#callFailed(command, 'not playing');
      return;
    }
    const pause = command.args[0] === true;
    stream.paused = pause;
    this.connection.sendStatus(
      stream.id,
      'status',
      pause ? 'NetStream.Pause.Notify' : 'NetStream.Unpause.Notify',
      pause ? 'Paused.' : 'Unpaused.',
    );
    this.emit('pause', stream.context, pause);
  }

  /** Ends a publish or play on a stream, firing the matching event and handler callback once. */
  #endStream(stream: StreamState): void {
    const mode = stream.mode;
    if (mode === 'idle') return;
    stream.mode = 'idle';
    stream.demuxer = undefined;
    stream.muxer = undefined;
    stream.paused = false;
    const context = stream.context;
    if (mode === 'publishing') {
      this.#emitSafe('unpublish', context);
      this.#fire(() => this.#handler.handleUnpublish?.(context));
    } else {
      this.#emitSafe('stop', context);
      this.#fire(() => this.#handler.handleStop?.(context));
    }
  }

  #emitSafe<K extends keyof ClientSessionEvents>(event: K, ...args: ClientSessionEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: ClientSessionEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.#fail(error);
    }
  }

  #onData(data: RtmpDataMessage): void {
    const stream = this.#streams.get(data.streamId);
    if (stream?.mode !== 'publishing') return;
    let values = data.values;
    let payload = data.payload;
    if (data.messageType === MessageType.DataAmf3) payload = payload.subarray(1);
    if (values[0] === '@setDataFrame') {
      values = values.slice(1);
      // Players expect a bare onMetaData: strip the wrapper without re-encoding what follows.
      payload = startsWith(payload, SET_DATA_FRAME) ? payload.subarray(SET_DATA_FRAME.byteLength) : payload;
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
      const metadata = asRecord(values[1]);
      this.#fire(() => this.#handler.handleMetadata?.(metadata, stream.context));
    }
    this.#fire(() => this.#handler.handleMessage?.(message, stream.context));
  }

  #onMedia(message: RtmpMessage): void {
    if (message.type !== MessageType.Audio && message.type !== MessageType.Video) return;
    const stream = this.#streams.get(message.streamId);
    // Media before NetStream.Publish.Start (or on a stream not publishing) is dropped.
    if (stream?.mode !== 'publishing') return;
    const context = stream.context;
    const handler = this.#handler;
    if (handler.handleMessage) {
      try {
        handler.handleMessage(message, context);
      } catch (error) {
        this.#fail(error);
        return;
      }
    }
    const deliver = message.type === MessageType.Video ? handler.handleVideoData : handler.handleAudioData;
    if (!deliver) return;
    if (!stream.demuxer) {
      this.#fire(() =>
        deliver.call(handler, { kind: 'raw', timestamp: message.timestamp, body: message.payload }, context),
      );
      return;
    }
    const events = stream.demuxer.push(message.type, message.timestamp, message.payload);
    for (const event of events) {
      if (this.#closed) return;
      this.#fire(() => deliver.call(handler, event, context));
    }
  }

  #onClose(error: RtmpError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stream of this.#streams.values()) this.#endStream(stream);
    this.#streams.clear();
    if (error) this.#report(error);
    if (!this.#disconnectCalled) {
      this.#disconnectCalled = true;
      const handler = this.#handler;
      try {
        const result = handler.handleDisconnect?.(error);
        if (result instanceof Promise) {
          result.catch((e: unknown) => this.#report(toRtmpError(e, 'ERR_RTMP_HANDLER_FAILED')));
        }
      } catch (e) {
        this.#report(toRtmpError(e, 'ERR_RTMP_HANDLER_FAILED'));
      }
    }
    try {
      this.emit('close', error);
    } catch {
      // Nothing left to end.
    }
  }
}
