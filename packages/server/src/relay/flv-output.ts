import { amfProperty, decodeAmf0 } from '@rtmp/amf';
import type { RtmpError } from '@rtmp/connection';
import { FlvWriter } from '@rtmp/flv-demux';
import type { RelayItem, RelaySubscriber } from './types.js';

/**
 * Where an {@link FlvOutput} writes: anything with a write queue it can measure. A `node:http` `ServerResponse` and a
 * `net.Socket` are sinks as they are; a WebSocket needs a four-line adapter (`send` as binary, `bufferedAmount`).
 * The chunks written are shared by every viewer of the stream: a sink must never modify them.
 */
export interface FlvSink {
  /** Queues `chunk` (its return value is not used: backpressure is read from {@link FlvSink.writableLength}). */
  write(chunk: Uint8Array): unknown;
  /** Bytes queued and not sent yet; the relay's slow-viewer policy compares it with the queue limit. */
  readonly writableLength: number;
  /** Ends the stream after what is queued (the publisher left). */
  end(): void;
  /** Aborts at once (the viewer was too slow, or writing failed). */
  destroy(error?: Error): void;
}

/** Options of {@link FlvOutput}. */
export interface FlvOutputOptions {
  /** What stats and events report it as: `'http-flv'` (default), `'ws-flv'`... */
  protocol?: string;
}

/** How an {@link FlvOutput} ended: the publisher left (`end`), or the relay closed it (`close`, with the error). */
export type FlvOutputEnd = { kind: 'end'; reason: string } | { kind: 'close'; error: RtmpError };

// Before its first frame a viewer holds what came first (metadata, sequence headers) to learn which tracks the FLV
// header announces. A publisher that sends only configuration would keep it waiting: past these, the header goes
// out with what is known.
const MAX_PENDING_ITEMS = 64;
const MAX_PENDING_BYTES = 1 << 20;

/**
 * A live FLV stream of one relay key, written to a {@link FlvSink}: the FLV output of the relay that any Node HTTP
 * server mounts as HTTP-FLV (`GET /live/cam1.flv`), and with a WebSocket adapter as WS-FLV. Subscribe it with
 * `relay.subscribe(key, output)`; it writes the FLV file header (audio/video flags from the stream's tracks), then
 * each item's shared FLV tag ({@link RelayItem.flvTag}: serialized once per message for every viewer): the
 * metadata, the current sequence header of every track, the GOP from its keyframe, then live tags. It reports its
 * sink's queue, so the relay's slow-viewer policy applies as to an RTMP player: over the limit it is skipped to the
 * next keyframe, and destroyed (`ERR_RTMP_SLOW_CONSUMER`) if still behind then.
 *
 * @example
 * ```ts
 * const output = new FlvOutput(res); // res: a ServerResponse whose head was written
 * relay.subscribe('live/cam1', output);
 * res.on('close', () => relay.unsubscribe('live/cam1', output));
 * ```
 */
export class FlvOutput implements RelaySubscriber {
  readonly protocol: string;
  readonly sink: FlvSink;
  #pending: RelayItem[] | undefined = [];
  #pendingBytes = 0;
  #bytesWritten = 0;
  #ended: FlvOutputEnd | undefined;

  constructor(sink: FlvSink, options: FlvOutputOptions = {}) {
    this.sink = sink;
    this.protocol = options.protocol ?? 'http-flv';
  }

  /** Bytes handed to the sink so far: the FLV header and every tag. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Whether the FLV header went out (after the first frame, with the tracks known by then). */
  get started(): boolean {
    return this.#pending === undefined;
  }

  /** How the relay ended it, or undefined while it is attached (or after the application unsubscribed it). */
  get ended(): FlvOutputEnd | undefined {
    return this.#ended;
  }

  send(item: RelayItem): void {
    const pending = this.#pending;
    if (pending === undefined) {
      const tag = item.flvTag();
      this.#bytesWritten += tag.byteLength;
      this.sink.write(tag);
      return;
    }
    pending.push(item);
    this.#pendingBytes += item.message.payload.byteLength;
    const configuration = item.kind === 'data' || item.kind === 'config' || item.kind === 'metadata';
    if (!configuration || pending.length >= MAX_PENDING_ITEMS || this.#pendingBytes >= MAX_PENDING_BYTES) {
      this.#start(pending);
    }
  }

  queuedBytes(): number {
    return this.sink.writableLength + this.#pendingBytes;
  }

  end(reason: string): void {
    this.#ended = { kind: 'end', reason };
    this.sink.end();
  }

  close(error: RtmpError): void {
    this.#ended = { kind: 'close', error };
    this.sink.destroy(error);
  }

  /** Writes the FLV header, with the tracks the held items show, then the held items. */
  #start(pending: RelayItem[]): void {
    this.#pending = undefined;
    this.#pendingBytes = 0;
    let audio = false;
    let video = false;
    for (const item of pending) {
      const type = item.message.type;
      if (type === 8) audio = true;
      else if (type === 9) video = true;
      else if (type === 18) {
        const announced = announcedTracks(item.message.payload);
        audio ||= announced.audio;
        video ||= announced.video;
      }
    }
    const header = new FlvWriter({ audio, video }).header();
    this.#bytesWritten += header.byteLength;
    this.sink.write(header);
    for (const item of pending) this.send(item);
  }
}

/**
 * The tracks `onMetaData` announces by codec id (a codec without a sequence header, such as MP3, shows no config):
 * never throws, a metadata that does not decode announces nothing.
 */
function announcedTracks(payload: Uint8Array): { audio: boolean; video: boolean } {
  try {
    const values = decodeAmf0(payload);
    const properties = values[1];
    return {
      audio: amfProperty(properties, 'audiocodecid') !== undefined,
      video: amfProperty(properties, 'videocodecid') !== undefined,
    };
  } catch {
    return { audio: false, video: false };
  }
}
