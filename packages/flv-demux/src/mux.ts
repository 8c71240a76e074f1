import { encodeAmf0 } from '@rtmp/amf';
import {
  AUDIO_CODEC_FOURCC,
  type AudioCodec,
  AudioPacketType,
  isNalCodec,
  VIDEO_CODEC_FOURCC,
  type VideoCodec,
  VideoFrameType,
  VideoPacketType,
} from './codecs.js';
import type { CodecInfo } from './config/info.js';
import type { DemuxEvent } from './demuxer.js';
import { FlvError } from './errors.js';
import { prefixNalUnits } from './nal.js';
import { type AmfValue, wrapSetDataFrame } from './script.js';

/** A tag body built by the muxer, as pieces (payload views are never copied). */
export interface MuxedTag {
  /** RTMP message type / FLV tag type: 8 audio, 9 video, 18 data. */
  type: 8 | 9 | 18;
  timestamp: number;
  body: Uint8Array[];
}

/** How a video track is written. */
export interface VideoMuxTrack {
  codec: VideoCodec;
  track: number;
  /** NAL length prefix size for AVC/HEVC/VVC (from the config record); default 4. */
  nalLengthSize?: number;
  /**
   * Write the legacy header with this codec id (7 AVC, 12 HEVC, 13 AV1, 2-6 old codecs). Default: 7 for AVC on
   * track 0; HEVC and AV1 use Enhanced RTMP unless 12 / 13 is asked for.
   */
  legacyId?: number;
}

/** How an audio track is written. */
export interface AudioMuxTrack {
  codec: AudioCodec;
  track: number;
  /** Write the legacy header with this sound format. Default: 10 for AAC on track 0, the codec's own for old codecs. */
  legacyId?: number;
  /** The legacy header's low nibble (rate/size/type). Default 0xF for AAC, from the codec otherwise. */
  legacyFlags?: number;
}

const LEGACY_ONLY_VIDEO: Partial<Record<VideoCodec, number>> = {
  h263: 2,
  screen: 3,
  vp6: 4,
  vp6a: 5,
  screen2: 6,
};
const LEGACY_ONLY_AUDIO: Partial<Record<AudioCodec, [number, number]>> = {
  pcm: [0, 0xe],
  adpcm: [1, 0xe],
  'pcm-le': [3, 0xe],
  nellymoser: [6, 0xe],
  g711a: [7, 0x2],
  g711u: [8, 0x2],
  speex: [11, 0x6],
  device: [15, 0xe],
};

function legacyVideoId(t: VideoMuxTrack, nano: number): number | null {
  const only = LEGACY_ONLY_VIDEO[t.codec];
  if (only !== undefined) {
    if (t.track !== 0) throw new FlvError('ERR_FLV_INVALID_ARGUMENT', `${t.codec} has no multitrack form`);
    return t.legacyId ?? only;
  }
  if (t.track !== 0 || nano !== 0) return null;
  if (t.codec === 'avc') return 7;
  if (t.codec === 'hevc' && t.legacyId === 12) return 12;
  if (t.codec === 'av1' && t.legacyId === 13) return 13;
  return null;
}

function legacyAudioHeader(t: AudioMuxTrack, nano: number): number | null {
  const only = LEGACY_ONLY_AUDIO[t.codec];
  if (only !== undefined) {
    if (t.track !== 0) throw new FlvError('ERR_FLV_INVALID_ARGUMENT', `${t.codec} has no multitrack form`);
    return ((t.legacyId ?? only[0]) << 4) | (t.legacyFlags ?? only[1]);
  }
  if (t.track !== 0 || nano !== 0) return null;
  if (t.codec === 'aac') return 0xa0 | (t.legacyFlags ?? 0xf);
  if (t.codec === 'mp3' && (t.legacyId === 2 || t.legacyId === 14))
    return (t.legacyId << 4) | (t.legacyFlags ?? 0xe);
  return null;
}

