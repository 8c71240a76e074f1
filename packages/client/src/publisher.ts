import { type AmfValue, createAmfObject, EcmaArray } from '@rtmp/amf';
import type { RtmpMessage } from '@rtmp/chunk';
import type { RtmpConnection, RtmpStatus } from '@rtmp/connection';
import { concatBytes, type DemuxEvent, StreamMuxer, wrapSetDataFrame } from '@rtmp/flv-demux';
import { RtmpClientError, type RtmpServerStatus } from './errors.js';
import { HeaderMemory, type PublishedTag, type TagType } from './headers.js';
import type { StepOptions } from './options.js';
import { refusalReason } from './status.js';
import type { StreamHandle } from './stream.js';

/** `live` (default), `record` or `append`, as sent in `publish`. */
export type PublishType = 'live' | 'record' | 'append';

/** Options of {@link RtmpClient.publish}. */
export interface PublishOptions extends StepOptions {
  /** Stream name (default: the URL's, query string kept). */
  name?: string;
  /** Publish type. Default `live`. */
  type?: PublishType;
}

const PUBLISH_OK = new Set(['NetStream.Publish.Start']);

type Open = (
  connection: RtmpConnection,
  streamId: number,
  name: string,
  type: PublishType,
  forget: () => void,
) => { publisher: RtmpPublisher; handle: StreamHandle };

// Both set by RtmpPublisher's static block: the only code that may build a publisher or read two publishers'
// remembered headers.
let open: Open;
let replay: (from: RtmpPublisher, to: RtmpPublisher) => Promise<void>;

/** Creates a publisher and the handle its client drives it with (the constructor is not public). */
export function openPublisher(...args: Parameters<Open>): ReturnType<Open> {
  return open(...args);
}

/**
 * Sends `to` what `from` remembers (metadata, sequence headers: {@link RtmpPublisher.headers}) and `to` has not sent
 * with the same bytes, in the order `from` sent them.
 */
export function replayHeaders(from: RtmpPublisher, to: RtmpPublisher): Promise<void> {
  return replay(from, to);
}

/**
 * One stream being published. Created by {@link RtmpClient.publish} once the server said Publish.Start.
 *
 * Backpressure: every `send*` method writes at once and returns a promise that resolves when the socket can take
 * more (immediately when its buffer is below the high-water mark). Awaiting each send keeps memory bounded at
 * one socket buffer, whatever the network does. {@link RtmpPublisher.write} is the synchronous form.
 *
 * `await using publisher = await client.publish()` unpublishes at the end of the scope.
 */
export class RtmpPublisher implements AsyncDisposable {
  /** Message stream id given by `createStream`. */
  readonly streamId: number;
  /** The stream name sent in `publish`. */
  readonly name: string;
  /** The publish type sent. */
  readonly type: PublishType;
  /** Media and data messages written so far. */
  messagesSent = 0;
  /** Payload bytes written so far (chunk headers excluded). */
  bytesSent = 0;

  readonly #connection: RtmpConnection;
  readonly #forget: () => void;
  readonly #muxer = new StreamMuxer();
  readonly #headers = new HeaderMemory();
  #ended = false;
  #error: RtmpClientError | undefined;
  #drain: { promise: Promise<void>; resolve: () => void; reject: (e: RtmpClientError) => void } | undefined;
  #start: { resolve: () => void; reject: (e: RtmpClientError) => void } | undefined;

  // Built by RtmpClient.publish only.
  private constructor(
    connection: RtmpConnection,
    streamId: number,
    name: string,
    type: PublishType,
    forget: () => void,
  ) {
    this.#connection = connection;
    this.streamId = streamId;
    this.name = name;
    this.type = type;
    this.#forget = forget;
  }

