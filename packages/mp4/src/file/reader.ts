import { stat } from 'node:fs/promises';
import { type AmfValue, createAmfObject, EcmaArray } from '@rtmp/amf';
import {
  AudioPacketType,
  concatBytes,
  muxAudioControl,
  muxScriptData,
  muxVideoControl,
  VideoPacketType,
} from '@rtmp/flv-demux';
import type { EncodedPacket, EncodedPacketSink, Input, PacketRetrievalOptions } from 'mediabunny';
import { Mp4Error } from '../errors.js';
import { firstCompositionOffset } from './boxes.js';
import { loadMediabunny } from './mediabunny.js';
import { AudioTags, type Mp4Tag, PacketReader, readFailure, VideoTags } from './samples.js';
import { reorderDelay, ticksToMs } from './timeline.js';
import {
  type AudioPlan,
  audioCodecId,
  isobmffFormats,
  isPlan,
  type Mp4AudioCodec,
  type Mp4VideoCodec,
  otherTracks,
  planAudio,
  planVideo,
  type SkippedTrack,
  type VideoPlan,
  videoCodecId,
} from './tracks.js';

/** Options of {@link Mp4File.open} and {@link readMp4Tags}. */
export interface Mp4ReadOptions {
  /**
   * Bytes of the file kept in memory (mediabunny's read cache, filled ahead of the reader): the bound on read-ahead.
   * Default 8 MiB.
   */
  cacheBytes?: number;
  /**
   * Largest sample accepted, checked from the sample table before its bytes are read. Default 16 MiB - 64: what
   * one FLV tag or RTMP message can carry with its header.
   */
  maxSampleSize?: number;
}

/** Options of {@link Mp4File.tags}. */
export interface Mp4TagsOptions {
  /**
   * Start position in ms of the tag timeline (a seek): video starts at the keyframe at or before it, audio with
   * that keyframe's decode time. Default 0: the whole file.
   */
  start?: number;
}

/** The video track that is sent. */
export interface Mp4VideoInfo {
  codec: Mp4VideoCodec;
  /** RFC 6381, from the configuration record (`avc1.64001F`, `hvc1.1.6.L93.90`, `av01.0.08M.08`). */
  codecString: string;
  width: number;
  height: number;
  /** Frames per second, averaged over the first 100 samples. */
  frameRate: number;
  /** Bits per second, from the file (0 when unknown). */
  bitrate: number;
}

/** The audio track that is sent. */
export interface Mp4AudioInfo {
  codec: Mp4AudioCodec;
  codecString: string;
  sampleRate: number;
  channels: number;
  bitrate: number;
}

/** What {@link Mp4File.open} found. */
export interface Mp4FileInfo {
  /** `mp4` (ISO BMFF) or `mov` (QuickTime). */
  format: 'mp4' | 'mov';
  /** File size in bytes. */
  size: number;
  /** Media duration in ms. */
  durationMs: number;
  /**
   * Added to every timestamp so that the first decode time is 0 or more (an MP4 starts B-frame video and primed
   * audio before 0; FLV timestamps are unsigned). Audio and video move together.
   */
  offsetMs: number;
  video: Mp4VideoInfo | null;
  audio: Mp4AudioInfo | null;
  /** Tracks that are not sent (other codecs, secondary tracks). */
  skipped: SkippedTrack[];
}

/** Default of {@link Mp4ReadOptions.maxSampleSize}. */
export const DEFAULT_MAX_SAMPLE_SIZE = 0xffffff - 64;
const DEFAULT_CACHE_BYTES = 8 << 20;
/** Samples read ahead at open to measure the video reorder delay. */
const DELAY_PROBE = 128;

function checkSize(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Mp4Error('ERR_MP4_INVALID_ARGUMENT', `${name} must be a positive integer`);
  }
  return value;
}

/** Presentation times (ticks) of a track's first samples in decode order, and whether that is all of them. */
async function firstTimes(
  sink: EncodedPacketSink,
  timescale: number,
): Promise<{ times: number[]; complete: boolean }> {
  const times: number[] = [];
  const meta: PacketRetrievalOptions = { metadataOnly: true };
  let packet: EncodedPacket | null = await sink.getFirstPacket(meta);
  while (packet !== null && times.length < DELAY_PROBE) {
    times.push(Math.round(packet.timestamp * timescale));
    packet = await sink.getNextPacket(packet, meta);
  }
  return { times, complete: packet === null };
}