function enhancedHeader(
  first: number,
  packetType: number,
  multitrackMarker: number,
  modExMarker: number,
  fourcc: string,
  track: number,
  nano: number,
): Uint8Array {
  const bytes: number[] = [];
  let pt = packetType;
  if (track !== 0) pt = multitrackMarker;
  if (nano !== 0) {
    if (!Number.isInteger(nano) || nano < 0 || nano > 999_999) {
      throw new FlvError('ERR_FLV_INVALID_ARGUMENT', `timestampOffsetNano ${nano} outside 0..999999`);
    }
    bytes.push(first | modExMarker, 2, (nano >> 16) & 0xff, (nano >> 8) & 0xff, nano & 0xff, pt);
  } else {
    bytes.push(first | pt);
  }
  if (track !== 0) bytes.push(packetType);
  for (let i = 0; i < 4; i++) bytes.push(fourcc.charCodeAt(i));
  if (track !== 0) {
    if (!Number.isInteger(track) || track < 0 || track > 255) {
      throw new FlvError('ERR_FLV_INVALID_ARGUMENT', `track ${track} outside 0..255`);
    }
    bytes.push(track);
  }
  return Uint8Array.from(bytes);
}

function si24(v: number): [number, number, number] {
  if (!Number.isInteger(v) || v < -0x800000 || v > 0x7fffff) {
    throw new FlvError('ERR_FLV_INVALID_ARGUMENT', `composition time ${v} does not fit SI24`);
  }
  const u = v & 0xffffff;
  return [u >> 16, (u >> 8) & 0xff, u & 0xff];
}

function videoFourcc(codec: VideoCodec): string {
  const f = VIDEO_CODEC_FOURCC[codec];
  if (f === undefined) throw new FlvError('ERR_FLV_UNKNOWN_CODEC', `${codec} has no Enhanced RTMP FourCC`);
  return f;
}

function audioFourcc(codec: AudioCodec): string {
  const f = AUDIO_CODEC_FOURCC[codec];
  if (f === undefined) throw new FlvError('ERR_FLV_UNKNOWN_CODEC', `${codec} has no Enhanced RTMP FourCC`);
  return f;
}

/**
 * Builds a video tag body for a packet without frames: sequence start (config record), sequence end.
 * Legacy form for AVC (and HEVC with legacyId 12, AV1 with legacyId 13) on track 0, Enhanced RTMP otherwise.
 */
export function muxVideoControl(
  t: VideoMuxTrack,
  packetType: typeof VideoPacketType.SequenceStart | typeof VideoPacketType.SequenceEnd,
  data: Uint8Array | null,
): Uint8Array[] {
  const legacy = legacyVideoId(t, 0);
  const payload = data === null ? [] : [data];
  if (legacy !== null) {
    const header =
      legacy === 7 || legacy === 12 || legacy === 13
        ? Uint8Array.of((VideoFrameType.Key << 4) | legacy, packetType, 0, 0, 0)
        : Uint8Array.of((VideoFrameType.Key << 4) | legacy);
    return [header, ...payload];
  }
  const first = 0x80 | (VideoFrameType.Key << 4);
  const h = enhancedHeader(
    first,
    packetType,
    VideoPacketType.Multitrack,
    VideoPacketType.ModEx,
    videoFourcc(t.codec),
    t.track,
    0,
  );
  return [h, ...payload];
}

/** A video sample to mux (the shape of a demuxed video event). */
export interface VideoSampleInput {
  dts: number;
  pts: number;
  keyframe: boolean;
  /** Overrides the frame type derived from `keyframe` (1 key / 2 inter). */
  frameType?: number;
  /** NAL units for AVC/HEVC/VVC, the raw frame otherwise. */
  payload: Uint8Array | readonly Uint8Array[];
  timestampOffsetNano?: number;
}

