import type { AudioCodecEvent, VideoCodecEvent } from '@rtmp/flv-demux';
import { Mp4Error } from '../errors.js';
import {
  aacFrameLength,
  defaultOpusHead,
  parseOpusHead,
  type Vp9FrameInfo,
  vp9Config,
  vp9Level,
} from './codecs.js';

/** Video codecs a CMAF track can carry (sample entries `avc1`, `hvc1`, `av01`, `vp09`). */
export type CmafVideoCodec = 'avc' | 'hevc' | 'av1' | 'vp9';
/** Audio codecs a CMAF track can carry (sample entries `mp4a`, `Opus`). */
export type CmafAudioCodec = 'aac' | 'opus';

interface CmafTrackBase {
  /** `track_ID` in the init segment and in every fragment (1, 2, ...). */
  id: number;
  /** Ticks per second of this track's timestamps and durations (`mdhd` timescale). */
  timescale: number;
  /** RFC 6381 codec string, for an HLS `CODECS` attribute or `MediaSource.isTypeSupported`. */
  codecString: string;
  /** The E-RTMP track number of the demuxed stream this track was made from (0 for a single-track stream). */
  sourceTrack: number;
}

/** A video track of a CMAF init segment. */
export interface CmafVideoTrack extends CmafTrackBase {
  kind: 'video';
  codec: CmafVideoCodec;
  /** Picture size for the sample entry and `tkhd` (0 when the configuration does not tell it). */
  width: number;
  height: number;
  /**
   * The decoder configuration record, as the sample entry's child box carries it: avcC, hvcC or av1C as sent in
   * the stream's sequence header; for VP9 the body of a version 1 vpcC (profile, level, bit depth...).
   */
  config: Uint8Array;
  /** NAL unit length size of the samples (AVC, HEVC: from the configuration record; 0 otherwise). */
  nalLengthSize: number;
}

/** An audio track of a CMAF init segment. */
export interface CmafAudioTrack extends CmafTrackBase {
  kind: 'audio';
  codec: CmafAudioCodec;
  /** Output sample rate in Hz; also the timescale. */
  sampleRate: number;
  channels: number;
  /** AAC: the AudioSpecificConfig. Opus: the OpusHead identification header (RFC 7845), from the stream or made up. */
  config: Uint8Array;
  /** Duration of one frame in ticks (AAC 1024 or 960, doubled for explicit SBR; Opus 960 (20 ms) as a default). */
  frameDuration: number;
}

/** A track of a CMAF init segment. */
export type CmafTrack = CmafVideoTrack | CmafAudioTrack;

/** Options of {@link cmafTrack}. */
export interface CmafTrackOptions {
  /** Timescale of video tracks (default 90000: every millisecond timestamp is a whole number of ticks). */
  videoTimescale?: number;
}

/** The default video timescale: 90 kHz represents every millisecond exactly and is HLS's clock. */
export const DEFAULT_VIDEO_TIMESCALE = 90_000;

/** Whether `codec` of `mediaType` has a CMAF mapping here. */
export function isCmafCodec(mediaType: 'video' | 'audio', codec: string): boolean {
  return mediaType === 'video'
    ? codec === 'avc' || codec === 'hevc' || codec === 'av1' || codec === 'vp9'
    : codec === 'aac' || codec === 'opus';
}

/**
 * Maps a demuxed codec event of `@rtmp/flv-demux` to a CMAF track with the given `track_ID`: which sample entry,
 * which configuration record, timescale and codec string. The mapping is this package's (not a library's), and is
 * checked byte by byte: a record too short for its fixed fields is rejected here, not written into a file.
 * @throws {Mp4Error} `ERR_MP4_UNSUPPORTED_CODEC` for a codec without a CMAF mapping (VP6, MP3, Speex...),
 * `ERR_MP4_INVALID_CONFIG` for a missing or malformed configuration record, `ERR_MP4_INVALID_ARGUMENT` for a bad id
 * or timescale.
 */
export function cmafTrack(
  event: VideoCodecEvent | AudioCodecEvent,
  id: number,
  options: CmafTrackOptions = {},
): CmafTrack {
  if (!Number.isInteger(id) || id < 1 || id > 0xffff_ffff) {
    throw new Mp4Error('ERR_MP4_INVALID_ARGUMENT', `track id ${id} is not in 1..2^32-1`);
  }
  const base = { id, sourceTrack: event.track, codecString: event.info.codecString };
  if (event.mediaType === 'video') {
    const timescale = options.videoTimescale ?? DEFAULT_VIDEO_TIMESCALE;
    if (!Number.isInteger(timescale) || timescale < 1 || timescale > 0xffff_ffff) {
      throw new Mp4Error('ERR_MP4_INVALID_ARGUMENT', `video timescale ${timescale} is not in 1..2^32-1`);
    }
    return videoTrack(event, { ...base, timescale });
  }
  return audioTrack(event, base);
}

