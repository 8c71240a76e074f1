import {
  type AudioMuxTrack,
  aacInfo,
  av1Info,
  avcInfo,
  type CodecInfo,
  FlvError,
  hevcInfo,
  opusInfo,
  type VideoMuxTrack,
} from '@rtmp/flv-demux';
import type {
  EncodedPacketSink,
  InputAudioTrack,
  InputFormat,
  InputTrack,
  InputVideoTrack,
} from 'mediabunny';
import { Mp4Error } from '../errors.js';
import { av1ConfigFromSample } from './av1.js';
import type { MediabunnyModule } from './mediabunny.js';

/** Video codecs the reader turns into FLV tags: H.264 as legacy FLV, HEVC and AV1 as Enhanced RTMP. */
export type Mp4VideoCodec = 'avc' | 'hevc' | 'av1';
/** Audio codecs the reader turns into FLV tags: AAC as legacy FLV, Opus as Enhanced RTMP. */
export type Mp4AudioCodec = 'aac' | 'opus';

/** A track of the file that the reader does not send, and why. */
export interface SkippedTrack {
  kind: 'video' | 'audio' | 'other';
  /** mediabunny's codec name, null when unknown. */
  codec: string | null;
  reason: string;
}

/** What the reader needs to send one track: its FLV muxing, its configuration record and its clock. */
export interface VideoPlan {
  readonly kind: 'video';
  readonly track: InputVideoTrack;
  readonly codec: Mp4VideoCodec;
  readonly mux: VideoMuxTrack;
  /** avcC / hvcC / av1C. */
  readonly config: Uint8Array;
  readonly info: CodecInfo;
  /** Ticks per second of the track's timestamps. */
  readonly timescale: number;
  readonly width: number;
  readonly height: number;
}

/** See {@link VideoPlan}. */
export interface AudioPlan {
  readonly kind: 'audio';
  readonly track: InputAudioTrack;
  readonly codec: Mp4AudioCodec;
  readonly mux: AudioMuxTrack;
  /** AudioSpecificConfig / OpusHead. */
  readonly config: Uint8Array;
  readonly info: CodecInfo;
  readonly timescale: number;
  readonly sampleRate: number;
  readonly channels: number;
}

function configInfo(read: (bytes: Uint8Array) => CodecInfo, bytes: Uint8Array, what: string): CodecInfo {
  try {
    return read(bytes);
  } catch (error) {
    const detail = error instanceof FlvError ? `: ${error.message}` : '';
    throw new Mp4Error('ERR_MP4_INVALID_CONFIG', `${what} does not parse${detail}`, { cause: error });
  }
}

// A WebCodecs description: an ArrayBuffer or a view of one (mediabunny hands out Uint8Arrays).
function description(config: { description?: unknown } | null): Uint8Array | undefined {
  const d = config?.description;
  if (d instanceof Uint8Array) return d;
  if (ArrayBuffer.isView(d)) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  if (d instanceof ArrayBuffer) return new Uint8Array(d);
  return undefined;
}

/** mediabunny's codec name, or the sample entry type (`mp4v`...) of a codec it does not know. */
async function codecName(track: InputVideoTrack | InputAudioTrack): Promise<string | null> {
  const codec = await track.getCodec();
  if (codec !== null) return codec;
  const internal = await track.getInternalCodecId();
  return typeof internal === 'string' ? internal : null;
}

/**
 * The plan for the file's primary video track, or a skip reason. AV1's av1C is rebuilt from the first key sample,
 * read through `sink`.
 */