/** Builds a video tag body for one sample. NAL units get their length prefixes; payload bytes are not copied. */
export function muxVideoSample(t: VideoMuxTrack, s: VideoSampleInput): Uint8Array[] {
  const nano = s.timestampOffsetNano ?? 0;
  const frameType = s.frameType ?? (s.keyframe ? VideoFrameType.Key : VideoFrameType.Inter);
  const cts = s.pts - s.dts;
  let payload: Uint8Array[];
  if (isNalCodec(t.codec)) {
    const nalus = s.payload instanceof Uint8Array ? [s.payload] : s.payload;
    payload = prefixNalUnits(nalus, t.nalLengthSize ?? 4);
  } else {
    if (!(s.payload instanceof Uint8Array)) {
      throw new FlvError('ERR_FLV_INVALID_ARGUMENT', `${t.codec} payload must be one Uint8Array`);
    }
    payload = [s.payload];
  }
  const legacy = legacyVideoId(t, nano);
  if (legacy !== null) {
    if (legacy === 7 || legacy === 12 || legacy === 13) {
      return [Uint8Array.of((frameType << 4) | legacy, 1, ...si24(cts)), ...payload];
    }
    return [Uint8Array.of((frameType << 4) | legacy), ...payload];
  }
  const first = 0x80 | ((frameType & 7) << 4);
  const withCts = isNalCodec(t.codec) && cts !== 0;
  if (!isNalCodec(t.codec) && cts !== 0) {
    throw new FlvError(
      'ERR_FLV_INVALID_ARGUMENT',
      `${t.codec} carries no composition time (pts must equal dts)`,
    );
  }
  const pt = isNalCodec(t.codec) && !withCts ? VideoPacketType.CodedFramesX : VideoPacketType.CodedFrames;
  const h = enhancedHeader(
    first,
    pt,
    VideoPacketType.Multitrack,
    VideoPacketType.ModEx,
    videoFourcc(t.codec),
    t.track,
    nano,
  );
  if (withCts) return [h, Uint8Array.from(si24(cts)), ...payload];
  return [h, ...payload];
}

/** Builds an audio tag body for a sequence start / end. */
export function muxAudioControl(
  t: AudioMuxTrack,
  packetType: typeof AudioPacketType.SequenceStart | typeof AudioPacketType.SequenceEnd,
  data: Uint8Array | null,
): Uint8Array[] {
  const payload = data === null ? [] : [data];
  const legacy = legacyAudioHeader(t, 0);
  if (legacy !== null && t.codec === 'aac' && packetType === AudioPacketType.SequenceStart) {
    return [Uint8Array.of(legacy, 0), ...payload];
  }
  const h = enhancedHeader(
    0x90,
    packetType,
    AudioPacketType.Multitrack,
    AudioPacketType.ModEx,
    audioFourcc(t.codec),
    t.track,
    0,
  );
  return [h, ...payload];
}

/** Builds an audio tag body for one frame. */
export function muxAudioSample(t: AudioMuxTrack, payload: Uint8Array, timestampOffsetNano = 0): Uint8Array[] {
  const legacy = legacyAudioHeader(t, timestampOffsetNano);
  if (legacy !== null) {
    return t.codec === 'aac' ? [Uint8Array.of(legacy, 1), payload] : [Uint8Array.of(legacy), payload];
  }
  const h = enhancedHeader(
    0x90,
    AudioPacketType.CodedFrames,
    AudioPacketType.Multitrack,
    AudioPacketType.ModEx,
    audioFourcc(t.codec),
    t.track,
    timestampOffsetNano,
  );
  return [h, payload];
}

/** Encodes a data message (e.g. onMetaData). `setDataFrame` adds the wrapper publishers send. */
export function muxScriptData(name: string, args: readonly AmfValue[], setDataFrame = false): Uint8Array {
  return setDataFrame ? wrapSetDataFrame(name, args) : encodeAmf0([name, ...args]);
}

/**
 * Turns demux events back into tag bodies, remembering each track's codec (NAL length size, legacy header) from
 * its codec event. `demux(mux(events))` gives back the same codec and sample events.
 */