  /** True after {@link RtmpPublisher.unpublish}, a close, or a server error status. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * What a new connection needs before media, as this publisher sent it: the last `onMetaData`, and per track
   * (audio and video; legacy FLV and Enhanced RTMP; each track of a multitrack tag as a tag of its own) the current
   * sequence header and colorInfo metadata or multichannel config, in the order they were last sent. A newer header
   * replaces its track's, an end of sequence forgets its track. {@link RtmpClient.followReconnect} sends these on
   * the new connection by itself; send them yourself when you publish the stream again after a disconnect.
   */
  get headers(): PublishedTag[] {
    return this.#headers.tags();
  }

  /** Bytes waiting in the socket: what backpressure is measured on. */
  get writableLength(): number {
    return this.#connection.writableLength;
  }

  /** True when the socket buffer is over its high-water mark: wait for {@link RtmpPublisher.drained}. */
  get needDrain(): boolean {
    return this.#connection.needDrain;
  }

  /**
   * Sends `@setDataFrame onMetaData` with `metadata` as an ECMA array (what FFmpeg and OBS send; servers strip
   * the wrapper before relaying).
   */
  sendMetadata(metadata: Readonly<Record<string, AmfValue>> | EcmaArray, timestamp = 0): Promise<void> {
    let array: EcmaArray;
    if (metadata instanceof EcmaArray) array = metadata;
    else {
      const properties = createAmfObject() as Record<string, AmfValue>;
      for (const [key, value] of Object.entries(metadata)) properties[key] = value;
      array = new EcmaArray(properties);
    }
    return this.sendTag(18, timestamp, wrapSetDataFrame('onMetaData', [array]));
  }

