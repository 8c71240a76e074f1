import {
  concatBytes,
  FlvError,
  isNalCodec,
  muxAudioSample,
  muxVideoSample,
  splitNalUnits,
} from '@rtmp/flv-demux';
import type { EncodedPacket, EncodedPacketSink, PacketRetrievalOptions } from 'mediabunny';
import { Mp4Error } from '../errors.js';
import { DecodeTimeline, ticksToMs } from './timeline.js';
import type { AudioPlan, VideoPlan } from './tracks.js';

/** An FLV tag made from the file: what `FlvReader` gives for an FLV file, and what `publishFlv` takes. */
export interface Mp4Tag {
  /** 8 audio, 9 video, 18 script data (onMetaData, without the `@setDataFrame` wrapper, as in an FLV file). */
  readonly type: 8 | 9 | 18;
  /** Milliseconds: the decode time of the sample (a video tag carries pts - dts as its composition time). */
  readonly timestamp: number;
  /** The FLV tag body: legacy FLV for H.264 and AAC, Enhanced RTMP for HEVC, AV1 and Opus. */
  readonly body: Uint8Array;
  /** A video keyframe (a player may start here). */
  readonly keyframe: boolean;
}

type Locate = (options: PacketRetrievalOptions) => Promise<EncodedPacket | null>;

/** Turns a mediabunny failure into the reader's error (its own errors pass). */
export function readFailure(error: unknown, what: string): Mp4Error {
  if (error instanceof Mp4Error) return error;
  if (error instanceof Error && error.name === 'InputDisposedError') {
    return new Mp4Error('ERR_MP4_CLOSED', `${what}: the file was closed`, { cause: error });
  }
  const detail = error instanceof Error ? `: ${error.message}` : '';
  return new Mp4Error('ERR_MP4_INVALID_FILE', `${what}${detail}`, { cause: error });
}

/** A sample located in the file: its metadata (time, size, key flag), its bytes read on demand. */
export interface SampleRef {
  readonly meta: EncodedPacket;
  /** Reads the sample's bytes (now, not before: a sample waiting in the reorder window pins no file data). */
  load(): Promise<EncodedPacket>;
}

/**
 * Walks one track's samples in decode order through mediabunny's metadata-only retrieval (the sample table, no
 * media read). Each sample's size is checked against `maxSampleSize` before its bytes can be read, so a sample
 * table that lies cannot make the reader allocate more than that.
 */
export class PacketReader {
  readonly #sink: EncodedPacketSink;
  readonly #maxSampleSize: number;
  #previous: EncodedPacket | null = null;
  #started = false;

  constructor(sink: EncodedPacketSink, maxSampleSize: number) {
    this.#sink = sink;
    this.#maxSampleSize = maxSampleSize;
  }

  /** The next sample in decode order, from `start` (a locate function) on the first call; null at the end. */
  async next(start?: Locate): Promise<SampleRef | null> {
    const sink = this.#sink;
    const previous = this.#previous;
    let locate: Locate;
    if (!this.#started) {
      this.#started = true;
      locate = start ?? ((o) => sink.getFirstPacket(o));
    } else if (previous === null) {
      return null;
    } else {
      locate = (o) => sink.getNextPacket(previous, o);
    }
    let meta: EncodedPacket | null;
    try {
      meta = await locate({ metadataOnly: true });
    } catch (error) {
      throw readFailure(error, 'reading the sample table');
    }
    this.#previous = meta;
    if (meta === null) return null;
    if (meta.byteLength > this.#maxSampleSize) {
      throw new Mp4Error(
        'ERR_MP4_SAMPLE_TOO_LARGE',
        `a sample of ${meta.byteLength} bytes is above maxSampleSize (${this.#maxSampleSize})`,
      );
    }
    return { meta, load: () => loadSample(locate) };
  }
}

async function loadSample(locate: Locate): Promise<EncodedPacket> {
  let packet: EncodedPacket | null;
  try {
    packet = await locate({});
  } catch (error) {
    throw readFailure(error, 'reading a sample');
  }
  // The sample table has it, the file does not: cut short (mediabunny gives null for bytes past the end).
  if (packet === null) {
    throw new Mp4Error('ERR_MP4_INVALID_FILE', 'a sample lies past the end of the file (truncated?)');
  }
  return packet;
}