export class StreamMuxer {
  private readonly video = new Map<number, VideoMuxTrack>();
  private readonly audio = new Map<number, AudioMuxTrack>();

  /**
   * Muxes one event; events that carry no media (unsupported, error) produce nothing.
   * @throws {FlvError} `ERR_FLV_INVALID_ARGUMENT` for a sample whose track had no codec event, or values that do
   *   not fit the format.
   */
  push(event: DemuxEvent): MuxedTag[] {
    switch (event.kind) {
      case 'codec': {
        if (event.mediaType === 'video') {
          const t = videoTrack(event.codec, event.track, event.info);
          this.video.set(event.track, t);
          if (event.initData === null) return [];
          return [{ type: 9, timestamp: event.timestamp, body: muxVideoControl(t, 0, event.initData) }];
        }
        const t = audioTrack(event.codec, event.track, event.info);
        this.audio.set(event.track, t);
        if (event.initData === null) return [];
        return [{ type: 8, timestamp: event.timestamp, body: muxAudioControl(t, 0, event.initData) }];
      }
      case 'video': {
        const t = this.video.get(event.track);
        if (t === undefined || t.codec !== event.codec) {
          throw new FlvError(
            'ERR_FLV_INVALID_ARGUMENT',
            `video track ${event.track} has no ${event.codec} codec event`,
          );
        }
        return [{ type: 9, timestamp: event.dts, body: muxVideoSample(t, event) }];
      }
      case 'audio': {
        const t = this.audio.get(event.track);
        if (t === undefined || t.codec !== event.codec) {
          throw new FlvError(
            'ERR_FLV_INVALID_ARGUMENT',
            `audio track ${event.track} has no ${event.codec} codec event`,
          );
        }
        return [
          {
            type: 8,
            timestamp: event.timestamp,
            body: muxAudioSample(t, event.payload, event.timestampOffsetNano),
          },
        ];
      }
      case 'sequenceEnd': {
        if (event.mediaType === 'video') {
          const t = this.video.get(event.track) ?? { codec: event.codec as VideoCodec, track: event.track };
          this.video.delete(event.track);
          return [{ type: 9, timestamp: event.timestamp, body: muxVideoControl(t, 2, null) }];
        }
        const t = this.audio.get(event.track) ?? { codec: event.codec as AudioCodec, track: event.track };
        this.audio.delete(event.track);
        return [{ type: 8, timestamp: event.timestamp, body: muxAudioControl(t, 2, null) }];
      }
      case 'metadata':
        if (event.mediaType === 'video') {
          const t = this.video.get(event.track ?? 0);
          const codec = t?.codec ?? 'av1';
          const h = enhancedHeader(
            0x80 | (VideoFrameType.Key << 4),
            VideoPacketType.Metadata,
            VideoPacketType.Multitrack,
            VideoPacketType.ModEx,
            videoFourcc(codec),
            event.track ?? 0,
            0,
          );
          return [{ type: 9, timestamp: event.timestamp, body: [h, muxScriptData(event.name, event.args)] }];
        }
        return [{ type: 18, timestamp: event.timestamp, body: [muxScriptData(event.name, event.args)] }];
      default:
        return [];
    }
  }
}

function videoTrack(codec: VideoCodec, track: number, info: CodecInfo): VideoMuxTrack {
  const t: VideoMuxTrack = { codec, track };
  if (info.nalLengthSize !== undefined) t.nalLengthSize = info.nalLengthSize;
  if (info.legacyId !== undefined) t.legacyId = info.legacyId;
  return t;
}

function audioTrack(codec: AudioCodec, track: number, info: CodecInfo): AudioMuxTrack {
  const t: AudioMuxTrack = { codec, track };
  if (info.legacyId !== undefined) t.legacyId = info.legacyId;
  if (info.legacyFlags !== undefined) t.legacyFlags = info.legacyFlags;
  return t;
}
