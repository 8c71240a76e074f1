/** Video track facts learnt from the codec configuration or metadata. */
export interface VideoInfo {
  /** RFC 6381 codec string, e.g. `avc1.64001f`. */
  codec: string | null;
  width: number | null;
  height: number | null;
}

/** Audio track facts learnt from the codec configuration or metadata. */
export interface AudioInfo {
  /** RFC 6381 codec string, e.g. `mp4a.40.2`. */
  codec: string | null;
  sampleRate: number | null;
  channels: number | null;
}

/** What a codec configuration says of one track (the RFC 6381 string, resolution or sample rate). */
export interface TrackCodec {
  codec: string;
  width?: number | undefined;
  height?: number | undefined;
  sampleRate?: number | undefined;
  channels?: number | undefined;
}

/** One video track of a stream, as `GET /api/streams` lists it in `tracks`. */
export interface VideoTrackSnapshot {
  type: 'video';
  /** Track id: 0 unless the stream is Enhanced RTMP multitrack. */
  track: number;
  codec: string | null;
  width: number | null;
  height: number | null;
  frames: number;
}

/** One audio track of a stream, as `GET /api/streams` lists it in `tracks`. */
export interface AudioTrackSnapshot {
  type: 'audio';
  track: number;
  codec: string | null;
  sampleRate: number | null;
  channels: number | null;
  frames: number;
}

/** One track of a stream: video tracks first, then audio, each by track id. */
export type TrackSnapshot = VideoTrackSnapshot | AudioTrackSnapshot;

/** Stable codes of the stream-health warnings. */
export type StreamWarningCode = 'NO_KEYFRAME' | 'TIMESTAMP_BACKWARDS' | 'HUGE_GOP';

/** A stream-health warning, passed to {@link StreamStatsOptions.onWarning}. */
export interface StreamWarning {
  readonly code: StreamWarningCode;
  readonly message: string;
  readonly details: Record<string, number | string>;
}

/** Options of {@link StreamStats}. */
export interface StreamStatsOptions {
  /** Warn when no keyframe arrives for this long (media time, and wall time for a stalled stream). */
  readonly maxKeyframeIntervalMs?: number;
  /** Warn when one GOP is bigger than this. */
  readonly hugeGopBytes?: number;
  /** Clock in milliseconds; injectable for tests. */
  readonly now?: () => number;
  readonly onWarning?: (w: StreamWarning) => void;
}

/** A point-in-time summary of one stream, as served by `GET /api/streams`. */
export interface StreamSnapshot {
  codecs: string[];
  video: VideoInfo & { fps: number | null; keyframeIntervalMs: number | null; frames: number };
  audio: AudioInfo & { frames: number };
  /**
   * Every track that announced a codec (multitrack Enhanced RTMP streams have several per media type); track 0's
   * entries repeat `video` and `audio`.
   */
  tracks: TrackSnapshot[];
  /** Media bitrate in bits per second over the last statistics window. */
  bitrate: number;
  uptimeSec: number;
  bytesIn: number;
}

// Track table keys: video tracks 0-255, audio tracks 256-511 (a track id is one byte).
const AUDIO_KEY = 256;

const FPS_WINDOW = 64;
const BACKWARDS_WARN_EVERY_MS = 5000;

/**
 * Per-stream statistics and health checks, fed with frames as they arrive. No timers of its own: the owner calls
 * {@link StreamStats.tick} periodically, which keeps the class deterministic under test.
 */
export class StreamStats {
  readonly video: VideoInfo = { codec: null, width: null, height: null };
  readonly audio: AudioInfo = { codec: null, sampleRate: null, channels: null };
  /** Frame rate announced in onMetaData, used until enough frames have been seen. */
  metadataFps: number | null = null;
  videoFrames = 0;
  audioFrames = 0;
  mediaBytes = 0;
  bytesIn = 0;
  readonly startedAt: number;

