import type { AmfValue } from '@rtmp/amf';
import type { RtmpMessage } from '@rtmp/chunk';
import type { EnhancedRtmpCapabilities, RtmpError } from '@rtmp/connection';
import type { DemuxEvent } from '@rtmp/flv-demux';
import type { ClientSession } from './session.js';

/** A refusal returned by a handler callback. Build it with {@link reject}. */
export interface RejectDecision {
  readonly reject: true;
  /** Human-readable reason, sent as the status `description` (FFmpeg prints it). */
  readonly reason: string;
  /** Status code to send instead of the default (e.g. `NetStream.Publish.BadName`). */
  readonly code?: string;
}

/** What connect/publish/play callbacks return: nothing (or `'accept'`) to accept, a {@link RejectDecision} to refuse. */
// biome-ignore lint/suspicious/noConfusingVoidType: a callback that accepts simply returns nothing.
export type Decision = void | undefined | 'accept' | RejectDecision;

/** Builds a refusal; `code` overrides the standard status code of the refused command. */
export function reject(reason: string, code?: string): RejectDecision {
  return code === undefined ? { reject: true, reason } : { reject: true, reason, code };
}

/**
 * An acceptance of `connect` that narrows what the server states of Enhanced RTMP in its `_result`. Build it with
 * {@link acceptConnect}.
 */
export interface ConnectAcceptance {
  readonly accept: true;
  /**
   * What to state instead of {@link ConnectInfo.serverEnhancedRtmp}, limited to it: a handler withdraws
   * capabilities, it never adds one (a property left out is withdrawn). `false` states nothing of E-RTMP: the
   * answer a legacy client gets.
   */
  readonly enhancedRtmp: EnhancedRtmpCapabilities | false;
}

/** What {@link RtmpHandler.handleConnect} returns: a {@link Decision}, or a {@link ConnectAcceptance}. */
export type ConnectDecision = Decision | ConnectAcceptance;

/**
 * Accepts `connect` and narrows the Enhanced RTMP capabilities the server states to this client, e.g.
 * `acceptConnect({ ...info.serverEnhancedRtmp, capsEx: info.serverEnhancedRtmp.capsEx & ~CapsEx.Reconnect })`.
 * Without E-RTMP in the client's `connect` the answer stays the legacy one whatever this says.
 */
export function acceptConnect(enhancedRtmp: EnhancedRtmpCapabilities | false): ConnectAcceptance {
  return { accept: true, enhancedRtmp };
}

/** The `connect` command as received. */
export interface ConnectInfo {
  transactionId: number;
  /** The command object (app, tcUrl, flashVer, objectEncoding, E-RTMP fourCcList...). */
  properties: Record<string, AmfValue>;
  /** Extra values after the command object. */
  userArguments: AmfValue[];
  /** `properties.app` as a string ('' when absent). */
  app: string;
  /** `properties.tcUrl` as a string ('' when absent; never validated as a URL). */
  tcUrl: string;
  /** 0 (AMF0) or 3 (AMF3) as asked by the client. */
  objectEncoding: number;
  /**
   * The Enhanced RTMP capabilities the client announced (`fourCcList`, `videoFourCcInfoMap`, `audioFourCcInfoMap`,
   * `capsEx`, read leniently); undefined when it sent none of them, as FFmpeg 5.1, OBS 29 and librtmp do.
   */
  enhancedRtmp: EnhancedRtmpCapabilities | undefined;
  /**
   * What the server will state of Enhanced RTMP in its `_result` (its `enhancedRtmp` option) unless the connect
   * decision narrows it ({@link acceptConnect}); undefined when it states nothing: the client announced nothing of
   * E-RTMP (its answer stays the legacy one), or the option is `false`.
   */
  serverEnhancedRtmp: EnhancedRtmpCapabilities | undefined;
}

/** A publish request. */
export interface PublishInfo {
  /** Message stream id the publish arrived on. */
  streamId: number;
  /** Stream key without its query string. */
  streamKey: string;
  /** The name exactly as sent (may contain `?query`). */
  name: string;
  /** `live`, `record` or `append` (`live` when absent). */
  type: string;
  /** Query parameters of the name (`key?token=abc` gives `{ token: 'abc' }`). */
  query: Record<string, string>;
}

/** A play request. */
export interface PlayInfo {
  streamId: number;
  /** Stream key without its query string. */
  name: string;
  /** The name exactly as sent. */
  rawName: string;
  query: Record<string, string>;
  /** -2000 (live or recorded, the default), -1000 (live only), >= 0 (recorded from there). */
  start: number;
  /** -1 (default) = until the end. */
  duration: number;
  /** Whether to flush previous playlists (default true). */
  reset: boolean;
}

/** A `seek` of a play stream. */
export interface SeekInfo {
  streamId: number;
  /** Stream key (name without its query string) being played. */
  streamKey: string;
  /** Where to go, in ms (a non-negative number). */
  position: number;
}

