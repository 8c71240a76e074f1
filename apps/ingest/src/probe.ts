import { amfProperty } from '@rtmp/amf';
import type { Logger } from './logger.js';
import type { FlvTagType } from './recorder.js';
import type { StreamStats } from './stats.js';
import type { MediaProbe } from './streams.js';

/** The subset of `@rtmp/flv-demux`'s CodecInfo the app reads. */
export interface ProbeCodecInfo {
  codecString: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
  profile?: number;
  level?: number;
}

/**
 * The subset of `@rtmp/flv-demux`'s DemuxEvent the app reads (structural, so the probe is testable alone and
 * survives additions to the demuxer's event union).
 */
export type ProbeEvent =
  | { kind: 'codec'; mediaType: 'video' | 'audio'; codec: string; track: number; info: ProbeCodecInfo }
  | { kind: 'video'; track: number; dts: number; keyframe: boolean; payload: Uint8Array | Uint8Array[] }
  | { kind: 'audio'; track: number; timestamp: number; payload: Uint8Array }
  | { kind: 'metadata'; name: string; value: unknown }
  | { kind: 'error' | 'unsupported'; code: string; message: string }
  | { kind: string };

/** What {@link DemuxProbe} needs from a demuxer: `@rtmp/flv-demux`'s `StreamDemuxer` fits. */
export interface ProbeDemuxer {
  push(type: number, timestamp: number, body: Uint8Array): readonly ProbeEvent[];
}

function payloadSize(p: Uint8Array | Uint8Array[]): number {
  if (!Array.isArray(p)) return p.byteLength;
  let n = 0;
  for (const x of p) n += x.byteLength;
  return n;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null;
}

/**
 * Feeds {@link StreamStats} from a demuxer and announces codec (re)configurations in the log. Only the first
 * video and audio tracks (track 0) are measured; other E-RTMP tracks are relayed and recorded but not analysed.
 */
export class DemuxProbe implements MediaProbe {
  private errorsLogged = 0;

  constructor(
    private readonly demuxer: ProbeDemuxer,
    private readonly stats: StreamStats,
    private readonly log: Logger,
    private readonly onError: (code: string) => void = () => {},
  ) {}

  push(type: FlvTagType, timestamp: number, body: Uint8Array): void {
    for (const e of this.demuxer.push(type, timestamp, body)) this.event(e);
  }

  /** Applies one demux event (public so a server-side demuxer's events can be fed directly). */
  event(e: ProbeEvent): void {
    const s = this.stats;
    if (e.kind === 'video' && 'dts' in e) {
      if (e.track === 0) s.onVideo(e.dts, e.keyframe, payloadSize(e.payload));
    } else if (e.kind === 'audio' && 'timestamp' in e && 'payload' in e) {
      if (e.track === 0) s.onAudio(e.timestamp, e.payload.byteLength);
    } else if (e.kind === 'codec' && 'info' in e) {
      if (e.track !== 0) return;
      const i = e.info;
      if (e.mediaType === 'video') {
        s.video.codec = i.codecString;
        s.video.width = i.width ?? s.video.width;
        s.video.height = i.height ?? s.video.height;
        this.log.info(
          // `level` would clobber pino's own level field.
          { codec: i.codecString, width: i.width, height: i.height, profile: i.profile, codecLevel: i.level },
          'video codec',
        );
      } else {
        s.audio.codec = i.codecString;
        s.audio.sampleRate = i.sampleRate ?? s.audio.sampleRate;
        s.audio.channels = i.channels ?? s.audio.channels;
        this.log.info(
          { codec: i.codecString, sampleRate: i.sampleRate, channels: i.channels },
          'audio codec',
        );
      }
    } else if (e.kind === 'metadata' && 'name' in e && 'value' in e) {
      if (e.name !== 'onMetaData') return;
      const fps = num(amfProperty(e.value, 'framerate')) ?? num(amfProperty(e.value, 'videoframerate'));
      if (fps !== null) s.metadataFps = fps;
      // Metadata is only a hint: the sequence header wins when it says otherwise.
      s.video.width ??= num(amfProperty(e.value, 'width'));
      s.video.height ??= num(amfProperty(e.value, 'height'));
      s.audio.sampleRate ??= num(amfProperty(e.value, 'audiosamplerate'));
      const encoder = amfProperty(e.value, 'encoder');
      this.log.info(
        {
          width: num(amfProperty(e.value, 'width')),
          height: num(amfProperty(e.value, 'height')),
          fps,
          videoKbps: num(amfProperty(e.value, 'videodatarate')),
          audioKbps: num(amfProperty(e.value, 'audiodatarate')),
          encoder: typeof encoder === 'string' ? encoder : undefined,
        },
        'metadata',
      );
    } else if ((e.kind === 'error' || e.kind === 'unsupported') && 'code' in e) {
      this.onError(e.code);
      // A broken stream may produce an error per message: log the first few only.
      if (this.errorsLogged++ < 5) this.log.warn({ code: e.code, kind: e.kind }, e.message);
    }
  }
}
