import { join } from 'node:path';
import type { IngestConfig } from './config.js';
import type { StreamApiEntry } from './http.js';
import type { Logger } from './logger.js';
import type { IngestMetrics } from './metrics.js';
import { type FlvTagType, safeFileName } from './recorder.js';
import { createRecorder, type Recorder } from './recorder-mp4.js';
import { StreamStats } from './stats.js';

/** Turns tag bodies into facts for {@link StreamStats}; implemented over `@rtmp/flv-demux`'s StreamDemuxer. */
export interface MediaProbe {
  push(type: FlvTagType, timestamp: number, body: Uint8Array): void;
}

/** Creates a probe feeding `stats`; `log` receives the codec announcements. */
export type ProbeFactory = (stats: StreamStats, log: Logger) => MediaProbe;

/** Live figures a stream reads from the connections serving it (set by the server wiring). */
export interface StreamIo {
  /** Bytes received from the publisher's connection. */
  bytesIn(): number;
  /** Bytes sent to the players of this stream. */
  bytesOut(): number;
  /** Viewers attached, every protocol. */
  players(): number;
  /** {@link StreamIo.players} by protocol (`rtmp`, `http-flv`, `ws-flv`...). */
  playersByProtocol?(): Record<string, number>;
  /** Media messages the relay did not deliver to players of this stream that fell behind. */
  droppedFrames?(): number;
}

/** One live publish, from publish start to its end. */
export class LiveStream {
  /** Live connection figures; without them, media bytes and {@link LiveStream.players} are reported. */
  io: StreamIo | null = null;
  readonly app: string;
  readonly key: string;
  readonly stats: StreamStats;
  readonly log: Logger;
  players = 0;
  bytesOut = 0;
  recorder: Recorder | null = null;
  private readonly probe: MediaProbe;
  ended = false;

  constructor(app: string, key: string, stats: StreamStats, log: Logger, probeFactory: ProbeFactory) {
    this.app = app;
    this.key = key;
    this.stats = stats;
    this.log = log;
    this.probe = probeFactory(stats, log);
  }

  /** Feeds one media or data message of the publisher: probed and recorded. */
  media(type: FlvTagType, timestamp: number, body: Uint8Array): void {
    if (this.ended) return;
    this.stats.bytesIn += body.byteLength;
    this.probe.push(type, timestamp, body);
    this.recorder?.write(type, timestamp, body);
  }

  /** The `/api/streams` entry. */
  toApi(): StreamApiEntry {
    const s = this.stats.snapshot();
    const { width, height } = s.video;
    return {
      app: this.app,
      key: this.key,
      codecs: s.codecs,
      video: s.video,
      audio: s.audio,
      tracks: s.tracks,
      resolution: width !== null && height !== null ? `${width}x${height}` : null,
      fps: s.video.fps,
      bitrate: s.bitrate,
      uptimeSec: s.uptimeSec,
      players: this.io?.players() ?? this.players,
      playersByProtocol: this.io?.playersByProtocol?.() ?? {},
      bytesIn: this.io?.bytesIn() ?? s.bytesIn,
      bytesOut: this.io?.bytesOut() ?? this.bytesOut,
      droppedFrames: this.io?.droppedFrames?.() ?? 0,
      recording: this.recorder?.path ?? null,
    };
  }
}

/**
 * The app's view of the live streams: statistics, periodic log lines, recordings. Knows nothing about sockets, so
 * the wiring to `@rtmp/server` stays a thin layer.
 */
export class StreamRegistry {
  private readonly streams = new Map<string, LiveStream>();
  /** Streams pulled here, by relay key: probed for the API and the stats log, not publishes (no recording). */
  private readonly pulled = new Map<string, { stream: LiveStream; owner: object }>();
  private readonly closing = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  /** Called once each recording is finalized at the end of its publish (for the `record_done` webhook). */
  onRecordingDone: ((stream: LiveStream, recorder: Recorder) => void) | null = null;

  constructor(
    private readonly config: IngestConfig,
    private readonly log: Logger,
    private readonly metrics: IngestMetrics,
    private readonly probeFactory: ProbeFactory,
  ) {}

  /** Starts the periodic statistics log. */
  start(): void {
    this.timer = setInterval(() => this.tick(), this.config.statsIntervalSec * 1000);
    this.timer.unref();
  }

  /** The stream published under `app/key`, if any. */
  get(app: string, key: string): LiveStream | undefined {
    return this.streams.get(`${app}/${key}`);
  }

  /** Every live stream. */
  all(): LiveStream[] {
    return [...this.streams.values()];
  }

  private newStats(log: Logger): StreamStats {
    return new StreamStats({
      maxKeyframeIntervalMs: this.config.limits.maxKeyframeIntervalMs,
      hugeGopBytes: this.config.limits.hugeGopBytes,
      onWarning: (w) => {
        this.metrics.error(`STREAM_${w.code}`);
        log.warn({ warning: w.code, ...w.details }, w.message);
      },
    });
  }