export async function planVideo(
  track: InputVideoTrack,
  sink: EncodedPacketSink,
): Promise<VideoPlan | SkippedTrack> {
  const codec = await track.getCodec();
  const timescale = await track.getTimeResolution();
  const width = await track.getCodedWidth();
  const height = await track.getCodedHeight();
  if (codec === 'avc' || codec === 'hevc') {
    const config = description(await track.getDecoderConfig());
    if (config === undefined) {
      throw new Mp4Error('ERR_MP4_INVALID_CONFIG', `${codec} track without a decoder configuration record`);
    }
    const info = configInfo(codec === 'avc' ? avcInfo : hevcInfo, config, codec === 'avc' ? 'avcC' : 'hvcC');
    const mux: VideoMuxTrack = { codec, track: 0, nalLengthSize: info.nalLengthSize ?? 4 };
    return { kind: 'video', track, codec, mux, config, info, timescale, width, height };
  }
  if (codec === 'av1') {
    const key = await sink.getFirstKeyPacket();
    if (key === null) throw new Mp4Error('ERR_MP4_INVALID_CONFIG', 'AV1 track without a key sample');
    const config = av1ConfigFromSample(key.data);
    const info = configInfo(av1Info, config, 'av1C');
    return { kind: 'video', track, codec, mux: { codec, track: 0 }, config, info, timescale, width, height };
  }
  const name = await codecName(track);
  return { kind: 'video', codec: name, reason: `video codec ${name ?? 'unknown'} is not supported` };
}

/** The plan for the file's primary audio track, or a skip reason. */
export async function planAudio(track: InputAudioTrack): Promise<AudioPlan | SkippedTrack> {
  const codec = await track.getCodec();
  if (codec !== 'aac' && codec !== 'opus') {
    const name = await codecName(track);
    return { kind: 'audio', codec: name, reason: `audio codec ${name ?? 'unknown'} is not supported` };
  }
  const config = description(await track.getDecoderConfig());
  if (config === undefined) {
    throw new Mp4Error('ERR_MP4_INVALID_CONFIG', `${codec} track without a decoder configuration`);
  }
  const info = configInfo(codec === 'aac' ? aacInfo : opusInfo, config, codec === 'aac' ? 'esds' : 'dOps');
  return {
    kind: 'audio',
    track,
    codec,
    mux: { codec, track: 0 },
    config,
    info,
    timescale: await track.getTimeResolution(),
    sampleRate: await track.getSampleRate(),
    channels: await track.getNumberOfChannels(),
  };
}

/** Whether a plan call gave a plan (not a skip). */
export function isPlan<P extends VideoPlan | AudioPlan>(value: P | SkippedTrack): value is P {
  return 'track' in value;
}

/** The tracks of an input that are neither its primary video nor its primary audio track, as skipped. */
export async function otherTracks(
  tracks: readonly InputTrack[],
  used: readonly InputTrack[],
): Promise<SkippedTrack[]> {
  const skipped: SkippedTrack[] = [];
  for (const track of tracks) {
    if (used.includes(track)) continue;
    const kind = track.isVideoTrack() ? 'video' : track.isAudioTrack() ? 'audio' : 'other';
    const codec = track.isVideoTrack() || track.isAudioTrack() ? await codecName(track) : null;
    skipped.push({ kind, codec, reason: 'only the primary video and audio tracks are sent' });
  }
  return skipped;
}

/** The FourCC as a number: what Enhanced RTMP puts in onMetaData's videocodecid / audiocodecid. */
export function fourccNumber(fourcc: string): number {
  let n = 0;
  for (let i = 0; i < 4; i++) n = n * 256 + fourcc.charCodeAt(i);
  return n;
}

/** onMetaData's videocodecid: 7 for H.264 (legacy), the FourCC otherwise (Enhanced RTMP). */
export function videoCodecId(codec: Mp4VideoCodec): number {
  return codec === 'avc' ? 7 : fourccNumber(codec === 'hevc' ? 'hvc1' : 'av01');
}

/** onMetaData's audiocodecid: 10 for AAC (legacy), the FourCC `Opus` otherwise. */
export function audioCodecId(codec: Mp4AudioCodec): number {
  return codec === 'aac' ? 10 : fourccNumber('Opus');
}

/** Mediabunny's own formats for MP4 and QuickTime: only these are opened. */
export function isobmffFormats(mb: MediabunnyModule): InputFormat[] {
  return [mb.MP4, mb.QTFF];
}