  private readonly now: () => number;
  private readonly maxKeyframeIntervalMs: number;
  private readonly hugeGopBytes: number;
  private readonly onWarning: (w: StreamWarning) => void;
  private readonly dtsRing: number[] = [];
  private lastVideoDts: number | null = null;
  private lastAudioTs: number | null = null;
  private lastKeyDts: number | null = null;
  private lastKeyWall: number;
  private keyframeIntervalMs: number | null = null;
  private gopBytes = 0;
  private gopWarned = false;
  private noKeyWarned = false;
  private lastBackwardsWarn = Number.NEGATIVE_INFINITY;
  private windowStart: number;
  private windowBytes = 0;
  private bitrate: number | null = null;
  // Tracks other than 0 by key (see AUDIO_KEY); track 0 lives in `video`/`audio` and the frame counters.
  private readonly tracks = new Map<number, TrackSnapshot>();
  private hasVideoTrack = false;
  private hasAudioTrack = false;

  constructor(options: StreamStatsOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxKeyframeIntervalMs = options.maxKeyframeIntervalMs ?? 10_000;
    this.hugeGopBytes = options.hugeGopBytes ?? 32 * 1024 * 1024;
    this.onWarning = options.onWarning ?? (() => {});
    this.startedAt = this.now();
    this.windowStart = this.startedAt;
    this.lastKeyWall = this.startedAt;
  }

  /** Records one video frame (decode timestamp in ms). */
  onVideo(dts: number, keyframe: boolean, bytes: number): void {
    this.videoFrames++;
    this.mediaBytes += bytes;
    this.windowBytes += bytes;
    if (this.lastVideoDts !== null && dts < this.lastVideoDts) {
      this.backwards('video', this.lastVideoDts, dts);
    }
    this.lastVideoDts = dts;
    this.dtsRing.push(dts);
    if (this.dtsRing.length > FPS_WINDOW) this.dtsRing.shift();

    if (keyframe) {
      if (this.lastKeyDts !== null && dts > this.lastKeyDts) this.keyframeIntervalMs = dts - this.lastKeyDts;
      this.lastKeyDts = dts;
      this.lastKeyWall = this.now();
      this.gopBytes = bytes;
      this.gopWarned = false;
      this.noKeyWarned = false;
      return;
    }
    this.gopBytes += bytes;
    if (!this.gopWarned && this.gopBytes > this.hugeGopBytes) {
      this.gopWarned = true;
      this.warn('HUGE_GOP', `GOP larger than ${this.hugeGopBytes} bytes`, { gopBytes: this.gopBytes });
    }
    if (!this.noKeyWarned) {
      const since = this.lastKeyDts === null ? null : dts - this.lastKeyDts;
      if (since !== null && since > this.maxKeyframeIntervalMs) this.noKeyframe(since);
    }
  }

  /** Records one audio frame (timestamp in ms). */
  onAudio(ts: number, bytes: number): void {
    this.audioFrames++;
    this.mediaBytes += bytes;
    this.windowBytes += bytes;
    if (this.lastAudioTs !== null && ts < this.lastAudioTs) this.backwards('audio', this.lastAudioTs, ts);
    this.lastAudioTs = ts;
  }

  /**
   * Records the codec configuration of a track. Track 0 sets {@link StreamStats.video} / {@link StreamStats.audio}
   * (a value the configuration does not give keeps what metadata said).
   */
  onCodec(type: 'video' | 'audio', track: number, info: TrackCodec): void {
    if (track === 0) {
      if (type === 'video') {
        this.hasVideoTrack = true;
        this.video.codec = info.codec;
        this.video.width = info.width ?? this.video.width;
        this.video.height = info.height ?? this.video.height;
      } else {
        this.hasAudioTrack = true;
        this.audio.codec = info.codec;
        this.audio.sampleRate = info.sampleRate ?? this.audio.sampleRate;
        this.audio.channels = info.channels ?? this.audio.channels;
      }
      return;
    }
    const entry = this.track(type, track);
    entry.codec = info.codec;
    if (entry.type === 'video') {
      entry.width = info.width ?? entry.width;
      entry.height = info.height ?? entry.height;
    } else {
      entry.sampleRate = info.sampleRate ?? entry.sampleRate;
      entry.channels = info.channels ?? entry.channels;
    }
  }

  /**
   * Counts one frame of a track other than 0 (track 0's frames go through {@link StreamStats.onVideo} /
   * {@link StreamStats.onAudio}, which also measure them).
   */
  onTrackFrame(type: 'video' | 'audio', track: number): void {
    if (track === 0) return;
    this.track(type, track).frames++;
  }

