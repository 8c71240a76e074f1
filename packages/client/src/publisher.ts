import { type AmfValue, createAmfObject, EcmaArray } from '@rtmp/amf';
import type { RtmpMessage } from '@rtmp/chunk';
import type { RtmpConnection, RtmpDataMessage, RtmpStatus } from '@rtmp/connection';
import { concatBytes, type DemuxEvent, muxScriptData, StreamMuxer } from '@rtmp/flv-demux';
import type { StepOptions } from './client.js';
import { RtmpClientError, type RtmpServerStatus } from './errors.js';

/** `live` (default), `record` or `append`, as sent in `publish`. */
export type PublishType = 'live' | 'record' | 'append';

/** Options of {@link RtmpClient.publish}. */
export interface PublishOptions extends StepOptions {
  /** Stream name (default: the URL's, query string kept). */
  name?: string;
  /** Publish type. Default `live`. */
  type?: PublishType;
}

/** The media message types a publisher sends: 8 audio, 9 video, 18 data (AMF0). */
export type TagType = 8 | 9 | 18;

const PUBLISH_OK = new Set(['NetStream.Publish.Start']);

/**
 * One stream being published. Created by {@link RtmpClient.publish} once the server said Publish.Start.
 *
 * Backpressure: every `send*` method writes at once and returns a promise that resolves when the socket can take
 * more (immediately when its buffer is below the high-water mark). Awaiting each send keeps memory bounded at
 * one socket buffer, whatever the network does. {@link RtmpPublisher.write} is the synchronous form.
 */
export class RtmpPublisher {
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
  #ended = false;
  #error: RtmpClientError | undefined;
  #drain: { promise: Promise<void>; resolve: () => void; reject: (e: RtmpClientError) => void } | undefined;
  #start: { resolve: () => void; reject: (e: RtmpClientError) => void } | undefined;

  /** @internal Built by {@link RtmpClient.publish}. */
  constructor(
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
    return this.sendTag(18, timestamp, muxScriptData('onMetaData', [array], true));
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
        await this.sendTag(18, tag.timestamp, muxScriptData(event.name, event.args, true));
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
    this.end();
  }

  /** @internal */
  end(): void {
    if (this.#ended) return;
    this.#finish(undefined);
    this.#connection.sendCommand('FCUnpublish', 0, [null, this.name]);
    this.#connection.sendCommand('deleteStream', 0, [null, this.streamId]);
  }

  /** @internal Resolves on Publish.Start, rejects on an error status or a close. */
  started(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#start = { resolve, reject };
    });
  }

  /** @internal */
  onStatus(status: RtmpStatus): void {
    if (this.#start) {
      if (PUBLISH_OK.has(status.code)) {
        this.#start.resolve();
        this.#start = undefined;
      } else if (status.level === 'error') {
        this.onError(status);
      }
      return;
    }
    if (status.level === 'error') this.onError(status);
  }

  /** @internal */
  onError(status: RtmpServerStatus): void {
    const reason = [status.code, status.description].filter((s) => s !== '').join(': ') || 'refused';
    const error = new RtmpClientError(
      'ERR_RTMP_PUBLISH_REJECTED',
      'publish',
      `publish rejected by the server: ${reason}`,
      {
        status: { level: status.level, code: status.code, description: status.description },
      },
    );
    this.#finish(error);
  }

  /** @internal */
  onDrain(): void {
    const drain = this.#drain;
    if (drain && !this.#connection.needDrain) {
      this.#drain = undefined;
      drain.resolve();
    }
  }

  /** @internal */
  onClose(error: RtmpClientError | undefined): void {
    this.#finish(error ?? new RtmpClientError('ERR_RTMP_CLOSED', 'send', 'the connection closed'));
  }

  /** @internal Publishers receive no media. */
  onMessage(_message: RtmpMessage): void {}

  /** @internal */
  onData(_data: RtmpDataMessage): void {}

  /** @internal */
  onStreamEof(): void {}

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
    this.#drain?.promise.catch(() => {});
    this.#drain = undefined;
  }
}
