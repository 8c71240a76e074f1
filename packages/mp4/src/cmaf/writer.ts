import type {
  AudioCodecEvent,
  AudioSampleEvent,
  DemuxEvent,
  VideoCodecEvent,
  VideoSampleEvent,
} from '@rtmp/flv-demux';
import { Mp4Error } from '../errors.js';
import { avcIsDisposable, opusPacketDuration, parseVp9Keyframe, stripTemporalDelimiter } from './codecs.js';
import {
  type CmafRun,
  type CmafSample,
  type EncodedFragment,
  encodeFragment,
  SAMPLE_FLAGS_DISPOSABLE,
  SAMPLE_FLAGS_NON_SYNC,
  SAMPLE_FLAGS_SYNC,
} from './fragment.js';
import { encodeInitSegment } from './init.js';
import { lengthPrefixed } from './samples.js';
import { type CmafTrack, type CmafTrackOptions, cmafTrack, completeVp9Track, isCmafCodec } from './tracks.js';

/** Options of {@link CmafWriter}. */
export interface CmafWriterOptions extends CmafTrackOptions {
  /**
   * Which demuxed tracks become CMAF tracks (default: every video and audio track whose codec has a CMAF
   * mapping). Samples of a track left out are ignored, e.g. `(media) => media === 'video'` for a video-only
   * rendition.
   */
  selectTrack?: (mediaType: 'video' | 'audio', track: number) => boolean;
  /** Added to every timestamp (ms) before it is converted, e.g. minus the first timestamp to start at 0. */
  timestampOffset?: number;
  /** Largest sample accepted, in bytes (default 32 MiB). */
  maxSampleBytes?: number;
  /** Most bytes held between two flushes (default 64 MiB): a caller that never flushes gets an error, not OOM. */
  maxBufferedBytes?: number;
  /** Most samples held between two flushes (default 100,000). */
  maxBufferedSamples?: number;
}

/** What {@link CmafWriter.push} did with an event. */
export type CmafPushResult =
  /** A track was configured (or its configuration replaced while nothing was written with the old one). */
  | 'config'
  /** A sample was buffered. */
  | 'sample'
  /**
   * A configuration change (a new codec record, or a new track) that the current init segment cannot describe,
   * not applied: flush what is buffered (`flush({ final: true })`), then push the same event again; it then
   * applies and the next {@link CmafWriter.initSegment} is a new one (`initVersion` + 1).
   */
  | 'reconfigure'
  /** Not for this writer: metadata, sequence ends, unselected or unsupported tracks, a repeated configuration. */
  | 'ignored';

/** One track's part of a {@link CmafFragment}. */
export interface CmafFragmentTrack {
  id: number;
  kind: 'video' | 'audio';
  timescale: number;
  /** Decode time of the first sample (`tfdt`), in `timescale` ticks. */
  baseMediaDecodeTime: number;
  /** Sum of the sample durations, in ticks. */
  duration: number;
  sampleCount: number;
  /** Whether the first sample is a sync sample (a keyframe; always true for audio). */
  startsWithSync: boolean;
}

/** A fragment made by {@link CmafWriter.flush}: its bytes and what an HLS playlist needs to list it. */
export interface CmafFragment extends EncodedFragment {
  /** The tracks present in this fragment (a track with no sample in its time range is absent). */
  tracks: CmafFragmentTrack[];
  /**
   * Start and duration in seconds, of the first video track present (else the first track): the timeline of
   * `#EXTINF` and `#EXT-X-PART:DURATION`.
   */
  startTime: number;
  duration: number;
  /**
   * Whether every video track present starts with a sync sample, so a player can start decoding here: an LL-HLS
   * part's `INDEPENDENT=YES`, and a possible segment start. True for audio-only fragments.
   */
  independent: boolean;
  /** The {@link CmafWriter.initVersion} of the init segment these fragments go with. */
  initVersion: number;
}

