import { type DemuxEvent, StreamDemuxer } from '@rtmp/flv-demux';
import { type CmafFragment, CmafWriter, concatChunks, isCmafCodec, Mp4Error } from '@rtmp/mp4';
import { HlsError } from './errors.js';

/** One LL-HLS partial segment: a CMAF fragment of ~{@link HlsSegmenterOptions.partTarget} seconds. */
export interface HlsPart {
  /** Number of the part across the whole stream: its URI, so a preload hint never depends on segment cuts. */
  readonly sequence: number;
  /** Media sequence number of the segment it belongs to. */
  readonly msn: number;
  /** Index within that segment (`_HLS_part`). */
  readonly index: number;
  /** Decode time of the reference track's first sample, in seconds. */
  readonly startTime: number;
  readonly duration: number;
  /** Every video track starts with a keyframe: `INDEPENDENT=YES`. */
  readonly independent: boolean;
  /** `moof` + `mdat`, in one buffer; emptied once its segment is on disk and the part is no longer listed. */
  bytes: Uint8Array;
}

/** A media segment: the concatenation of its parts' bytes (which are kept, not copied). */
export interface HlsSegment {
  readonly msn: number;
  readonly parts: HlsPart[];
  /** Seconds, as {@link HlsPart.startTime}. */
  readonly startTime: number;
  /** Seconds: the sum of the parts' durations. */
  duration: number;
  byteLength: number;
  /** Wall-clock time of the first sample (ms since the epoch): `#EXT-X-PROGRAM-DATE-TIME`. */
  readonly programDateTime: number;
  /** Starts a new timeline or init segment: `#EXT-X-DISCONTINUITY`. */
  readonly discontinuity: boolean;
  /** The init segment (`#EXT-X-MAP`) its fragments go with (known from its first part on). */
  initVersion: number;
  /** Its last part is written (it is listed with `#EXTINF`). */
  complete: boolean;
}

/** What a {@link HlsSegmenter} tells its owner, synchronously, as the stream goes. */
export interface HlsSegmenterListener {
  /** A new init segment (the first one, or after a configuration change or a timeline jump). */
  init?(version: number, bytes: Uint8Array): void;
  /** A part was appended to the segment in progress. */
  part?(part: HlsPart, segment: HlsSegment): void;
  /** A segment was completed. */
  segment?(segment: HlsSegment): void;
  /** A segment left the retained window: its bytes may be released. */
  evict?(segment: HlsSegment): void;
}

/** Options of {@link HlsSegmenter}. */
export interface HlsSegmenterOptions {
  /**
   * Seconds per segment: a segment ends at the first keyframe at or after this long. 0 (default): every GOP is a
   * segment, but at least {@link HlsSegmenterOptions.minSegment} long.
   */
  segmentDuration?: number;
  /** Shortest GOP segment when `segmentDuration` is 0, in seconds (default 1). */
  minSegment?: number;
  /** LL-HLS part target, in seconds (default 0.25): `#EXT-X-PART-INF:PART-TARGET`. Parts never exceed it at a steady frame rate. */
  partTarget?: number;
  /** Complete segments listed in the playlist (default 6). */
  window?: number;
  /** Segments kept after they leave the playlist, for players that are a little behind (default 2). */
  retain?: number;
  /** A segment without a keyframe for this many seconds is cut anyway (default 30): bounds memory on odd streams. */
  maxSegmentDuration?: number;
  /** A timestamp jump (backwards, or forward by more than this many seconds) starts a new timeline (default 10). */
  maxTimestampGap?: number;
  /**
   * Which codecs go into the HLS rendition (default: H.264, HEVC and AV1 video; AAC and Opus audio). Tracks of
   * other codecs are left out and listed in {@link HlsSegmenter.refused}.
   */
  acceptCodec?: (mediaType: 'video' | 'audio', codec: string) => boolean;
  /** Wall clock in ms (default `Date.now`): only for `#EXT-X-PROGRAM-DATE-TIME`. */
  now?: () => number;
  listener?: HlsSegmenterListener;
}

