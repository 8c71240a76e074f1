import { amfProperty } from '@rtmp/amf';
import { type AudioTagClass, classifyAudioTag, classifyVideoTag, type VideoTagClass } from '@rtmp/flv-demux';
import type { Logger } from './logger.js';
import type { FlvTagType } from './recorder.js';
import type { StreamStats, TrackCodec } from './stats.js';
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
  /** Legacy FLV sound format / codec id, and sound flags (legacy audio codecs sent without a configuration). */
  legacyId?: number;
  legacyFlags?: number;
  /** Size of the NAL unit length prefixes of an AVC, HEVC or VVC track (from its configuration record). */
  nalLengthSize?: number;
}

/**
 * The subset of `@rtmp/flv-demux`'s DemuxEvent the app reads (structural, so the probe is testable alone and
 * survives additions to the demuxer's event union).
 */
export type ProbeEvent =
  | {
      kind: 'codec';
      mediaType: 'video' | 'audio';
      codec: string;
      track: number;
      info: ProbeCodecInfo;
      initData?: Uint8Array | null;
    }
  | { kind: 'video'; track: number; dts: number; keyframe: boolean; payload: Uint8Array | Uint8Array[] }
  | { kind: 'audio'; track: number; timestamp: number; payload: Uint8Array }
  | { kind: 'sequenceEnd'; mediaType: 'video' | 'audio'; track: number }
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

/** A track whose codec the demuxer announced: its frames are counted without demuxing them. */
interface KnownTrack {
  /** The demuxer's codec name (`avc`, `aac`, ...), as the classifier reports it. */
  readonly codec: string;
  /**
   * For a codec sent without a configuration: the legacy header that announced it (video: the codec id, audio: the
   * whole first byte, sound format and flags), -2 when announced by an Enhanced RTMP header; -1 with a configuration.
   * The demuxer announces such a codec again when that header changes, so a frame with another one is demuxed.
   */
  readonly header: number;
  /** The NAL unit length prefix size of an AVC/HEVC/VVC track, whose frames' NAL lengths are checked; else 0. */
  readonly nalLengthSize: number;
}

/**
 * Whether the NAL units of `body` from `at` on are well formed, `lengthSize`-byte length prefixes that stay inside
 * it: what the demuxer checks when it splits a frame into NAL units (`ERR_FLV_NAL_LENGTH` otherwise), without
 * building the list.
 */
function nalUnitsFit(body: Uint8Array, at: number, lengthSize: number): boolean {
  const end = body.length;
  let p = at;
  while (p < end) {
    if (p + lengthSize > end) return false;
    let n = 0;
    for (let i = 0; i < lengthSize; i++) n = n * 256 + body[p + i]!;
    p += lengthSize;
    if (n > end - p) return false;
    p += n;
  }
  return true;
}

// Enhanced RTMP: packet type CodedFrames (with a composition time for avc1/hvc1/vvc1) and ModEx.
const CODED_FRAMES = 1;
const MOD_EX = 7;

/**
 * Feeds {@link StreamStats} from the publisher's messages and announces codec (re)configurations in the log, for
 * every track of the stream (Enhanced RTMP multitrack included); the stream-wide statistics and warnings (fps,
 * keyframe interval, bitrate, GOP size) measure the first video and audio tracks (track 0).
 *
 * Configurations, metadata and whatever is unusual go through the demuxer, which parses them. Coded frames of a
 * track whose codec is known need only their flags and size: `@rtmp/flv-demux`'s `classifyTag` reads the header,
 * the NAL unit lengths of AVC/HEVC/VVC frames are checked in place, and nothing is allocated per frame (no NAL unit
 * list, no sample event). Multitrack and ModEx frames, frames of a track not configured yet and frames that fail a
 * check are demuxed, so the errors and codec announcements are the demuxer's as before.
 */
export class DemuxProbe implements MediaProbe {
  private errorsLogged = 0;
  private readonly videoTracks: (KnownTrack | undefined)[] = [];
  private readonly audioTracks: (KnownTrack | undefined)[] = [];

  constructor(
    private readonly demuxer: ProbeDemuxer,
    private readonly stats: StreamStats,
    private readonly log: Logger,
    private readonly onError: (code: string) => void = () => {},
  ) {}

  push(type: FlvTagType, timestamp: number, body: Uint8Array): void {
    if (type === 9) {
      if (this.videoFrame(classifyVideoTag(body), timestamp, body)) return;
    } else if (type === 8) {
      if (this.audioFrame(classifyAudioTag(body), timestamp, body)) return;
    }
    for (const e of this.demuxer.push(type, timestamp, body)) this.event(e);
  }