  private track(type: 'video' | 'audio', track: number): TrackSnapshot {
    const key = type === 'video' ? track : AUDIO_KEY + track;
    let entry = this.tracks.get(key);
    if (entry === undefined) {
      entry =
        type === 'video'
          ? { type, track, codec: null, width: null, height: null, frames: 0 }
          : { type, track, codec: null, sampleRate: null, channels: null, frames: 0 };
      this.tracks.set(key, entry);
    }
    return entry;
  }

  /** Every known track, video first, each media by track id. */
  trackList(): TrackSnapshot[] {
    const list: TrackSnapshot[] = [];
    if (this.hasVideoTrack || this.videoFrames > 0) {
      const { codec, width, height } = this.video;
      list.push({ type: 'video', track: 0, codec, width, height, frames: this.videoFrames });
    }
    if (this.hasAudioTrack || this.audioFrames > 0) {
      const { codec, sampleRate, channels } = this.audio;
      list.push({ type: 'audio', track: 0, codec, sampleRate, channels, frames: this.audioFrames });
    }
    for (const entry of this.tracks.values()) list.push({ ...entry });
    const rank = (t: TrackSnapshot): number => (t.type === 'video' ? 0 : AUDIO_KEY) + t.track;
    return list.sort((a, b) => rank(a) - rank(b));
  }

  /** Closes the current statistics window; returns the bitrate (bit/s) measured over it. */
  tick(): number {
    const t = this.now();
    const elapsed = t - this.windowStart;
    // A window shorter than a second (a publish that just began) says little: keep accumulating.
    if (elapsed >= 1000) {
      this.bitrate = Math.round((this.windowBytes * 8 * 1000) / elapsed);
      this.windowStart = t;
      this.windowBytes = 0;
    }
    // A stream that stopped sending keyframes entirely never reaches the per-frame check.
    if (!this.noKeyWarned && this.videoFrames > 0 && t - this.lastKeyWall > this.maxKeyframeIntervalMs) {
      this.noKeyframe(t - this.lastKeyWall);
    }
    return this.bitrate ?? 0;
  }

  /** Frames per second from the recent decode timestamps, falling back to the metadata rate. */
  fps(): number | null {
    const n = this.dtsRing.length;
    if (n >= 2) {
      const span = this.dtsRing[n - 1]! - this.dtsRing[0]!;
      if (span > 0) return Math.round(((n - 1) * 1000 * 100) / span) / 100;
    }
    return this.metadataFps;
  }

  /** The current summary. */
  snapshot(): StreamSnapshot {
    const t = this.now();
    const uptimeMs = Math.max(0, t - this.startedAt);
    const bitrate = this.bitrate ?? (uptimeMs > 0 ? Math.round((this.mediaBytes * 8 * 1000) / uptimeMs) : 0);
    const codecs = [this.video.codec, this.audio.codec].filter((c): c is string => c !== null);
    return {
      codecs,
      video: {
        ...this.video,
        fps: this.fps(),
        keyframeIntervalMs: this.keyframeIntervalMs,
        frames: this.videoFrames,
      },
      audio: { ...this.audio, frames: this.audioFrames },
      tracks: this.trackList(),
      bitrate,
      uptimeSec: Math.round(uptimeMs / 100) / 10,
      bytesIn: this.bytesIn,
    };
  }

  private noKeyframe(sinceMs: number): void {
    this.noKeyWarned = true;
    this.warn('NO_KEYFRAME', `no keyframe for ${Math.round(sinceMs / 1000)} s`, { sinceMs });
  }

  private backwards(track: string, previous: number, current: number): void {
    const t = this.now();
    // A broken encoder may do this on every frame: one line every few seconds is enough.
    if (t - this.lastBackwardsWarn < BACKWARDS_WARN_EVERY_MS) return;
    this.lastBackwardsWarn = t;
    this.warn('TIMESTAMP_BACKWARDS', `${track} timestamp went backwards`, { track, previous, current });
  }

  private warn(code: StreamWarningCode, message: string, details: Record<string, number | string>): void {
    this.onWarning({ code, message, details });
  }
}
