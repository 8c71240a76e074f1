import { EventEmitter } from 'node:events';
import { type AmfValue, amfProperties } from '@rtmp/amf';
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
import { RtmpClientError, type RtmpServerStatus } from './errors.js';
import { emitGuarded } from './listeners.js';
import type { StepOptions } from './options.js';
import { type PlayItem, PlayQueue } from './play-queue.js';
import { refusalReason } from './status.js';
import type { StreamHandle } from './stream.js';

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

/** How a client drives its player. */
export interface PlayerHandle extends StreamHandle {
  /** Delivers what arrived with Play.Start once the caller of play() could attach listeners. */
  flowSoon(): void;
}

type Open = (
  connection: RtmpConnection,
  streamId: number,
  name: string,
  options: PlayOptions,
  forget: () => void,
) => { player: RtmpPlayer; handle: PlayerHandle };

// Set by RtmpPlayer's static block: the only code that may build a player.
let open: Open;

/** Creates a player and the handle its client drives it with (the constructor is not public). */
export function openPlayer(...args: Parameters<Open>): ReturnType<Open> {
  return open(...args);
}

/**
 * A copy of an AMF object's, ECMA array's or typed object's properties as a plain record (`onMetaData`). A
 * `__proto__` key is left out: on a plain record it would set the prototype instead of a property.
 */
function toRecord(value: AmfValue | undefined): Record<string, AmfValue> {
  const out: Record<string, AmfValue> = {};
  for (const [key, property] of Object.entries(amfProperties(value))) {
    if (key !== '__proto__') out[key] = property;
  }
  return out;
}

/**
 * One stream being played. Media arrives as typed events (`codec`, `video`, `audio`, `metadata`, raw `message`)
 * and through the async iterator (`for await (const item of player)`), which ends at end of stream and throws
 * {@link RtmpClientError} `ERR_RTMP_CLOSED` (or the close's own code) on a disconnect.
 *
 * `await using player = await client.play()` stops playing at the end of the scope.
 */