/** Options of {@link CmafWriter.flush}. */
export interface CmafFlushOptions {
  /**
   * Only samples whose decode time (ms, the demuxer's timestamps) is before this go into the fragment: the
   * fragment boundary. Samples at or after it stay buffered for the next fragment. Default: every sample whose
   * duration is known.
   */
  before?: number;
  /**
   * End of the stream (or of this init segment): also write each track's last sample, whose duration is then
   * estimated (the codec's frame duration for audio, the previous sample's duration for video).
   */
  final?: boolean;
}

/** Counters of a {@link CmafWriter}. */
export interface CmafWriterStats {
  samples: number;
  fragments: number;
  /** Samples of unselected or unsupported tracks, dropped on purpose. */
  ignoredSamples: number;
  /** Decode timestamps moved forward to keep the track's decode times from going backwards (or below 0). */
  clampedTimestamps: number;
}

interface BufferedSample extends CmafSample {
  /** Decode time in ticks. */
  dts: number;
  /** Decode time in ms (the demuxer's clock plus the offset), compared with `flush({ before })`. */
  dtsMs: number;
  sync: boolean;
}

interface TrackState {
  track: CmafTrack;
  /** The configuration record as the stream sent it, to tell a repeated one from a change. */
  source: Uint8Array | null;
  /** VP9: whether the stream sent a vpcC (else one is made from the first keyframe). */
  hadConfig: boolean;
  /** Samples whose duration is known. */
  complete: BufferedSample[];
  /** The last sample pushed: its duration is the next sample's decode time minus its own. */
  last: BufferedSample | null;
  lastDts: number | null;
  lastDuration: number;
}

const DEFAULTS = { maxSampleBytes: 32 << 20, maxBufferedBytes: 64 << 20, maxBufferedSamples: 100_000 };

/**
 * Turns the demuxed events of one stream (`@rtmp/flv-demux`'s `StreamDemuxer`) into a CMAF init segment and
 * fragments, with the fragment boundaries chosen by the caller: per GOP, per duration, or LL-HLS parts that start
 * on any sample. Pure: bytes out, no I/O, no timers.
 *
 * A sample's duration is the next sample's decode time minus its own, so each track's last pushed sample waits
 * for its successor: {@link CmafWriter.flush} writes the samples before `before` whose duration is known, and
 * `final` also writes the last ones with an estimated duration. Timestamps become ticks of each track's timescale
 * (90 kHz video, the sample rate for audio), rounded from the demuxer's milliseconds.
 */
export class CmafWriter {
  /** Counters since construction. */
  readonly stats: CmafWriterStats = { samples: 0, fragments: 0, ignoredSamples: 0, clampedTimestamps: 0 };
  private readonly options: CmafWriterOptions & typeof DEFAULTS;
  private readonly states = new Map<string, TrackState>();
  /** Tracks whose samples are dropped on purpose (unselected, unsupported codec, malformed configuration). */
  private readonly ignored = new Set<string>();
  private nextTrackId = 1;
  private sequence = 1;
  private frozen = false;
  private init: Uint8Array | null = null;
  private version = 0;
  private bufferedBytes = 0;
  private bufferedSamples = 0;

  constructor(options: CmafWriterOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
    for (const key of ['maxSampleBytes', 'maxBufferedBytes', 'maxBufferedSamples'] as const) {
      const v = this.options[key];
      if (!Number.isInteger(v) || v < 1)
        throw new Mp4Error('ERR_MP4_INVALID_ARGUMENT', `${key} ${v} is not a positive integer`);
    }
    const offset = this.options.timestampOffset ?? 0;
    if (!Number.isFinite(offset))
      throw new Mp4Error('ERR_MP4_INVALID_ARGUMENT', `timestampOffset ${offset} is not finite`);
  }

  /** The configured tracks, by id. */
  get tracks(): CmafTrack[] {
    return [...this.states.values()].map((s) => s.track).sort((a, b) => a.id - b.id);
  }