  /**
   * Sends one FLV tag body (type 8 audio, 9 video, 18 AMF0 data) at `timestamp` ms. Pieces are joined once
   * (the chunk encoder needs one payload); a single `Uint8Array` is sent without a copy.
   */
  sendTag(type: TagType, timestamp: number, body: Uint8Array | readonly Uint8Array[]): Promise<void> {
    try {
      if (!this.write(type, timestamp, body)) return this.drained();
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }

  /**
   * Sends a demuxed item (`codec`, `video`, `audio`, `metadata`, `sequenceEnd` events of `@rtmp/flv-demux`),
   * muxed back into tag bodies with its `StreamMuxer`: a `codec` event must precede the samples of its track.
   */
  async sendEvent(event: DemuxEvent): Promise<void> {
    let tags: ReturnType<StreamMuxer['push']>;
    try {
      tags = this.#muxer.push(event);
    } catch (error) {
      throw new RtmpClientError('ERR_RTMP_INVALID_OPTION', 'send', `cannot mux ${event.kind} event`, {
        cause: error,
      });
    }
    for (const tag of tags) {
      // Metadata events become plain onMetaData data messages; publishers wrap them for the server.
      if (tag.type === 18 && event.kind === 'metadata' && event.mediaType === undefined) {
        await this.sendTag(18, tag.timestamp, wrapSetDataFrame(event.name, event.args));
      } else {
        await this.sendTag(tag.type, tag.timestamp, tag.body);
      }
    }
  }

  /**
   * Writes a tag without waiting. Returns false when the socket buffer is full: wait for
   * {@link RtmpPublisher.drained} before writing more.
   * @throws {RtmpClientError} `ERR_RTMP_CLOSED` once the publish ended, `ERR_RTMP_INVALID_OPTION` for bad input.
   */
  write(type: TagType, timestamp: number, body: Uint8Array | readonly Uint8Array[]): boolean {
    if (this.#ended) {
      throw this.#error ?? new RtmpClientError('ERR_RTMP_CLOSED', 'send', 'the publish has ended');
    }
    if (type !== 8 && type !== 9 && type !== 18) {
      throw new RtmpClientError(
        'ERR_RTMP_INVALID_OPTION',
        'send',
        `tag type ${String(type)} is not 8, 9 or 18`,
      );
    }
    if (!Number.isInteger(timestamp) || timestamp < 0 || timestamp > 0xffffffff) {
      throw new RtmpClientError(
        'ERR_RTMP_INVALID_OPTION',
        'send',
        `timestamp ${timestamp} outside 0..2^32-1`,
      );
    }
    const payload = body instanceof Uint8Array ? body : body.length === 1 ? body[0]! : concatBytes(body);
    if (payload.byteLength > 0xffffff) {
      throw new RtmpClientError(
        'ERR_RTMP_INVALID_OPTION',
        'send',
        `message of ${payload.byteLength} bytes over 16 MiB`,
      );
    }
    const message: RtmpMessage = { type, streamId: this.streamId, timestamp, payload };
    this.#connection.send(message);
    this.#headers.observe(type, timestamp, payload);
    this.messagesSent++;
    this.bytesSent += payload.byteLength;
    return !this.#connection.needDrain;
  }

  /** Resolves when the socket buffer is below its high-water mark (at once if it already is). */
  drained(): Promise<void> {
    if (this.#ended) {
      return Promise.reject(
        this.#error ?? new RtmpClientError('ERR_RTMP_CLOSED', 'send', 'the publish has ended'),
      );
    }
    if (!this.#connection.needDrain) return Promise.resolve();
    if (!this.#drain) {
      let resolve!: () => void;
      let reject!: (e: RtmpClientError) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#drain = { promise, resolve, reject };
    }
    return this.#drain.promise;
  }

  /**
   * Stops publishing: `FCUnpublish` and `deleteStream`. The connection stays open (publish again, or close it).
   */
  unpublish(): void {
    if (this.#ended) return;
    this.#finish(undefined);
    this.#connection.sendCommand('FCUnpublish', 0, [null, this.name]);
    this.#connection.sendCommand('deleteStream', 0, [null, this.streamId]);
  }

  /** Same as {@link RtmpPublisher.unpublish}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.unpublish();
  }

  static {
    open = (connection, streamId, name, type, forget) => {
      const publisher = new RtmpPublisher(connection, streamId, name, type, forget);
      return { publisher, handle: publisher.#handle() };
    };
    replay = async (from, to) => {
      for (const tag of from.#headers.missingFrom(to.#headers))
        await to.sendTag(tag.type, tag.timestamp, tag.body);
    };
  }

  #handle(): StreamHandle {
    return {
      name: this.name,
      // Resolves on Publish.Start, rejects on an error status or a close.
      started: () =>
        new Promise<void>((resolve, reject) => {
          this.#start = { resolve, reject };
        }),
      end: () => this.unpublish(),
      onStatus: (status) => this.#onStatus(status),
      onError: (status) => this.#onError(status),
      onDrain: () => {
        const drain = this.#drain;
        if (drain && !this.#connection.needDrain) {
          this.#drain = undefined;
          drain.resolve();
        }
      },
      onClose: (error) =>
        this.#finish(error ?? new RtmpClientError('ERR_RTMP_CLOSED', 'send', 'the connection closed')),
      // Publishers receive no media.
      onMessage: noop,
      onData: noop,
      onStreamEof: noop,
    };
  }

  #onStatus(status: RtmpStatus): void {
    if (this.#start) {
      if (PUBLISH_OK.has(status.code)) {
        this.#start.resolve();
        this.#start = undefined;
      } else if (status.level === 'error') {
        this.#onError(status);
      }
      return;
    }
    if (status.level === 'error') this.#onError(status);
  }

  #onError(status: RtmpServerStatus): void {
    const error = new RtmpClientError(
      'ERR_RTMP_PUBLISH_REJECTED',
      'publish',
      `publish rejected by the server: ${refusalReason(status)}`,
      {
        status: { level: status.level, code: status.code, description: status.description },
      },
    );
    this.#finish(error);
  }

  #finish(error: RtmpClientError | undefined): void {
    if (!this.#ended) {
      this.#ended = true;
      this.#error = error;
      this.#forget();
    }
    const failure = error ?? new RtmpClientError('ERR_RTMP_CLOSED', 'send', 'the publish has ended');
    this.#start?.reject(failure);
    this.#start = undefined;
    this.#drain?.reject(failure);
    // Nobody may be waiting on this drain: its rejection must not surface as an unhandled one.
    this.#drain?.promise.catch(() => {});
    this.#drain = undefined;
  }
}

function noop(): void {}