  /** A coded video frame of a known single-track codec: counted here. False: the demuxer must see it. */
  private videoFrame(c: VideoTagClass, timestamp: number, body: Uint8Array): boolean {
    if ((c.kind !== 'frame' && c.kind !== 'keyframe') || c.multitrackType !== null) return false;
    const b0 = body[0]!;
    let header: number;
    if (c.enhanced) {
      if ((b0 & 15) === MOD_EX) return false;
      // Header byte, FourCC, and the composition time of avc1/hvc1/vvc1 CodedFrames.
      header = 5;
      const codec = c.tracks[0]?.codec;
      if (c.packetType === CODED_FRAMES && (codec === 'avc' || codec === 'hevc' || codec === 'vvc'))
        header = 8;
    } else {
      const id = b0 & 15;
      // AVC, HEVC and AV1 carry a packet type and a composition time.
      header = id === 7 || id === 12 || id === 13 ? 5 : 1;
    }
    const known = this.videoTracks[0];
    const codec = c.tracks[0]?.codec;
    if (known === undefined || codec !== known.codec) return false;
    if (known.header !== -1 && known.header !== (c.enhanced ? -2 : b0 & 15)) return false;
    // A frame whose NAL units do not fit goes to the demuxer, which reports it as before.
    if (known.nalLengthSize !== 0 && !nalUnitsFit(body, header, known.nalLengthSize)) return false;
    this.stats.onVideo(timestamp, c.kind === 'keyframe', body.byteLength - header);
    return true;
  }

  /** A coded audio frame of a known single-track codec: counted here. False: the demuxer must see it. */
  private audioFrame(c: AudioTagClass, timestamp: number, body: Uint8Array): boolean {
    if (c.kind !== 'frame' || c.multitrackType !== null) return false;
    const b0 = body[0]!;
    let header: number;
    if (c.enhanced) {
      if ((b0 & 15) === MOD_EX) return false;
      header = 5;
    } else {
      // AAC carries a packet type.
      header = b0 >> 4 === 10 ? 2 : 1;
    }
    const known = this.audioTracks[0];
    const codec = c.tracks[0]?.codec;
    if (known === undefined || codec !== known.codec) return false;
    if (known.header !== -1 && known.header !== (c.enhanced ? -2 : b0)) return false;
    this.stats.onAudio(timestamp, body.byteLength - header);
    return true;
  }

  /** Applies one demux event (public so a server-side demuxer's events can be fed directly). */
  event(e: ProbeEvent): void {
    const s = this.stats;
    if (e.kind === 'video' && 'dts' in e) {
      if (e.track === 0) s.onVideo(e.dts, e.keyframe, payloadSize(e.payload));
      else s.onTrackFrame('video', e.track);
    } else if (e.kind === 'audio' && 'timestamp' in e && 'payload' in e) {
      if (e.track === 0) s.onAudio(e.timestamp, e.payload.byteLength);
      else s.onTrackFrame('audio', e.track);
    } else if (e.kind === 'codec' && 'info' in e) {
      this.codec(e);
    } else if (e.kind === 'sequenceEnd' && 'mediaType' in e && 'track' in e) {
      // The demuxer forgot the track's configuration: its next frames go through it again.
      (e.mediaType === 'video' ? this.videoTracks : this.audioTracks)[e.track] = undefined;
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

  private codec(e: Extract<ProbeEvent, { kind: 'codec' }>): void {
    const i = e.info;
    const nal = e.mediaType === 'video' && (e.codec === 'avc' || e.codec === 'hevc' || e.codec === 'vvc');
    const known: KnownTrack = {
      codec: e.codec,
      header: configlessHeader(e),
      nalLengthSize: nal ? (i.nalLengthSize ?? 4) : 0,
    };
    const info: TrackCodec = { codec: i.codecString };
    // Only a track other than 0 is named in the log: single-track streams log as they always did.
    const track = e.track === 0 ? undefined : e.track;
    if (e.mediaType === 'video') {
      this.videoTracks[e.track] = known;
      info.width = i.width;
      info.height = i.height;
      this.stats.onCodec('video', e.track, info);
      this.log.info(
        // `level` would clobber pino's own level field.
        {
          track,
          codec: i.codecString,
          width: i.width,
          height: i.height,
          profile: i.profile,
          codecLevel: i.level,
        },
        'video codec',
      );
    } else {
      this.audioTracks[e.track] = known;
      info.sampleRate = i.sampleRate;
      info.channels = i.channels;
      this.stats.onCodec('audio', e.track, info);
      this.log.info(
        { track, codec: i.codecString, sampleRate: i.sampleRate, channels: i.channels },
        'audio codec',
      );
    }
  }
}

/** {@link KnownTrack.header} of a codec event. */
function configlessHeader(e: Extract<ProbeEvent, { kind: 'codec' }>): number {
  if (e.initData !== null && e.initData !== undefined) return -1;
  const { legacyId, legacyFlags } = e.info;
  if (e.mediaType === 'video') return legacyId ?? -2;
  return legacyId === undefined || legacyFlags === undefined ? -2 : (legacyId << 4) | legacyFlags;
}