/** Codecs of the HLS rendition by default: what RFC 8216bis players (hls.js, Safari) take in fMP4. */
export function defaultHlsCodec(mediaType: 'video' | 'audio', codec: string): boolean {
  return mediaType === 'video'
    ? codec === 'avc' || codec === 'hevc' || codec === 'av1'
    : codec === 'aac' || codec === 'opus';
}

/** Counters of a {@link HlsSegmenter}. */
export interface HlsSegmenterStats {
  parts: number;
  segments: number;
  /** Samples the CMAF writer refused (malformed, oversized): dropped, the stream goes on. */
  skippedSamples: number;
  /** New timelines started because timestamps jumped. */
  discontinuities: number;
}

interface Settings {
  segmentMs: number;
  minSegmentMs: number;
  partTargetMs: number;
  window: number;
  retain: number;
  maxSegmentMs: number;
  maxGapMs: number;
}

function positive(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max)
    throw new HlsError('ERR_HLS_INVALID_OPTION', `${name} ${value} is not in ${min}..${max}`);
  return value;
}

/**
 * Turns the messages of one live stream (FLV tag bodies: what a relay subscriber receives) into CMAF init
 * segments, LL-HLS parts and HLS segments, keeping a bounded window. Pure: no I/O, no timers; the wall clock is
 * only read for `#EXT-X-PROGRAM-DATE-TIME`.
 *
 * Cuts follow the reference track (the first video track, else the first audio track): a part ends before the
 * sample that would make it longer than the part target; a segment ends at a keyframe once it is long enough, so
 * every segment starts with an independent part.
 */
export class HlsSegmenter {
  /** Complete segments still retained (the playlist lists the last `window` of them), oldest first. */
  readonly segments: HlsSegment[] = [];
  /** The segment receiving parts, or null before the first keyframe (or after a cut, until the next one). */
  current: HlsSegment | null = null;
  /** Codecs left out of the rendition, e.g. `vp9 video (track 0)`. */
  readonly refused: string[] = [];
  readonly stats: HlsSegmenterStats = { parts: 0, segments: 0, skippedSamples: 0, discontinuities: 0 };
  /** Set by {@link HlsSegmenter.end}: the playlist gets `#EXT-X-ENDLIST`. */
  ended = false;
  /** Discontinuities of the segments evicted so far: `#EXT-X-DISCONTINUITY-SEQUENCE`. */
  discontinuitySequence = 0;
  readonly settings: Settings;
  private readonly demuxer = new StreamDemuxer();
  private writer: CmafWriter;
  private readonly accept: (mediaType: 'video' | 'audio', codec: string) => boolean;
  private readonly now: () => number;
  private readonly listener: HlsSegmenterListener;
  private readonly inits = new Map<number, Uint8Array>();
  private initVersion = -1;
  /** The current writer's `initVersion` of the newest init segment, -1 for a writer that made none yet. */
  private writerVersion = -1;
  /** Codec events applied, by `media:track`, to configure a new writer after a timeline jump. */
  private readonly configs = new Map<string, DemuxEvent>();
  private readonly skipped = new Set<string>();
  private reference: string | null = null;
  private nextMsn = 0;
  private nextPart = 0;
  private partStartMs = 0;
  private segmentStartMs = 0;
  private lastRefMs: number | null = null;
  private lastInterval = 0;
  private readonly lastTime = new Map<string, number>();
  private discontinuityPending = false;
  private wallAnchor: { wall: number; media: number } | null = null;
  private largestSegment = 0;
  /**
   * A cut decided at a reference sample (`atMs`, its decode time) and not made yet: it waits until every other
   * track has a sample at or after it. A sample's duration is only known from the next one, so an AAC frame that
   * starts just before the cut would otherwise wait for the next fragment, and the audio of a part or segment would
   * end up to one frame before the time the playlist gives it (hls.js in low-latency mode then looks for the media
   * at the buffered end, finds the same segment again and loads it over and over).
   */
  private pendingCut: { atMs: number; segment: boolean } | null = null;