function videoTrack(
  event: VideoCodecEvent,
  base: Omit<CmafTrackBase, 'codecString'> & { codecString: string },
): CmafVideoTrack {
  const codec = event.codec;
  if (!isCmafCodec('video', codec) || event.mpeg2ts === true) {
    throw new Mp4Error('ERR_MP4_UNSUPPORTED_CODEC', `video codec ${codec} has no CMAF sample entry here`);
  }
  const data = event.initData;
  const width = event.info.width ?? 0;
  const height = event.info.height ?? 0;
  const video = (c: CmafVideoCodec, config: Uint8Array, nalLengthSize: number): CmafVideoTrack => ({
    ...base,
    kind: 'video',
    codec: c,
    width,
    height,
    config,
    nalLengthSize,
  });
  switch (codec) {
    case 'avc':
      // configurationVersion 1, profile, compatibility, level, 6 bits reserved + lengthSizeMinusOne, SPS count...
      if (data === null || data.length < 7 || data[0] !== 1) throw badConfig('avcC', data);
      return video('avc', data, (data[4]! & 3) + 1);
    case 'hevc':
      // 22 fixed bytes up to lengthSizeMinusOne (byte 21), then numOfArrays.
      if (data === null || data.length < 23 || data[0] !== 1) throw badConfig('hvcC', data);
      return video('hevc', data, (data[21]! & 3) + 1);
    case 'av1':
      // marker 1 + version 1 (0x81), profile/level, tier/depth/chroma, delay byte; the configOBUs follow.
      if (data === null || data.length < 4 || data[0] !== 0x81) throw badConfig('av1C', data);
      return video('av1', data, 0);
    default: {
      // VP9: the vpcC of an E-RTMP sequence header, or none (legacy-style streams): then one is made from the
      // first keyframe (see completeVp9Track) and until then describes 8-bit 4:2:0.
      const config = data === null ? vp9Config(null) : vpcCBody(data);
      const track = video('vp9', config, 0);
      track.codecString = vp9CodecString(config);
      return track;
    }
  }
}

function audioTrack(
  event: AudioCodecEvent,
  base: Omit<CmafTrackBase, 'codecString' | 'timescale'> & { codecString: string },
): CmafAudioTrack {
  const codec = event.codec;
  if (codec === 'aac') {
    const data = event.initData;
    if (data === null || data.length < 2) throw badConfig('AudioSpecificConfig', data);
    const frame = aacFrameLength(data);
    const sampleRate = event.info.sampleRate ?? 0;
    if (frame === null || sampleRate < 1 || sampleRate > 0xffff_ffff)
      throw badConfig('AudioSpecificConfig', data);
    return {
      ...base,
      kind: 'audio',
      codec,
      timescale: sampleRate,
      sampleRate,
      // Channel configuration 0 (a program config element) is described as stereo, as FFmpeg does.
      channels: event.info.channels ?? 2,
      config: data,
      frameDuration: frame,
    };
  }
  if (codec === 'opus') {
    const head = event.initData === null ? defaultOpusHead(2) : event.initData;
    const parsed = parseOpusHead(head);
    if (parsed === null) throw badConfig('OpusHead', event.initData);
    return {
      ...base,
      kind: 'audio',
      codec,
      // Opus always decodes at 48 kHz (RFC 7845); its input rate field is informational.
      timescale: 48_000,
      sampleRate: 48_000,
      channels: parsed.channels,
      config: head,
      frameDuration: 960,
    };
  }
  throw new Mp4Error('ERR_MP4_UNSUPPORTED_CODEC', `audio codec ${codec} has no CMAF sample entry here`);
}

function badConfig(what: string, data: Uint8Array | null): Mp4Error {
  return new Mp4Error(
    'ERR_MP4_INVALID_CONFIG',
    data === null ? `${what} missing` : `${what} malformed (${data.length} bytes)`,
  );
}

/** The body of a version 1 vpcC from an E-RTMP VP9 sequence header, with or without its 4 version/flags bytes. */
function vpcCBody(data: Uint8Array): Uint8Array {
  let body = data;
  if (body.length >= 12 && body[0] === 1 && body[1] === 0 && body[2] === 0 && body[3] === 0)
    body = body.subarray(4);
  // profile, level, depth/chroma/range, primaries, transfer, matrix, codecInitializationDataSize (16 bits).
  if (body.length < 8) throw badConfig('vpcC', data);
  const initSize = (body[6]! << 8) | body[7]!;
  if (body.length < 8 + initSize) throw badConfig('vpcC', data);
  return body.subarray(0, 8 + initSize);
}

function vp9CodecString(vpcC: Uint8Array): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `vp09.${p2(vpcC[0]!)}.${p2(vpcC[1]!)}.${p2(vpcC[2]! >> 4)}`;
}

/**
 * Completes a VP9 track from its first keyframe: the picture size (which a vpcC does not carry), and the whole
 * vpcC when the stream sent none. A no-op when both are known.
 */
export function completeVp9Track(track: CmafVideoTrack, frame: Vp9FrameInfo, hadConfig: boolean): void {
  if (track.width === 0 || track.height === 0) {
    track.width = frame.width;
    track.height = frame.height;
  }
  if (!hadConfig) {
    track.config = vp9Config(frame);
    track.config[1] = vp9Level(frame.width, frame.height);
    track.codecString = vp9CodecString(track.config);
  }
}