  /** Incremented each time a configuration change makes a new init segment necessary. */
  get initVersion(): number {
    return this.version;
  }

  /** Bytes of sample data buffered (not yet flushed). */
  get buffered(): number {
    return this.bufferedBytes;
  }

  /**
   * Takes one demuxer event: `codec` configures a track, `video`/`audio` buffer a sample; everything else is
   * ignored.
   * @throws {Mp4Error} `ERR_MP4_TRACK_NOT_CONFIGURED` for a sample of a track with no configuration,
   * `ERR_MP4_INVALID_CONFIG` for a malformed configuration record (the track's samples are then ignored),
   * `ERR_MP4_SAMPLE_TOO_LARGE`, `ERR_MP4_BUFFER_LIMIT`, `ERR_MP4_NAL_LENGTH`, `ERR_MP4_TIMESTAMP_RANGE` (a jump
   * in decode time that a 32-bit duration cannot hold). A rejected sample leaves the writer as it was.
   */
  push(event: DemuxEvent): CmafPushResult {
    switch (event.kind) {
      case 'codec':
        return this.configure(event);
      case 'video':
        return this.video(event);
      case 'audio':
        return this.audio(event);
      default:
        return 'ignored';
    }
  }

  /**
   * The init segment (`ftyp` + `moov`) of the configured tracks. From this call (or the first fragment
   * {@link CmafWriter.flush} makes) on, the track set is fixed until a `'reconfigure'` is applied: so make the
   * first fragment once every expected track is configured (e.g. at the first video keyframe).
   * @throws {Mp4Error} `ERR_MP4_INVALID_STATE` when no track is configured.
   */
  initSegment(): Uint8Array {
    if (this.states.size === 0) throw new Mp4Error('ERR_MP4_INVALID_STATE', 'no track is configured yet');
    this.frozen = true;
    this.init ??= encodeInitSegment(this.tracks);
    return this.init;
  }

  /**
   * Makes a fragment of the buffered samples up to the boundary (see {@link CmafFlushOptions}); `null` when there
   * is none. Fragments are numbered 1, 2, ... (`mfhd`) in the order made.
   * @throws {Mp4Error} `ERR_MP4_INVALID_STATE` when no track is configured.
   */
  flush(options: CmafFlushOptions = {}): CmafFragment | null {
    if (this.states.size === 0) {
      if (this.bufferedSamples === 0) return null;
      throw new Mp4Error('ERR_MP4_INVALID_STATE', 'no track is configured yet');
    }
    const before = options.before ?? Number.POSITIVE_INFINITY;
    const runs: CmafRun[] = [];
    const tracks: CmafFragmentTrack[] = [];
    for (const state of this.sortedStates()) {
      const taken = this.take(state, before, options.final === true);
      if (taken.length === 0) continue;
      let duration = 0;
      let bytes = 0;
      for (const s of taken) {
        duration += s.duration;
        bytes += s.size;
      }
      this.bufferedBytes -= bytes;
      this.bufferedSamples -= taken.length;
      const first = taken[0]!;
      runs.push({ trackId: state.track.id, baseMediaDecodeTime: first.dts, samples: taken });
      tracks.push({
        id: state.track.id,
        kind: state.track.kind,
        timescale: state.track.timescale,
        baseMediaDecodeTime: first.dts,
        duration,
        sampleCount: taken.length,
        startsWithSync: first.sync,
      });
    }
    if (runs.length === 0) return null;
    // The first fragment fixes the track set: later fragments must match the init segment it goes with.
    this.frozen = true;
    const encoded = encodeFragment(this.sequence++, runs);
    this.stats.fragments++;
    const main = tracks.find((t) => t.kind === 'video') ?? tracks[0]!;
    return {
      ...encoded,
      tracks,
      startTime: main.baseMediaDecodeTime / main.timescale,
      duration: main.duration / main.timescale,
      independent: tracks.every((t) => t.kind !== 'video' || t.startsWithSync),
      initVersion: this.version,
    };
  }