/**
 * An MP4 or MOV file read as FLV tags, for publishing it (`publishFlv` of `@rtmp/client`) or serving it to players.
 * The primary video track (H.264, HEVC, AV1) and audio track (AAC, Opus) are sent; H.264 and AAC as legacy FLV,
 * the others as Enhanced RTMP. The file is read as it is consumed, never whole: at most `cacheBytes` of it and a
 * few samples per track are held. {@link tags} may run several times at once (one per player), from any position.
 *
 * Built on mediabunny (an optional peer dependency, loaded by {@link open}).
 */
export class Mp4File implements AsyncDisposable {
  /** The file's path, as given. */
  readonly path: string;
  readonly info: Mp4FileInfo;
  /** The onMetaData record sent first (duration, size, frame rate, codec ids, audio rate and channels...). */
  readonly metadata: Readonly<Record<string, AmfValue>>;

  readonly #input: Input;
  readonly #video: VideoPlan | null;
  readonly #audio: AudioPlan | null;
  readonly #delay: number;
  readonly #maxSampleSize: number;
  readonly #metadataBody: Uint8Array;
  #closed = false;

  private constructor(
    path: string,
    input: Input,
    parts: {
      info: Mp4FileInfo;
      metadata: Record<string, AmfValue>;
      video: VideoPlan | null;
      audio: AudioPlan | null;
      delay: number;
      maxSampleSize: number;
    },
  ) {
    this.path = path;
    this.#input = input;
    this.info = parts.info;
    this.metadata = parts.metadata;
    this.#video = parts.video;
    this.#audio = parts.audio;
    this.#delay = parts.delay;
    this.#maxSampleSize = parts.maxSampleSize;
    this.#metadataBody = muxScriptData('onMetaData', [new EcmaArray(parts.metadata)]);
  }