export class RtmpPlayer
  extends EventEmitter<RtmpPlayerEvents>
  implements AsyncIterable<PlayItem>, AsyncDisposable
{
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
  readonly #queue: PlayQueue;
  #start: { resolve: () => void; reject: (e: RtmpClientError) => void } | undefined;
  /** Messages held until listeners had a chance to attach. */
  #held: Queued[] | undefined = [];
  #endReason: PlayEnd | undefined;
  #closed = false;
  #closeError: RtmpClientError | undefined;
  /** A listener threw and ended the client: nothing more is delivered but the close. */
  #failed = false;

  // Built by RtmpClient.play only.
  private constructor(
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
    const highWaterMark = options.highWaterMark ?? 1024;
    if (!Number.isInteger(highWaterMark) || highWaterMark < 1) {
      throw new RtmpClientError(
        'ERR_RTMP_INVALID_OPTION',
        'play',
        'highWaterMark must be a positive integer',
      );
    }
    this.#queue = new PlayQueue(
      {
        // Until the items that came with Play.Start are delivered, an end that arrived with them must wait.
        finished: () => this.#held === undefined && (this.#closed || this.#endReason !== undefined),
        failure: () => (this.#closeError && !this.#endReason ? this.#closeError : undefined),
        closed: () => this.#closed,
        backpressure: (paused) => (paused ? connection.socket.pause() : connection.socket.resume()),
      },
      highWaterMark,
    );
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
    if (this.#closed) return;
    this.#connection.sendCommand('deleteStream', 0, [null, this.streamId]);
    this.#close(undefined);
  }

  /** Same as {@link RtmpPlayer.stop}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.stop();
  }

  /** Items in order; ends at end of stream or stop, throws on a disconnect. */
  [Symbol.asyncIterator](): AsyncIterator<PlayItem> {
    return this.#queue.iterator();
  }

  static {
    open = (connection, streamId, name, options, forget) => {
      const player = new RtmpPlayer(connection, streamId, name, options, forget);
      return { player, handle: player.#handle() };
    };
  }

  #handle(): PlayerHandle {
    return {
      name: this.name,
      flowSoon: () => this.#flowSoon(),
      // Resolves on Play.Start, rejects on an error status or a close.
      started: () =>
        new Promise<void>((resolve, reject) => {
          this.#start = { resolve, reject };
        }),
      end: () => this.stop(),
      onMessage: (message) => {
        if (this.#closed) return;
        if (message.type !== 8 && message.type !== 9) return;
        if (this.#held) this.#held.push({ kind: 'message', message });
        else this.#deliverMessage(message);
      },
      onData: (data) => {
        if (this.#closed) return;
        if (this.#held) this.#held.push({ kind: 'data', data });
        else this.#deliverData(data);
      },
      onStatus: (status) => this.#onStatus(status),
      onStreamEof: () => {
        if (this.#start) return;
        this.#ended({ code: 'StreamEOF', description: 'the server sent StreamEOF' });
      },
      onError: (status) => this.#onError(status),
      onDrain: () => {},
      // A clean close before the stream ended is still a disconnect for someone waiting on media.
      onClose: (error) =>
        this.#close(
          error ??
            (this.#endReason
              ? undefined
              : new RtmpClientError('ERR_RTMP_CLOSED', 'play', 'the server closed the connection')),
        ),
    };
  }

  #flowSoon(): void {
    setImmediate(() => {
      const held = this.#held ?? [];
      this.#held = undefined;
      for (const item of held) {
        if (this.#failed) break;
        if (item.kind === 'message') this.#deliverMessage(item.message);
        else this.#deliverData(item.data);
      }
      if (this.#endReason) this.#emit('end', this.#endReason);
      if (this.#closed) this.#emit('close', this.#closeError);
      this.#queue.wakeAll();
    });
  }

  #onStatus(status: RtmpStatus): void {
    if (!this.#held) this.#emit('status', status);
    if (this.#start) {
      if (status.code === 'NetStream.Play.Start') {
        this.#start.resolve();
        this.#start = undefined;
        return;
      }
      if (status.level === 'error') this.#onError(status);
      return;
    }
    if (END_CODES.has(status.code)) this.#ended({ code: status.code, description: status.description });
    else if (status.code === 'NetStream.Play.PublishNotify' || status.code === 'NetStream.Play.Reset') return;
    else if (status.level === 'error') this.#onError(status);
  }

  #onError(status: RtmpServerStatus): void {
    this.#close(
      new RtmpClientError(
        'ERR_RTMP_PLAY_REJECTED',
        'play',
        `play rejected by the server: ${refusalReason(status)}`,
        {
          status: { level: status.level, code: status.code, description: status.description },
        },
      ),
    );
  }

  #ended(reason: PlayEnd): void {
    if (this.#endReason) return;
    this.#endReason = reason;
    this.#queue.wakeAll();
    if (!this.#held) this.#emit('end', reason);
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
    this.#queue.update();
    this.#queue.wakeAll();
    if (!this.#held) this.#emit('close', error);
  }

  #deliverMessage(message: RtmpMessage): void {
    if (this.#failed) return;
    this.messagesReceived++;
    this.bytesReceived += message.payload.byteLength;
    this.#emit('message', message);
    const demuxer = this.demuxer;
    if (!demuxer) {
      this.#pushRaw(message);
      return;
    }
    for (const event of demuxer.push(message.type, message.timestamp, message.payload))
      this.#deliverEvent(event);
  }

  /** Queues a message as it came, for a player without a demuxer. */
  #pushRaw(message: RtmpMessage): void {
    this.#queue.push({
      kind: 'raw',
      type: message.type,
      timestamp: message.timestamp,
      payload: message.payload,
    });
  }

  #deliverData(data: RtmpDataMessage): void {
    if (this.#failed) return;
    const message: RtmpMessage = {
      type: data.messageType,
      streamId: data.streamId,
      timestamp: data.timestamp,
      payload: data.payload,
    };
    this.#emit('message', message);
    // Servers strip the wrapper publishers send; one that relays it as is still gets its metadata recognised.
    const values = data.values[0] === '@setDataFrame' ? data.values.slice(1) : data.values;
    if (values[0] === 'onMetaData') {
      const value = values[1];
      this.#emit('metadata', toRecord(value), data.timestamp);
      if (this.demuxer) {
        this.#deliverEvent({
          kind: 'metadata',
          name: 'onMetaData',
          value: value ?? null,
          args: [value ?? null],
          timestamp: data.timestamp,
        });
      } else {
        this.#pushRaw(message);
      }
      return;
    }
    this.#emit('data', data.values, data.timestamp);
  }

  #deliverEvent(event: DemuxEvent): void {
    if (this.#failed) return;
    this.#emit('demux', event);
    if (event.kind === 'codec') this.#emit('codec', event);
    else if (event.kind === 'video') this.#emit('video', event);
    else if (event.kind === 'audio') this.#emit('audio', event);
    this.#queue.push(event);
  }

  // A throwing listener ends the client (ERR_RTMP_HANDLER_FAILED), or is reported once nothing is left to end.
  #emit<K extends keyof RtmpPlayerEvents>(event: K, ...args: RtmpPlayerEvents[K]): void {
    if (this.#failed && event !== 'close') return;
    const delivered = emitGuarded(this.#connection, `the player's '${event}' event`, () =>
      (this.emit as (event: K, ...args: RtmpPlayerEvents[K]) => boolean)(event, ...args),
    );
    if (!delivered) this.#failed = true;
  }
}
