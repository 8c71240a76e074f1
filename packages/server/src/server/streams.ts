import type { RtmpCommand } from '@rtmp/connection';
import type { StreamDemuxer, StreamMuxer } from '@rtmp/flv-demux';
import type { PlayInfo, StreamContext } from './handler.js';

/** What a message stream is doing. */
export type StreamMode = 'idle' | 'publishing' | 'playing';

/** The state of one NetStream (message stream) of a session. */
export interface NetStream {
  readonly id: number;
  mode: StreamMode;
  /** Stream key (name without `?query`) of the publish or play; '' while idle. */
  key: string;
  /** Demuxes what a publisher sends (with the server's `demux` option). */
  demuxer: StreamDemuxer | undefined;
  /** Turns demuxed events sent to this play stream back into tag bodies (built on first use). */
  muxer: StreamMuxer | undefined;
  context: StreamContext;
  receiveAudio: boolean;
  receiveVideo: boolean;
  paused: boolean;
  play: PlayInfo | undefined;
}

/** The message streams of one session, by id: at most `max` of them (`maxStreamsPerConnection`). */
export class NetStreams {
  readonly #streams = new Map<number, NetStream>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get(id: number): NetStream | undefined {
    return this.#streams.get(id);
  }

  values(): IterableIterator<NetStream> {
    return this.#streams.values();
  }

  /** Ids of the streams in `mode`, in creation order. */
  ids(mode: StreamMode): number[] {
    const ids: number[] = [];
    for (const stream of this.#streams.values()) if (stream.mode === mode) ids.push(stream.id);
    return ids;
  }

  /** The first stream that plays: where media goes when the caller names no stream. */
  firstPlaying(): number | undefined {
    for (const stream of this.#streams.values()) if (stream.mode === 'playing') return stream.id;
    return undefined;
  }

  /** Whether a play stream wants audio (8) or video (9) and is not paused. */
  wants(id: number, type: 8 | 9): boolean {
    const stream = this.#streams.get(id);
    if (stream?.mode !== 'playing' || stream.paused) return false;
    return type === 8 ? stream.receiveAudio : stream.receiveVideo;
  }

  /** Creates an idle stream (`createStream`) on `preferred`, or on the lowest free id; undefined when full. */
  allocate(preferred?: number): number | undefined {
    if (this.#streams.size >= this.#max) return undefined;
    let id = preferred ?? 1;
    if (preferred === undefined) while (this.#streams.has(id)) id++;
    this.#streams.set(id, {
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
    });
    return id;
  }

  /** The stream a publish or play command arrived on, created when the client skipped createStream (never on 0). */
  forCommand(command: RtmpCommand): NetStream | undefined {
    let stream = this.#streams.get(command.streamId);
    if (!stream && command.streamId > 0 && this.allocate(command.streamId) !== undefined) {
      stream = this.#streams.get(command.streamId);
    }
    return stream;
  }

  /** Makes `stream` idle again; returns what it was doing. */
  reset(stream: NetStream): StreamMode {
    const mode = stream.mode;
    stream.mode = 'idle';
    stream.demuxer = undefined;
    stream.muxer = undefined;
    stream.paused = false;
    return mode;
  }

  delete(id: number): void {
    this.#streams.delete(id);
  }

  clear(): void {
    this.#streams.clear();
  }
}