/** Which stream a media/metadata callback is about. */
export interface StreamContext {
  streamId: number;
  streamKey: string;
}

/** With `demux: false`: the media message exactly as received (timestamp + FLV tag body). */
export interface RawMedia {
  kind: 'raw';
  timestamp: number;
  /** FLV tag body (a view into the received bytes: copy it to keep it). */
  body: Uint8Array;
}

/** What a video/audio callback receives: demuxed events (default) or raw tag bodies (`demux: false`). */
export type MediaEvent = DemuxEvent | RawMedia;

/**
 * The per-connection handler. One instance is built for every connection by the server's `handler`
 * factory from `handlerOptions`. Every callback is optional and may be async: the session waits for a
 * connect/publish/play decision before answering the client, and processes commands in order.
 * An exception (or rejected promise) in any callback ends that connection only, with
 * `ERR_RTMP_HANDLER_FAILED` (the exception is its `cause`); one that comes after the connection ended is
 * reported as the server's `sessionError`, never dropped.
 */
export interface RtmpHandler {
  /** Called once, before any other callback. */
  init?(): void | Promise<void>;
  /**
   * Accept or refuse `connect`. Refusal: `_error` NetConnection.Connect.Rejected, then the connection closes. An
   * {@link acceptConnect} decision accepts and narrows the Enhanced RTMP capabilities stated in the `_result`.
   */
  handleConnect?(connect: ConnectInfo): ConnectDecision | Promise<ConnectDecision>;
  /** Accept or refuse `publish`. Refusal: onStatus error NetStream.Publish.Rejected (or your code), then close. */
  handlePublish?(streamKey: string, info: PublishInfo): Decision | Promise<Decision>;
  /** Accept or refuse `play`. Refusal: onStatus error NetStream.Play.StreamNotFound (or your code), then close. */
  handlePlay?(play: PlayInfo): Decision | Promise<Decision>;
  /**
   * The publish was accepted: NetStream.Publish.Start has just been sent. Unlike the return of
   * {@link handlePublish}, this is final (the connection did not close while the decision was pending, and a
   * wrapping handler such as the relay's did not refuse it after yours accepted). Called once per accepted publish,
   * before any of its media reaches the handler, and not awaited: media flows while a promise it returns settles.
   */
  handlePublishStart?(info: PublishInfo): void | Promise<void>;
  /**
   * The play was accepted: Play.Reset/Play.Start/`|RtmpSampleAccess` have just been sent and media may be sent to
   * `info.streamId`. Final, like {@link handlePublishStart}; called once per accepted play, not awaited.
   */
  handlePlayStart?(info: PlayInfo): void | Promise<void>;
  /**
   * `seek` on a play stream (what a player sends to move in a recorded stream). Return false when the stream cannot
   * seek: the client gets onStatus error NetStream.Seek.Failed. Otherwise NetStream.Seek.Notify is sent once it
   * returns (before media it sends afterwards, if it sends them asynchronously) and the session emits `seek`.
   * Without this callback a seek is refused like any unknown command (`_error` NetConnection.Call.Failed).
   */
  handleSeek?(seek: SeekInfo): boolean | undefined | Promise<boolean | undefined>;
  /** A publish ended (FCUnpublish/deleteStream/closeStream/disconnect). Called once per accepted publish. */
  handleUnpublish?(context: StreamContext): void | Promise<void>;
  /** A play ended (closeStream/deleteStream/disconnect). Called once per accepted play. */
  handleStop?(context: StreamContext): void | Promise<void>;
  /** `deleteStream` arrived; return `'close'` to close the connection. Default `'keep'`. */
  handleDeleteStream?(
    streamId: number,
    // biome-ignore lint/suspicious/noConfusingVoidType: returning nothing means 'keep'.
  ): 'keep' | 'close' | void | Promise<'keep' | 'close' | void>;
  /** Metadata of a published stream, without the `@setDataFrame` wrapper. */
  handleMetadata?(metadata: Record<string, AmfValue>, context: StreamContext): void | Promise<void>;
  /** Video of a published stream: demux events (`codec`, `video`, ...) or {@link RawMedia}. */
  handleVideoData?(event: MediaEvent, context: StreamContext): void | Promise<void>;
  /** Audio of a published stream: demux events (`codec`, `audio`, ...) or {@link RawMedia}. */
  handleAudioData?(event: MediaEvent, context: StreamContext): void | Promise<void>;
  /**
   * Every audio, video and data message of a published stream as received (after Publish.Start), whatever
   * `demux` says. Synchronous on purpose: the relay forwards from here without a promise per message.
   */
  handleMessage?(message: RtmpMessage, context: StreamContext): void;
  /** The connection is gone. Called exactly once, whatever ended it; `error` is undefined for a clean close. */
  handleDisconnect?(error: RtmpError | undefined): void | Promise<void>;
}

/** Builds the handler of one connection. Receives the server's `handlerOptions` and the connection's session. */
export type RtmpHandlerFactory<O = unknown> = (options: O, session: ClientSession) => RtmpHandler;