  /**
   * Starts probing a stream pulled here under relay key `app/key` (`--pull`, a cluster edge) for `owner` (its
   * pull): codecs, resolution and bitrate for `/api/streams` and the stats log. Not a publish: no recording, no
   * publisher count, no webhook; feed it with {@link LiveStream.media}.
   */
  beginPull(relayKey: string, owner: object): LiveStream {
    const slash = relayKey.indexOf('/');
    const app = relayKey.slice(0, slash);
    const key = relayKey.slice(slash + 1);
    const log = this.log.child({ app, key, pulled: true });
    const stream = new LiveStream(app, key, this.newStats(log), log, this.probeFactory);
    this.pulled.set(relayKey, { stream, owner });
    return stream;
  }

  /** The probe of a stream pulled here, while its pull is live. */
  pulledStream(relayKey: string): LiveStream | undefined {
    return this.pulled.get(relayKey)?.stream;
  }

  /** Stops probing a pulled stream (its pull is over); a newer pull of the key keeps its own. */
  endPull(relayKey: string, owner: object): void {
    const entry = this.pulled.get(relayKey);
    if (entry === undefined || entry.owner !== owner) return;
    entry.stream.ended = true;
    this.pulled.delete(relayKey);
  }

  /** Registers a new publish and starts its recording. */
  begin(app: string, key: string, context: Record<string, unknown> = {}): LiveStream {
    const log = this.log.child({ app, key, ...context });
    const stream = new LiveStream(app, key, this.newStats(log), log, this.probeFactory);
    this.streams.set(`${app}/${key}`, stream);
    this.metrics.publishers.inc();
    log.info('publish started');
    if (this.config.record) {
      let rec: Recorder | null = null;
      try {
        // Streams are per app: with several apps, each gets its own folder so `live/a` and `show/a` stay apart.
        const dir =
          this.config.apps.length > 1
            ? join(this.config.recordDir, safeFileName(app))
            : this.config.recordDir;
        rec = createRecorder(dir, key, {
          format: this.config.recordFormat,
          segmentSec: this.config.recordSegmentSec,
        });
        log.info({ file: rec.path }, 'recording');
      } catch (e) {
        this.metrics.error('ERR_INGEST_RECORD_OPEN');
        log.error({ err: e }, 'cannot open recording file');
      }
      stream.recorder = rec;
    }
    return stream;
  }

  /** Ends a publish (unpublish, publisher gone or shutdown); resolves once its recording is finalized. */
  end(stream: LiveStream, reason: string): Promise<void> {
    if (stream.ended) return Promise.resolve();
    stream.ended = true;
    if (this.streams.get(`${stream.app}/${stream.key}`) === stream)
      this.streams.delete(`${stream.app}/${stream.key}`);
    this.metrics.publishers.dec();
    const s = stream.stats.snapshot();
    stream.log.info(
      {
        reason,
        durationSec: s.uptimeSec,
        videoFrames: s.video.frames,
        audioFrames: s.audio.frames,
        bytesIn: s.bytesIn,
      },
      'publish ended',
    );
    return this.track(this.finishRecording(stream));
  }

  private async finishRecording(stream: LiveStream): Promise<void> {
    const rec = stream.recorder;
    if (rec === null) return;
    await rec.close();
    if (rec.error !== null) {
      this.metrics.error('ERR_INGEST_RECORD_WRITE');
      stream.log.error({ err: rec.error, file: rec.path }, 'recording failed');
    } else {
      this.metrics.recordings.inc();
      stream.log.info({ file: rec.path, bytes: rec.bytes, tags: rec.tags }, 'recording finalized');
    }
    this.onRecordingDone?.(stream, rec);
  }

  private track(p: Promise<void>): Promise<void> {
    this.closing.add(p);
    void p.finally(() => this.closing.delete(p));
    return p;
  }

  /** Ends every stream and waits for every recording to be finalized. */
  async shutdown(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.all().map((s) => this.end(s, 'shutdown')));
    await Promise.all([...this.closing]);
  }

  /** `/api/streams` content. */
  api(): StreamApiEntry[] {
    return this.all().map((s) => s.toApi());
  }

  private tick(): void {
    for (const s of this.streams.values()) this.logStats(s);
    for (const { stream } of this.pulled.values()) this.logStats(stream);
  }

  private logStats(s: LiveStream): void {
    const bitrate = s.stats.tick();
    const snap = s.stats.snapshot();
    s.log.info(
      {
        bitrateKbps: Math.round(bitrate / 1000),
        fps: snap.video.fps,
        keyframeIntervalMs: snap.video.keyframeIntervalMs,
        players: s.io?.players() ?? s.players,
        playersByProtocol: s.io?.playersByProtocol?.(),
        videoFrames: snap.video.frames,
        audioFrames: snap.audio.frames,
      },
      'stream stats',
    );
  }
}