  private sortedStates(): TrackState[] {
    return [...this.states.values()].sort((a, b) => a.track.id - b.track.id);
  }

  /** Removes and returns the samples of `state` before `before` ms, the last one too when `final`. */
  private take(state: TrackState, before: number, final: boolean): BufferedSample[] {
    const queue = state.complete;
    let n = 0;
    while (n < queue.length && queue[n]!.dtsMs < before) n++;
    const taken = n === queue.length ? queue.splice(0) : queue.splice(0, n);
    const last = state.last;
    if (final && last !== null && n === taken.length && queue.length === 0 && last.dtsMs < before) {
      last.duration = this.estimateDuration(state, last);
      taken.push(last);
      state.last = null;
    }
    return taken;
  }

  private estimateDuration(state: TrackState, sample: BufferedSample): number {
    const track = state.track;
    if (track.kind === 'audio') {
      if (track.codec === 'opus' && sample.data instanceof Uint8Array) {
        return opusPacketDuration(sample.data) ?? track.frameDuration;
      }
      return track.frameDuration;
    }
    return state.lastDuration > 0 ? state.lastDuration : Math.round(track.timescale / 30);
  }

  private key(mediaType: 'video' | 'audio', track: number): string {
    return `${mediaType}:${track}`;
  }

  private configure(event: VideoCodecEvent | AudioCodecEvent): CmafPushResult {
    const key = this.key(event.mediaType, event.track);
    const existing = this.states.get(key);
    const selected = this.options.selectTrack?.(event.mediaType, event.track) ?? true;
    if (
      !selected ||
      !isCmafCodec(event.mediaType, event.codec) ||
      (event.mediaType === 'video' && event.mpeg2ts)
    ) {
      if (existing === undefined) {
        this.ignored.add(key);
        return 'ignored';
      }
      // A configured track switching to a codec it cannot carry: it leaves the init segment.
      if (this.mustWait()) return 'reconfigure';
      this.states.delete(key);
      this.ignored.add(key);
      this.changed();
      return 'config';
    }
    if (
      existing !== undefined &&
      existing.track.codec === event.codec &&
      sameBytes(existing.source, event.initData)
    ) {
      return 'ignored';
    }
    if (this.frozen && this.bufferedSamples > 0) return 'reconfigure';
    if (existing !== undefined && (existing.last !== null || existing.complete.length > 0))
      return 'reconfigure';
    let track: CmafTrack;
    try {
      track = cmafTrack(event, existing?.track.id ?? this.nextTrackId, this.options);
    } catch (e) {
      this.states.delete(key);
      this.ignored.add(key);
      throw e;
    }
    if (existing === undefined) this.nextTrackId++;
    this.ignored.delete(key);
    this.states.set(key, {
      track,
      source: event.initData,
      hadConfig: event.initData !== null,
      complete: [],
      last: null,
      lastDts: existing?.lastDts ?? null,
      lastDuration: existing?.lastDuration ?? 0,
    });
    this.changed();
    return 'config';
  }

  /** Whether a change must wait for a flush: fragments made with the current init segment are still buffered. */
  private mustWait(): boolean {
    return this.bufferedSamples > 0;
  }

  private changed(): void {
    if (this.frozen) this.version++;
    this.frozen = false;
    this.init = null;
  }

  private stateFor(mediaType: 'video' | 'audio', track: number, codec: string): TrackState | null {
    const key = this.key(mediaType, track);
    const state = this.states.get(key);
    if (state === undefined || state.track.codec !== codec) {
      if (this.ignored.has(key)) {
        this.stats.ignoredSamples++;
        return null;
      }
      throw new Mp4Error(
        'ERR_MP4_TRACK_NOT_CONFIGURED',
        `a ${codec} sample for ${mediaType} track ${track}, which has no configuration`,
      );
    }
    return state;
  }