  /**
   * Opens an MP4 or MOV file: reads its header (moov) and the first samples' times, not its media.
   * @throws {Mp4Error} `ERR_MP4_READER_UNAVAILABLE` (mediabunny not installed), `ERR_MP4_UNRECOGNIZED` (not MP4/MOV),
   *   `ERR_MP4_INVALID_FILE`, `ERR_MP4_NO_TRACKS` (no supported track), `ERR_MP4_INVALID_CONFIG`,
   *   `ERR_MP4_INVALID_ARGUMENT`; the file system's own error (ENOENT...) when the file cannot be read
   */
  static async open(path: string, options: Mp4ReadOptions = {}): Promise<Mp4File> {
    const cacheBytes = checkSize(options.cacheBytes, 'cacheBytes', DEFAULT_CACHE_BYTES);
    const maxSampleSize = checkSize(options.maxSampleSize, 'maxSampleSize', DEFAULT_MAX_SAMPLE_SIZE);
    const mb = await loadMediabunny();
    const { size } = await stat(path);
    const input = new mb.Input({
      source: new mb.FilePathSource(path, { maxCacheSize: cacheBytes }),
      formats: isobmffFormats(mb),
    });
    try {
      let format: unknown;
      try {
        format = await input.getFormat();
      } catch (error) {
        if (error instanceof mb.UnsupportedInputFormatError) {
          throw new Mp4Error('ERR_MP4_UNRECOGNIZED', `${path} is not an MP4 or MOV file`, { cause: error });
        }
        throw error;
      }
      const parts = await Mp4File.#inspect(
        path,
        input,
        size,
        maxSampleSize,
        format === mb.QTFF ? 'mov' : 'mp4',
      );
      return new Mp4File(path, input, parts);
    } catch (error) {
      input.dispose();
      throw readFailure(error, `${path}: cannot read the file`);
    }
  }

  static async #inspect(
    path: string,
    input: Input,
    size: number,
    maxSampleSize: number,
    format: 'mp4' | 'mov',
  ) {
    const mb = await loadMediabunny();
    const videoTrack = await input.getPrimaryVideoTrack();
    const audioTrack = await input.getPrimaryAudioTrack();
    const skipped: SkippedTrack[] = [];
    let video: VideoPlan | null = null;
    let audio: AudioPlan | null = null;
    if (videoTrack !== null) {
      const plan = await planVideo(videoTrack, new mb.EncodedPacketSink(videoTrack));
      if (isPlan(plan)) video = plan;
      else skipped.push(plan);
    }
    if (audioTrack !== null) {
      const plan = await planAudio(audioTrack);
      if (isPlan(plan)) audio = plan;
      else skipped.push(plan);
    }
    const primary = [videoTrack, audioTrack].filter((t) => t !== null);
    skipped.push(...(await otherTracks(await input.getTracks(), primary)));
    const used = [video?.track, audio?.track].filter((t) => t !== undefined);
    if (video === null && audio === null) {
      const found = skipped.map((t) => `${t.kind} ${t.codec ?? 'unknown'}`).join(', ') || 'none';
      throw new Mp4Error(
        'ERR_MP4_NO_TRACKS',
        `no H.264/HEVC/AV1 video or AAC/Opus audio track (found: ${found})`,
      );
    }
    // Decode times start before 0 with B-frames (and audio priming): the offset makes the first one 0.
    let delay = 0;
    let firstMs = Number.POSITIVE_INFINITY;
    if (video !== null) {
      const { times, complete } = await firstTimes(new mb.EncodedPacketSink(video.track), video.timescale);
      if (video.codec !== 'av1' && times.length > 0) {
        // The delay the file states (its first sample's decode time), when it is valid; else the smallest valid one.
        const smallest = reorderDelay(times, complete);
        const offset = await firstCompositionOffset(path, video.track.id);
        const stated = offset === undefined ? 0 : Math.min(...times) - times[0]! + offset;
        delay = Math.max(smallest, stated);
      }
      if (times.length > 0) {
        const firstDts = Math.min(Math.min(...times) - delay, times[0]!);
        firstMs = ticksToMs(firstDts, video.timescale);
      }
    }
    if (audio !== null) {
      const first = await new mb.EncodedPacketSink(audio.track).getFirstPacket({ metadataOnly: true });
      if (first !== null) {
        firstMs = Math.min(
          firstMs,
          ticksToMs(Math.round(first.timestamp * audio.timescale), audio.timescale),
        );
      }
    }
    const offsetMs = Number.isFinite(firstMs) ? Math.max(0, -firstMs) : 0;
    const durationMs = Math.round((await input.computeDuration(used)) * 1000);
    const info: Mp4FileInfo = {
      format,
      size,
      durationMs,
      offsetMs,
      video:
        video === null
          ? null
          : {
              codec: video.codec,
              codecString: video.info.codecString,
              width: video.width,
              height: video.height,
              frameRate: (await video.track.computePacketStats(100)).averagePacketRate,
              bitrate: (await video.track.getAverageBitrate()) ?? 0,
            },
      audio:
        audio === null
          ? null
          : {
              codec: audio.codec,
              codecString: audio.info.codecString,
              sampleRate: audio.sampleRate,
              channels: audio.channels,
              bitrate: (await audio.track.getAverageBitrate()) ?? 0,
            },
      skipped,
    };
    return { info, metadata: onMetaData(info), video, audio, delay, maxSampleSize };
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The file as FLV tags: onMetaData, the sequence headers, then every sample of the video and audio tracks,
   * interleaved by decode time (video first on a tie). Timestamps are ms from the start of the file (plus
   * `info.offsetMs`); with `start`, from the keyframe at or before it, headers first again. Each call reads on its
   * own; stop iterating (`break`) to stop reading.
   * @throws {Mp4Error} (while iterating) `ERR_MP4_INVALID_FILE`, `ERR_MP4_INVALID_SAMPLE`, `ERR_MP4_SAMPLE_TOO_LARGE`,
   *   `ERR_MP4_CLOSED`; `ERR_MP4_INVALID_ARGUMENT` for a bad `start`
   */
  async *tags(options: Mp4TagsOptions = {}): AsyncGenerator<Mp4Tag, void, undefined> {
    const start = options.start ?? 0;
    if (!Number.isFinite(start) || start < 0) {
      throw new Mp4Error(
        'ERR_MP4_INVALID_ARGUMENT',
        `start must be a non-negative number of ms, got ${start}`,
      );
    }
    if (this.#closed) throw new Mp4Error('ERR_MP4_CLOSED', `${this.path} is closed`);
    const mb = await loadMediabunny();
    const video = this.#video;
    const audio = this.#audio;
    const offsetMs = this.info.offsetMs;
    let seconds = (start - offsetMs) / 1000;
    let videoTags: VideoTags | null = null;
    let audioTags: AudioTags | null = null;
    let nextVideo: Mp4Tag | null = null;
    try {
      if (video !== null) {
        const sink = new mb.EncodedPacketSink(video.track);
        const at = seconds;
        const seek = start > 0 && (await sink.getKeyPacket(at, { metadataOnly: true })) !== null;
        const from = seek ? (o: PacketRetrievalOptions) => sink.getKeyPacket(at, o) : undefined;
        const reader = new PacketReader(sink, this.#maxSampleSize);
        videoTags = new VideoTags(video, reader, this.#delay, offsetMs, from);
        nextVideo = await videoTags.next();
        // Audio joins at the keyframe's decode time.
        if (seek && nextVideo !== null) seconds = (nextVideo.timestamp - offsetMs) / 1000;
      }
      if (audio !== null) {
        const sink = new mb.EncodedPacketSink(audio.track);
        const at = seconds;
        const from =
          start > 0 && (await sink.getPacket(at, { metadataOnly: true })) !== null
            ? (o: PacketRetrievalOptions) => sink.getPacket(at, o)
            : undefined;
        audioTags = new AudioTags(audio, new PacketReader(sink, this.#maxSampleSize), offsetMs, from);
      }
    } catch (error) {
      throw readFailure(error, `${this.path}: cannot start reading`);
    }
    let nextAudio = (await audioTags?.next()) ?? null;
    const first = Math.min(nextVideo?.timestamp ?? Number.POSITIVE_INFINITY, nextAudio?.timestamp ?? start);
    const headerTime = Number.isFinite(first) ? first : start;
    yield { type: 18, timestamp: headerTime, body: this.#metadataBody, keyframe: false };
    if (video !== null) {
      const body = concatBytes(muxVideoControl(video.mux, VideoPacketType.SequenceStart, video.config));
      yield { type: 9, timestamp: headerTime, body, keyframe: false };
    }
    if (audio !== null) {
      const body = concatBytes(muxAudioControl(audio.mux, AudioPacketType.SequenceStart, audio.config));
      yield { type: 8, timestamp: headerTime, body, keyframe: false };
    }
    while (nextVideo !== null || nextAudio !== null) {
      if (nextVideo !== null && (nextAudio === null || nextVideo.timestamp <= nextAudio.timestamp)) {
        yield nextVideo;
        nextVideo = (await videoTags?.next()) ?? null;
      } else if (nextAudio !== null) {
        yield nextAudio;
        nextAudio = (await audioTags?.next()) ?? null;
      }
    }
  }

  /** Closes the file; iterations still running fail with `ERR_MP4_CLOSED`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#input.dispose();
  }

  /** `await using file = await Mp4File.open(path)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** The onMetaData record of a file, as FFmpeg writes it for FLV (Enhanced RTMP codecs by their FourCC). */
function onMetaData(info: Mp4FileInfo): Record<string, AmfValue> {
  const m: Record<string, AmfValue> = createAmfObject();
  m.duration = info.durationMs / 1000;
  if (info.video !== null) {
    m.width = info.video.width;
    m.height = info.video.height;
    m.videodatarate = info.video.bitrate / 1000;
    m.framerate = Math.round(info.video.frameRate * 1000) / 1000;
    m.videocodecid = videoCodecId(info.video.codec);
  }
  if (info.audio !== null) {
    m.audiodatarate = info.audio.bitrate / 1000;
    m.audiosamplerate = info.audio.sampleRate;
    m.audiosamplesize = 16;
    m.stereo = info.audio.channels === 2;
    m.audiochannels = info.audio.channels;
    m.audiocodecid = audioCodecId(info.audio.codec);
  }
  m.filesize = info.size;
  m.encoder = '@rtmp/mp4';
  return m;
}

/**
 * Every tag of an MP4/MOV file ({@link Mp4File.tags}), the file opened first and closed at the end (or when the
 * iteration stops early). With `@rtmp/client`: `await publishFlv(publisher, readMp4Tags('movie.mp4'))`.
 * @throws {Mp4Error} as {@link Mp4File.open} and {@link Mp4File.tags}
 */
export async function* readMp4Tags(
  path: string,
  options: Mp4ReadOptions & Mp4TagsOptions = {},
): AsyncGenerator<Mp4Tag, void, undefined> {
  const file = await Mp4File.open(path, options);
  try {
    yield* file.tags(options);
  } finally {
    file.close();
  }
}