  constructor(options: HlsSegmenterOptions = {}) {
    this.settings = {
      segmentMs: positive('segmentDuration', options.segmentDuration ?? 0, 0, 3600) * 1000,
      minSegmentMs: positive('minSegment', options.minSegment ?? 1, 0, 3600) * 1000,
      partTargetMs: positive('partTarget', options.partTarget ?? 0.25, 0.05, 10) * 1000,
      window: Math.floor(positive('window', options.window ?? 6, 1, 1000)),
      retain: Math.floor(positive('retain', options.retain ?? 2, 0, 1000)),
      maxSegmentMs: positive('maxSegmentDuration', options.maxSegmentDuration ?? 30, 1, 3600) * 1000,
      maxGapMs: positive('maxTimestampGap', options.maxTimestampGap ?? 10, 0.1, 86_400) * 1000,
    };
    this.accept = options.acceptCodec ?? defaultHlsCodec;
    this.now = options.now ?? Date.now;
    this.listener = options.listener ?? {};
    this.writer = new CmafWriter();
  }

  /** The version of the newest init segment, or -1 before the first part. */
  get latestInitVersion(): number {
    return this.initVersion;
  }

  /** The init segment (`ftyp` + `moov`) of a version, while a retained segment uses it. */
  init(version: number): Uint8Array | undefined {
    return this.inits.get(version);
  }

  /** The codec strings of the rendition (RFC 6381), video first: the multivariant playlist's `CODECS`. */
  get codecs(): string[] {
    return this.writer.tracks.map((t) => t.codecString);
  }

  /**
   * `#EXT-X-TARGETDURATION`: the longest segment so far rounded to the nearest second (RFC 8216bis), at least the
   * configured segment duration, at least 1.
   */
  get targetDuration(): number {
    return Math.max(1, Math.round(this.settings.segmentMs / 1000), Math.round(this.largestSegment));
  }

  /** The number the next part will have: the URI of `#EXT-X-PRELOAD-HINT`. */
  get nextPartSequence(): number {
    return this.nextPart;
  }

  /** The media sequence number of the segment in progress (or of the next one). */
  get liveMsn(): number {
    return this.current?.msn ?? this.nextMsn;
  }

  /** Every retained part by sequence number: a linear look-up over the few retained segments. */
  part(sequence: number): HlsPart | undefined {
    const all = this.current === null ? this.segments : [...this.segments, this.current];
    for (const segment of all) {
      const first = segment.parts[0];
      if (first === undefined || sequence < first.sequence) continue;
      const part = segment.parts[sequence - first.sequence];
      if (part !== undefined) return part;
    }
    return undefined;
  }

  /** A retained complete segment by media sequence number. */
  segment(msn: number): HlsSegment | undefined {
    const first = this.segments[0];
    return first === undefined ? undefined : this.segments[msn - first.msn];
  }

  /**
   * Takes one message of the stream (type 8 audio, 9 video, 18 data; the FLV tag body). Malformed media is
   * skipped (counted in {@link HlsSegmenterStats.skippedSamples}); nothing after {@link HlsSegmenter.end}.
   */
  push(type: 8 | 9 | 18, timestamp: number, body: Uint8Array): void {
    if (this.ended) return;
    for (const event of this.demuxer.push(type, timestamp, body)) {
      try {
        this.event(event);
      } catch (e) {
        if (!(e instanceof Mp4Error)) throw e;
        this.stats.skippedSamples++;
      }
    }
  }

  /** End of the stream: writes the last part and completes the last segment. Idempotent. */
  end(): void {
    if (this.ended) return;
    this.makePendingCut();
    this.cut({ final: true, segment: true, atMs: null });
    this.ended = true;
  }

