import { EventEmitter } from 'node:events';
import type { AmfValue } from '@rtmp/amf';
import type { RtmpMessage } from '@rtmp/chunk';
import type { RtmpConnection, RtmpDataMessage, RtmpStatus } from '@rtmp/connection';
import {
  type AudioCodecEvent,
  type AudioSampleEvent,
  type DemuxEvent,
  StreamDemuxer,
  type VideoCodecEvent,
  type VideoSampleEvent,
} from '@rtmp/flv-demux';
import type { StepOptions } from './client.js';
import { RtmpClientError, type RtmpServerStatus } from './errors.js';
import { amfField } from './util.js';

/** Options of {@link RtmpClient.play}. */
export interface PlayOptions extends StepOptions {
  /** Stream name (default: the URL's, query string kept). */
  name?: string;
  /** -2000 live or recorded (default), -1000 live only, >= 0 recorded from there (ms). */
  start?: number;
  /** Duration to play (ms); -1 until the end. Sent only when given (or with `reset`). */
  duration?: number;
  /** Flush previous playlists. Sent only when given. */
  reset?: boolean;
  /** Buffer length announced with Set Buffer Length (ms). Default 3000. */
  bufferLength?: number;
  /**
   * Demux media into codec and sample events (default true). With false only raw `message` events and
   * `raw` items are produced: the cheap mode for counting bytes and frames.
   */
  demux?: boolean;
  /**
   * Items the async iterator may hold before the socket is paused (TCP backpressure on the server). Default 1024.
   */
  highWaterMark?: number;
}

/** A media or data message as received, when demuxing is off (or for recording). */
export interface RawPlayItem {
  kind: 'raw';
  /** 8 audio, 9 video, 18/15 data. */
  type: number;
  timestamp: number;
  /** The FLV tag body (a view into the received bytes). */
  payload: Uint8Array;
}

/** What the async iterator of a {@link RtmpPlayer} yields. */
export type PlayItem = DemuxEvent | RawPlayItem;

/** Why a play ended: the server's status (Play.Stop, Play.UnpublishNotify...) or a StreamEOF. */
export interface PlayEnd {
  /** The status code, or `StreamEOF` for the user control event. */
  code: string;
  description: string;
}

/** Events of {@link RtmpPlayer}. */
export interface RtmpPlayerEvents {
  /** Every audio, video and data message as received (before demuxing). */
  message: [message: RtmpMessage];
  /** `onMetaData` (the ECMA array or object, as a plain record). */
  metadata: [metadata: Record<string, AmfValue>, timestamp: number];
  /** Any other data message (e.g. `|RtmpSampleAccess`, `onTextData`): the decoded values. */
  data: [values: AmfValue[], timestamp: number];
  /** A codec (re)configuration, with its RFC 6381 string in `info.codecString`. */
  codec: [event: VideoCodecEvent | AudioCodecEvent];
  /** A video sample (NAL units for AVC/HEVC/VVC). */
  video: [event: VideoSampleEvent];
  /** An audio sample. */
  audio: [event: AudioSampleEvent];
  /** Every demux event, including `unsupported` and `error` ones. */
  demux: [event: DemuxEvent];
  /** An `onStatus` for this stream. */
  status: [status: RtmpStatus];
  /** The stream ended (Play.Stop, Play.Complete, Play.UnpublishNotify, StreamEOF). Fires once. */
  end: [reason: PlayEnd];
  /** The play is over for good: stopped, or the connection closed (`error` set for a disconnect or failure). */
  close: [error: RtmpClientError | undefined];
}

const END_CODES = new Set([
  'NetStream.Play.Stop',
  'NetStream.Play.Complete',
  'NetStream.Play.UnpublishNotify',
]);

type Queued = { kind: 'message'; message: RtmpMessage } | { kind: 'data'; data: RtmpDataMessage };

function toRecord(value: AmfValue | undefined): Record<string, AmfValue> {
  const out: Record<string, AmfValue> = {};
  if (typeof value !== 'object' || value === null || value instanceof Date || Array.isArray(value))
    return out;
  const record = ((value as { properties?: unknown }).properties ?? value) as Record<string, AmfValue>;
  for (const key of Object.keys(record)) {
    // Skip keys that would touch the prototype of a plain object.
    if (key === '__proto__') continue;
    out[key] = amfField(value, key) as AmfValue;
  }
  return out;
}

/**
 * One stream being played. Media arrives as typed events (`codec`, `video`, `audio`, `metadata`, raw `message`)
 * and through the async iterator (`for await (const item of player)`), which ends at end of stream and throws
 * {@link RtmpClientError} `ERR_RTMP_CLOSED` (or the close's own code) on a disconnect.
 */