function invalidSample(error: unknown, what: string): Mp4Error {
  const detail = error instanceof FlvError ? `: ${error.message}` : '';
  return new Mp4Error('ERR_MP4_INVALID_SAMPLE', `${what}${detail}`, { cause: error });
}

interface PendingVideo {
  readonly pts: number;
  readonly sample: SampleRef;
}

/** Video samples as FLV tags in decode order, with decode times rebuilt by a {@link DecodeTimeline}. */
export class VideoTags {
  readonly #plan: VideoPlan;
  readonly #reader: PacketReader;
  readonly #timeline: DecodeTimeline<PendingVideo>;
  readonly #offsetMs: number;
  #start: Locate | undefined;
  #ended = false;

  /**
   * @param delay - the track's reorder delay in ticks ({@link reorderDelay}); 0 for codecs without reordering
   * @param start - where to start (default: the first packet)
   */
  constructor(plan: VideoPlan, reader: PacketReader, delay: number, offsetMs: number, start?: Locate) {
    this.#plan = plan;
    this.#reader = reader;
    const reorders = isNalCodec(plan.codec);
    this.#timeline = new DecodeTimeline(reorders ? delay : 0, reorders ? undefined : 0);
    this.#offsetMs = offsetMs;
    this.#start = start;
  }

  /** The next tag, or null at the end of the track. */
  async next(): Promise<Mp4Tag | null> {
    const timescale = this.#plan.timescale;
    for (;;) {
      let out: { sample: PendingVideo; dts: number } | undefined;
      if (!this.#ended) {
        const start = this.#start;
        this.#start = undefined;
        const sample = await this.#reader.next(start);
        if (sample === null) {
          this.#ended = true;
          continue;
        }
        out = this.#timeline.push({ pts: Math.round(sample.meta.timestamp * timescale), sample });
      } else {
        out = this.#timeline.end();
        if (out === undefined) return null;
      }
      if (out !== undefined) return this.#tag(out.sample, out.dts, await out.sample.sample.load());
    }
  }

  #tag(sample: PendingVideo, dtsTicks: number, packet: EncodedPacket): Mp4Tag {
    const plan = this.#plan;
    const dts = ticksToMs(dtsTicks, plan.timescale) + this.#offsetMs;
    const keyframe = packet.type === 'key';
    // AV1 carries no composition time: its samples are in presentation order.
    const pts = isNalCodec(plan.codec) ? ticksToMs(sample.pts, plan.timescale) + this.#offsetMs : dts;
    try {
      const payload = isNalCodec(plan.codec)
        ? splitNalUnits(packet.data, plan.mux.nalLengthSize ?? 4)
        : packet.data;
      const body = concatBytes(muxVideoSample(plan.mux, { dts, pts, keyframe, payload }));
      return { type: 9, timestamp: dts, body, keyframe };
    } catch (error) {
      throw invalidSample(error, `${plan.codec} sample at ${dts} ms does not fit an FLV tag`);
    }
  }
}

/** Audio samples as FLV tags. */
export class AudioTags {
  readonly #plan: AudioPlan;
  readonly #reader: PacketReader;
  readonly #offsetMs: number;
  #start: Locate | undefined;
  #last = 0;

  constructor(plan: AudioPlan, reader: PacketReader, offsetMs: number, start?: Locate) {
    this.#plan = plan;
    this.#reader = reader;
    this.#offsetMs = offsetMs;
    this.#start = start;
  }

  /** The next tag, or null at the end of the track. */
  async next(): Promise<Mp4Tag | null> {
    const start = this.#start;
    this.#start = undefined;
    const sample = await this.#reader.next(start);
    if (sample === null) return null;
    const packet = await sample.load();
    const plan = this.#plan;
    const ticks = Math.round(packet.timestamp * plan.timescale);
    // Audio samples are stored in presentation order; a file that steps back is sent without the step.
    const timestamp = Math.max(this.#last, ticksToMs(ticks, plan.timescale) + this.#offsetMs);
    this.#last = timestamp;
    try {
      const body = concatBytes(muxAudioSample(plan.mux, packet.data));
      return { type: 8, timestamp, body, keyframe: false };
    } catch (error) {
      throw invalidSample(error, `${plan.codec} sample at ${timestamp} ms does not fit an FLV tag`);
    }
  }
}
