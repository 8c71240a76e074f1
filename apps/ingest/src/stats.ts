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
  /** Media bitrate in bits per second over the last statistics window. */
  bitrate: number;
  uptimeSec: number;
  bytesIn: number;
}

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