export class RtmpPlayer extends EventEmitter<RtmpPlayerEvents> implements AsyncIterable<PlayItem> {
  /** Message stream id given by `createStream`. */
  readonly streamId: number;
  /** The stream name sent in `play`. */
  readonly name: string;
  /** Demuxer state and counters (samples, drops before sequence headers...), when demuxing. */
  readonly demuxer: StreamDemuxer | undefined;
  /** Audio/video messages received. */
  messagesReceived = 0;
  /** Audio/video payload bytes received. */
  bytesReceived = 0;

  readonly #connection: RtmpConnection;
  readonly #forget: () => void;
  readonly #highWaterMark: number;
  #start: { resolve: () => void; reject: (e: RtmpClientError) => void } | undefined;
  /** Messages held until listeners had a chance to attach. */
  #held: Queued[] | undefined = [];
  #endReason: PlayEnd | undefined;
  #closed = false;
  #closeError: RtmpClientError | undefined;
  #iterators = new Set<IteratorState>();
  #paused = false;

  /** @internal Built by {@link RtmpClient.play}. */
  constructor(
    connection: RtmpConnection,
    streamId: number,
    name: string,
    options: PlayOptions,
    forget: () => void,
  ) {
    super();
    this.#connection = connection;
    this.streamId = streamId;
    this.name = name;
    this.#forget = forget;
    this.demuxer = options.demux === false ? undefined : new StreamDemuxer();
    this.#highWaterMark = options.highWaterMark ?? 1024;
    if (!Number.isInteger(this.#highWaterMark) || this.#highWaterMark < 1) {
      throw new RtmpClientError(
        'ERR_RTMP_INVALID_OPTION',
        'play',
        'highWaterMark must be a positive integer',
      );
    }
  }

  /** The end-of-stream reason, once it ended. */
  get endReason(): PlayEnd | undefined {
    return this.#endReason;
  }

  /** True once stopped or disconnected. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops playing (`deleteStream`); the connection stays open. */
  stop(): void {
    this.end();
  }

  /** @internal */
  end(): void {
    if (this.#closed) return;
    this.#connection.sendCommand('deleteStream', 0, [null, this.streamId]);
    this.#close(undefined);
  }

  /** Items in order; ends at end of stream or stop, throws on a disconnect. */
  [Symbol.asyncIterator](): AsyncIterator<PlayItem> {
    const state: IteratorState = { queue: [], head: 0, wake: undefined, done: false };
    this.#iterators.add(state);
    const finish = (): IteratorResult<PlayItem> => {
      this.#iterators.delete(state);
      this.#updatePause();
      return { done: true, value: undefined };
    };
    return {
      next: async (): Promise<IteratorResult<PlayItem>> => {
        for (;;) {
          if (state.head < state.queue.length) {
            const value = state.queue[state.head++]!;
            if (state.head > 1024 && state.head * 2 > state.queue.length) {
              state.queue = state.queue.slice(state.head);
              state.head = 0;
            }
            this.#updatePause();
            return { done: false, value };
          }
          // Until the items that came with Play.Start are delivered, an end that arrived with them must wait.
          if (state.done || (this.#held === undefined && (this.#closed || this.#endReason))) {
            if (this.#closeError && !this.#endReason) {
              finish();
              throw this.#closeError;
            }
            return finish();
          }
          await new Promise<void>((resolve) => {
            state.wake = resolve;
          });
        }
      },
      return: async (): Promise<IteratorResult<PlayItem>> => {
        state.done = true;
        return finish();
      },
    };
  }

  /** @internal Resolves on Play.Start, rejects on an error status or a close. */
  started(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#start = { resolve, reject };
    });
  }

  /** @internal Delivers what arrived with Play.Start once the caller of play() could attach listeners. */
  flowSoon(): void {
    setImmediate(() => {
      const held = this.#held ?? [];
      this.#held = undefined;
      for (const item of held) {
        if (item.kind === 'message') this.#deliverMessage(item.message);
        else this.#deliverData(item.data);
      }
      if (this.#endReason) this.#emitSafe('end', this.#endReason);
      if (this.#closed) this.#emitSafe('close', this.#closeError);
      this.#wakeAll();
    });
  }

  /** @internal */
  onMessage(message: RtmpMessage): void {
    if (this.#closed) return;
    if (message.type !== 8 && message.type !== 9) return;
    if (this.#held) this.#held.push({ kind: 'message', message });
    else this.#deliverMessage(message);
  }

  /** @internal */
  onData(data: RtmpDataMessage): void {
    if (this.#closed) return;
    if (this.#held) this.#held.push({ kind: 'data', data });
    else this.#deliverData(data);
  }

  /** @internal */
  onStatus(status: RtmpStatus): void {
    if (!this.#held) this.#emitSafe('status', status);
    if (this.#start) {
      if (status.code === 'NetStream.Play.Start') {
        this.#start.resolve();
        this.#start = undefined;
        return;
      }
      if (status.level === 'error') this.onError(status);
      return;
    }
    if (END_CODES.has(status.code)) this.#ended({ code: status.code, description: status.description });
    else if (status.code === 'NetStream.Play.PublishNotify' || status.code === 'NetStream.Play.Reset') return;
    else if (status.level === 'error') this.onError(status);
  }

  /** @internal */
  onStreamEof(): void {
    if (this.#start) return;
    this.#ended({ code: 'StreamEOF', description: 'the server sent StreamEOF' });
  }

  /** @internal */
  onError(status: RtmpServerStatus): void {
    const reason = [status.code, status.description].filter((s) => s !== '').join(': ') || 'refused';
    this.#close(
      new RtmpClientError('ERR_RTMP_PLAY_REJECTED', 'play', `play rejected by the server: ${reason}`, {
        status: { level: status.level, code: status.code, description: status.description },
      }),
    );
  }

  /** @internal */
  onDrain(): void {}

  /** @internal */
  onClose(error: RtmpClientError | undefined): void {
    // A clean close before the stream ended is still a disconnect for someone waiting on media.
    this.#close(
      error ??
        (this.#endReason
          ? undefined
          : new RtmpClientError('ERR_RTMP_CLOSED', 'play', 'the server closed the connection')),
    );
  }

  #ended(reason: PlayEnd): void {
    if (this.#endReason) return;
    this.#endReason = reason;
    this.#wakeAll();
    if (!this.#held) this.#emitSafe('end', reason);
  }

  #close(error: RtmpClientError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    this.#forget();
    if (this.#start) {
      this.#start.reject(error ?? new RtmpClientError('ERR_RTMP_CLOSED', 'play', 'play stopped'));
      this.#start = undefined;
    }
    this.#resume();
    this.#wakeAll();
    if (!this.#held) this.#emitSafe('close', error);
  }

  #deliverMessage(message: RtmpMessage): void {
    this.messagesReceived++;
    this.bytesReceived += message.payload.byteLength;
    this.#emitSafe('message', message);
    const demuxer = this.demuxer;
    if (!demuxer) {
      this.#enqueue({
        kind: 'raw',
        type: message.type,
        timestamp: message.timestamp,
        payload: message.payload,
      });
      return;
    }
    for (const event of demuxer.push(message.type, message.timestamp, message.payload))
      this.#deliverEvent(event);
  }

  #deliverData(data: RtmpDataMessage): void {
    const [name, ...args] = data.values;
    this.#emitSafe('message', {
      type: data.messageType,
      streamId: data.streamId,
      timestamp: data.timestamp,
      payload: data.payload,
    });
    if (name === 'onMetaData' || (name === '@setDataFrame' && args[0] === 'onMetaData')) {
      const value = name === 'onMetaData' ? args[0] : args[1];
      this.#emitSafe('metadata', toRecord(value), data.timestamp);
      if (this.demuxer) {
        this.#deliverEvent({
          kind: 'metadata',
          name: 'onMetaData',
          value: value ?? null,
          args: [value ?? null],
          timestamp: data.timestamp,
        });
      } else {
        this.#enqueue({
          kind: 'raw',
          type: data.messageType,
          timestamp: data.timestamp,
          payload: data.payload,
        });
      }
      return;
    }
    this.#emitSafe('data', data.values, data.timestamp);
  }

  #deliverEvent(event: DemuxEvent): void {
    this.#emitSafe('demux', event);
    if (event.kind === 'codec') this.#emitSafe('codec', event);
    else if (event.kind === 'video') this.#emitSafe('video', event);
    else if (event.kind === 'audio') this.#emitSafe('audio', event);
    this.#enqueue(event);
  }

  #enqueue(item: PlayItem): void {
    if (this.#iterators.size === 0) return;
    for (const state of this.#iterators) {
      state.queue.push(item);
      const wake = state.wake;
      state.wake = undefined;
      wake?.();
    }
    this.#updatePause();
  }

  #updatePause(): void {
    let longest = 0;
    for (const state of this.#iterators) longest = Math.max(longest, state.queue.length - state.head);
    if (!this.#paused && longest >= this.#highWaterMark && !this.#closed) {
      this.#paused = true;
      this.#connection.socket.pause();
    } else if (this.#paused && longest <= this.#highWaterMark >> 1) {
      this.#resume();
    }
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#connection.socket.resume();
  }

  #wakeAll(): void {
    for (const state of this.#iterators) {
      const wake = state.wake;
      state.wake = undefined;
      wake?.();
    }
  }

  #emitSafe<K extends keyof RtmpPlayerEvents>(event: K, ...args: RtmpPlayerEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: RtmpPlayerEvents[K]) => boolean)(event, ...args);
    } catch {
      // A throwing listener must not stop delivery to the others or break the connection.
    }
  }
}

interface IteratorState {
  queue: PlayItem[];
  head: number;
  wake: (() => void) | undefined;
  done: boolean;
}