  private video(event: VideoSampleEvent): CmafPushResult {
    const state = this.stateFor('video', event.track, event.codec);
    if (state === null) return 'ignored';
    const track = state.track;
    if (track.kind !== 'video') return 'ignored';
    let data: Uint8Array | Uint8Array[];
    let size: number;
    let disposable = event.frameType === 3;
    if (Array.isArray(event.payload)) {
      const prefixed = lengthPrefixed(event.payload, track.nalLengthSize);
      data = prefixed.data;
      size = prefixed.size;
      if (track.codec === 'avc' && !event.keyframe && avcIsDisposable(event.payload)) disposable = true;
    } else {
      const frame = event.payload as Uint8Array;
      data = track.codec === 'av1' ? stripTemporalDelimiter(frame) : frame;
      size = data.length;
      if (track.codec === 'vp9' && event.keyframe && !this.frozen) {
        const info = parseVp9Keyframe(frame);
        if (info !== null) completeVp9Track(track, info, state.hadConfig);
      }
    }
    const flags = event.keyframe
      ? SAMPLE_FLAGS_SYNC
      : SAMPLE_FLAGS_NON_SYNC | (disposable ? SAMPLE_FLAGS_DISPOSABLE : 0);
    const nano = event.timestampOffsetNano / 1e6;
    this.add(state, event.dts + nano, event.pts + nano, data, size, flags, event.keyframe);
    return 'sample';
  }

  private audio(event: AudioSampleEvent): CmafPushResult {
    const state = this.stateFor('audio', event.track, event.codec);
    if (state === null) return 'ignored';
    const ms = event.timestamp + event.timestampOffsetNano / 1e6;
    this.add(state, ms, ms, event.payload, event.payload.length, SAMPLE_FLAGS_SYNC, true);
    return 'sample';
  }

  private add(
    state: TrackState,
    dtsMs: number,
    ptsMs: number,
    data: Uint8Array | Uint8Array[],
    size: number,
    flags: number,
    sync: boolean,
  ): void {
    const o = this.options;
    if (size > o.maxSampleBytes) {
      throw new Mp4Error(
        'ERR_MP4_SAMPLE_TOO_LARGE',
        `a sample of ${size} bytes is over maxSampleBytes ${o.maxSampleBytes}`,
      );
    }
    if (this.bufferedBytes + size > o.maxBufferedBytes || this.bufferedSamples + 1 > o.maxBufferedSamples) {
      throw new Mp4Error(
        'ERR_MP4_BUFFER_LIMIT',
        `${this.bufferedSamples} samples (${this.bufferedBytes} bytes) buffered: flush more often`,
      );
    }
    const scale = state.track.timescale / 1000;
    const offset = o.timestampOffset ?? 0;
    dtsMs += offset;
    ptsMs += offset;
    let dts = Math.round(dtsMs * scale);
    const pts = Math.round(ptsMs * scale);
    const floor = state.lastDts ?? 0;
    if (dts < floor) {
      dts = floor;
      this.stats.clampedTimestamps++;
    }
    if (state.lastDts !== null && dts - state.lastDts > 0xffff_ffff) {
      throw new Mp4Error('ERR_MP4_TIMESTAMP_RANGE', `decode time jumps by ${dts - state.lastDts} ticks`);
    }
    const compositionOffset = pts - dts;
    if (compositionOffset < -0x8000_0000 || compositionOffset > 0x7fff_ffff) {
      throw new Mp4Error('ERR_MP4_TIMESTAMP_RANGE', `composition offset of ${compositionOffset} ticks`);
    }
    const previous = state.last;
    if (previous !== null) {
      previous.duration = dts - previous.dts;
      state.lastDuration = previous.duration;
      state.complete.push(previous);
    }
    state.last = { dts, dtsMs, sync, duration: 0, size, flags, compositionOffset, data };
    state.lastDts = dts;
    this.bufferedBytes += size;
    this.bufferedSamples++;
    this.stats.samples++;
  }
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