  private event(event: DemuxEvent): void {
    if (event.kind === 'codec') {
      this.codec(event);
      return;
    }
    if (event.kind !== 'video' && event.kind !== 'audio') return;
    const id = `${event.kind}:${event.track}`;
    if (this.skipped.has(id) || !this.configs.has(id)) return;
    const ms = event.kind === 'video' ? event.dts : event.timestamp;
    const previous = this.lastTime.get(id);
    if (previous !== undefined && (previous - ms > 1000 || ms - previous > this.settings.maxGapMs)) {
      this.newTimeline();
    }
    this.lastTime.set(id, ms);
    this.reference ??= this.chooseReference();
    const isRef = id === this.reference;
    // A track that lags behind delays a cut by one frame of the reference track at most.
    if (isRef) this.makePendingCut();
    const sync = event.kind === 'audio' || event.keyframe;
    if (this.current === null) {
      // A segment starts on a sync sample of the reference track; what comes before it is not kept.
      if (!isRef || !sync) return;
      this.startSegment(ms);
    }
    this.writer.push(event);
    if (!isRef) {
      this.cutWhenCovered();
      return;
    }
    const last = this.lastRefMs;
    this.lastRefMs = ms;
    if (last === null) return;
    const interval = ms - last;
    if (interval > 0) this.lastInterval = interval;
    const segmentAge = ms - this.segmentStartMs;
    const longEnough =
      this.settings.segmentMs > 0
        ? segmentAge >= this.settings.segmentMs
        : segmentAge >= this.settings.minSegmentMs;
    if ((sync && longEnough && segmentAge > 0) || segmentAge >= this.settings.maxSegmentMs) {
      this.pendingCut = { atMs: ms, segment: true };
    } else if (
      ms - this.partStartMs + this.lastInterval > this.settings.partTargetMs &&
      ms > this.partStartMs
    ) {
      this.pendingCut = { atMs: ms, segment: false };
    }
    this.cutWhenCovered();
  }

  /** Makes the pending cut once every other track has a sample at or after it. */
  private cutWhenCovered(): void {
    const pending = this.pendingCut;
    if (pending === null) return;
    for (const [id, ms] of this.lastTime) if (id !== this.reference && ms < pending.atMs) return;
    this.makePendingCut();
  }

  /** Makes the pending cut now: a part (and with it the segment) ends before its reference sample. */
  private makePendingCut(): void {
    const pending = this.pendingCut;
    if (pending === null) return;
    this.pendingCut = null;
    this.cut({ final: false, segment: pending.segment, atMs: pending.atMs });
    if (pending.segment) this.startSegment(pending.atMs);
    else this.partStartMs = pending.atMs;
  }

  private codec(event: Extract<DemuxEvent, { kind: 'codec' }>): void {
    const id = `${event.mediaType}:${event.track}`;
    const what = `${event.codec} ${event.mediaType} (track ${event.track})`;
    if (!this.accept(event.mediaType, event.codec) || !isCmafCodec(event.mediaType, event.codec)) {
      if (!this.refused.includes(what)) this.refused.push(what);
      this.skipped.add(id);
      // Its samples are dropped from now on: a pending cut does not wait for them.
      this.lastTime.delete(id);
      return;
    }
    this.skipped.delete(id);
    const result = this.writer.push(event);
    if (result === 'reconfigure') {
      // A codec change the current init segment cannot describe: finish the segment, go on with a new init.
      this.makePendingCut();
      this.cut({ final: true, segment: true, atMs: null });
      this.writer.push(event);
      this.discontinuityPending = true;
      this.reference = null;
      this.lastRefMs = null;
    }
    if (result !== 'ignored') this.configs.set(id, event);
  }

  /** A timestamp jump (a new publisher of the key, a wrapped clock): a new writer and timeline. */
  private newTimeline(): void {
    this.makePendingCut();
    this.cut({ final: true, segment: true, atMs: null });
    this.writer = new CmafWriter();
    this.writerVersion = -1;
    for (const config of this.configs.values()) this.writer.push(config);
    this.discontinuityPending = true;
    this.reference = null;
    this.lastRefMs = null;
    this.lastTime.clear();
    this.wallAnchor = null;
    this.stats.discontinuities++;
  }

  private chooseReference(): string | null {
    const tracks = this.writer.tracks;
    const main = tracks.find((t) => t.kind === 'video') ?? tracks[0];
    return main === undefined ? null : `${main.kind}:${main.sourceTrack}`;
  }

