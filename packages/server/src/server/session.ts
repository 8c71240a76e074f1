import { EventEmitter } from 'node:events';
import type { AmfValue } from '@rtmp/amf';
import { MessageType } from '@rtmp/chunk';
import type { NegotiatedEnhancedRtmp, RtmpConnection, RtmpError } from '@rtmp/connection';
import type { DemuxEvent } from '@rtmp/flv-demux';
import { SessionCore, type SessionHooks, type SessionOptions } from './core.js';
import type { ConnectInfo, PlayInfo, PublishInfo, RtmpHandlerFactory, StreamContext } from './handler.js';
import { endPlayback, sendDemuxed, sendMedia, sendMetadata } from './play.js';
import { statusInfo } from './status.js';

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
  /** A play stream moved to `position` ms (a `seek` the handler's `handleSeek` accepted). */
  seek: [context: StreamContext, position: number];
  /** The session is closed; `error` is undefined for a clean close. */
  close: [error: RtmpError | undefined];
}

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

const CAPS_EX_RECONNECT = 1;

let nextSessionId = 1;

// What RtmpServer needs of a session and applications must not reach: set in the class's static block, so that
// they can use its private members, and exported from this module only (the package does not export them).
let construct: (
  connection: RtmpConnection,
  factory: RtmpHandlerFactory<unknown>,
  handlerOptions: unknown,
  options: SessionOptions,
  hooks: SessionHooks,
) => ClientSession;
let coreOf: (session: ClientSession) => SessionCore;

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

  readonly #core: SessionCore;

  private constructor(
    connection: RtmpConnection,
    factory: RtmpHandlerFactory<unknown>,
    handlerOptions: unknown,
    options: SessionOptions,
    hooks: SessionHooks,
  ) {
    super();
    this.connection = connection;
    const socket = connection.socket;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.#core = new SessionCore(this, factory, handlerOptions, options, hooks);
  }

  static {
    construct = (...args) => new ClientSession(...args);
    coreOf = (session) => session.#core;
  }

  /**
   * Enhanced RTMP as settled by `connect`: what the client announced, what the server stated in its `_result` (after
   * the handler's connect decision), and the `capsEx` bits both stated. Undefined until `connect` was accepted.
   */
  get enhancedRtmp(): NegotiatedEnhancedRtmp | undefined {
    return this.#core.enhancedRtmp;
  }

  /** Message stream ids this client currently plays. */
  get playingStreams(): number[] {
    return this.#core.streams.ids('playing');
  }

  /** Message stream ids this client currently publishes on. */
  get publishingStreams(): number[] {
    return this.#core.streams.ids('publishing');
  }

  /** True once the connection is closed or closing. */
  get closed(): boolean {
    return this.#core.closedOrClosing;
  }

  /** Whether a play stream wants audio/video and is not paused (`receiveAudio`/`receiveVideo`/`pause`). */
  wants(streamId: number, type: 8 | 9): boolean {
    return this.#core.streams.wants(streamId, type);
  }

  /** Sends a video tag body to a playing stream (default: the first one). Returns false when not written. */
  sendVideo(timestamp: number, body: Uint8Array, streamId?: number): boolean {
    return sendMedia(this.#core, MessageType.Video, timestamp, body, streamId);
  }

  /** Sends an audio tag body to a playing stream (default: the first one). */
  sendAudio(timestamp: number, body: Uint8Array, streamId?: number): boolean {
    return sendMedia(this.#core, MessageType.Audio, timestamp, body, streamId);
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
    return sendDemuxed(this.#core, event, streamId);
  }

  /** Sends `onMetaData` (an ECMA array, no `@setDataFrame`) to a playing stream. */
  sendMetadata(metadata: Record<string, AmfValue>, streamId?: number, timestamp = 0): boolean {
    return sendMetadata(this.#core, metadata, streamId, timestamp);
  }

  /**
   * Tells a player its stream ended: StreamEOF, then NetStream.Play.UnpublishNotify and NetStream.Play.Stop.
   * The stream stops being a play stream; the connection stays open.
   */
  endPlayback(streamId: number, description = 'Stream ended'): void {
    endPlayback(this.#core, streamId, description);
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
    const core = this.#core;
    if (!core.connected || core.closedOrClosing) return false;
    const description = request.description ?? 'The server asks the client to reconnect.';
    const extra = request.tcUrl === undefined ? undefined : { tcUrl: request.tcUrl };
    return core.sendStatus(
      0,
      statusInfo('status', 'NetConnection.Connect.ReconnectRequest', description, extra),
    );
  }

  /**
   * Closes the connection after pending writes are flushed. With an error, it is reported once
   * (server `sessionError`) and given to `handleDisconnect`.
   */
  close(error?: RtmpError): void {
    this.#core.close(error);
  }
}

/** Creates the session of an accepted connection (for `RtmpServer`). */
export function createSession(
  connection: RtmpConnection,
  factory: RtmpHandlerFactory<unknown>,
  handlerOptions: unknown,
  options: SessionOptions,
  hooks: SessionHooks,
): ClientSession {
  return construct(connection, factory, handlerOptions, options, hooks);
}

/** Graceful shutdown used by `RtmpServer.stop()`: players are told their stream ended, then the session closes. */
export function shutdownSession(session: ClientSession): Promise<void> {
  const core = coreOf(session);
  if (core.closed) return Promise.resolve();
  const done = new Promise<void>((resolve) => session.once('close', () => resolve()));
  for (const id of session.playingStreams) session.endPlayback(id, 'Server is shutting down');
  session.close();
  return done;
}

/**
 * A server listener of one of the session's events threw: ends the session with `ERR_RTMP_HANDLER_FAILED`, or
 * reports the failure when the session had already ended.
 */
export function failSession(session: ClientSession, error: unknown): void {
  coreOf(session).fail(error);
}