  private startSegment(ms: number): void {
    const wall = this.now();
    this.wallAnchor ??= { wall, media: ms };
    const discontinuity = this.discontinuityPending && (this.segments.length > 0 || this.current !== null);
    this.discontinuityPending = false;
    this.current = {
      msn: this.nextMsn++,
      parts: [],
      startTime: ms / 1000,
      duration: 0,
      byteLength: 0,
      programDateTime: this.wallAnchor.wall + (ms - this.wallAnchor.media),
      discontinuity,
      initVersion: this.initVersion,
      complete: false,
    };
    this.segmentStartMs = ms;
    this.partStartMs = ms;
  }

  /** Flushes a part before `atMs` (or everything, `final`) and, with `segment`, completes the current segment. */
  private cut(options: { final: boolean; segment: boolean; atMs: number | null }): void {
    const segment = this.current;
    if (segment === null) return;
    let fragment: CmafFragment | null;
    try {
      fragment = options.final
        ? this.writer.flush({ final: true })
        : this.writer.flush({ before: options.atMs ?? 0 });
    } catch (e) {
      if (!(e instanceof Mp4Error)) throw e;
      throw new HlsError('ERR_HLS_MUX_FAILED', `CMAF fragment failed: ${e.message}`, { cause: e });
    }
    const part = fragment === null ? null : this.addPart(segment, fragment);
    // The segment is complete before anyone hears of its last part: a playlist made then lists it with EXTINF.
    if (options.segment) this.completeSegment(segment);
    if (part !== null) this.listener.part?.(part, segment);
  }

  private addPart(segment: HlsSegment, fragment: CmafFragment): HlsPart {
    if (fragment.initVersion !== this.writerVersion) {
      // The writer's own version counts its reconfigurations; ours also counts new writers (new timelines).
      this.writerVersion = fragment.initVersion;
      this.initVersion++;
      const bytes = this.writer.initSegment();
      this.inits.set(this.initVersion, bytes);
      this.listener.init?.(this.initVersion, bytes);
    }
    // A segment made before its first fragment knew no init version: it is this one.
    if (segment.parts.length === 0) segment.initVersion = this.initVersion;
    const part: HlsPart = {
      sequence: this.nextPart++,
      msn: segment.msn,
      index: segment.parts.length,
      startTime: fragment.startTime,
      duration: fragment.duration,
      independent: fragment.independent,
      bytes: concatChunks(fragment.chunks),
    };
    segment.parts.push(part);
    segment.duration += part.duration;
    segment.byteLength += part.bytes.byteLength;
    this.stats.parts++;
    return part;
  }

  private completeSegment(segment: HlsSegment): void {
    this.current = null;
    if (segment.parts.length === 0) {
      // Nothing was written (a cut right after a cut): the number is reused.
      this.nextMsn = segment.msn;
      this.discontinuityPending ||= segment.discontinuity;
      return;
    }
    segment.complete = true;
    this.largestSegment = Math.max(this.largestSegment, segment.duration);
    this.segments.push(segment);
    this.stats.segments++;
    this.listener.segment?.(segment);
    while (this.segments.length > this.settings.window + this.settings.retain) {
      const old = this.segments.shift();
      if (old === undefined) break;
      if (old.discontinuity) this.evictedDiscontinuities++;
      this.listener.evict?.(old);
      const used =
        old.initVersion === this.initVersion || this.segments.some((s) => s.initVersion === old.initVersion);
      if (!used) this.inits.delete(old.initVersion);
    }
    this.countDiscontinuities();
  }

  private evictedDiscontinuities = 0;

  /** `#EXT-X-DISCONTINUITY-SEQUENCE`: discontinuities of the segments before the first listed one. */
  private countDiscontinuities(): void {
    const listedFrom = Math.max(0, this.segments.length - this.settings.window);
    let count = this.evictedDiscontinuities;
    for (let i = 0; i < listedFrom; i++) if (this.segments[i]?.discontinuity === true) count++;
    this.discontinuitySequence = count;
  }
}
