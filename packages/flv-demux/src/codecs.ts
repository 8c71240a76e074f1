/** Video codecs this package knows, legacy FLV codec ids and Enhanced RTMP FourCCs. */
export type VideoCodec =
  | 'avc'
  | 'hevc'
  | 'vvc'
  | 'av1'
  | 'vp9'
  | 'vp8'
  | 'h263'
  | 'screen'
  | 'vp6'
  | 'vp6a'
  | 'screen2';

/** Audio codecs this package knows, legacy FLV sound formats and Enhanced RTMP FourCCs. */
export type AudioCodec =
  | 'pcm'
  | 'adpcm'
  | 'mp3'
  | 'pcm-le'
  | 'nellymoser'
  | 'g711a'
  | 'g711u'
  | 'aac'
  | 'speex'
  | 'device'
  | 'opus'
  | 'flac'
  | 'ac3'
  | 'eac3';

/** Codecs whose video payload is a list of length-prefixed NAL units. */
export type NalVideoCodec = 'avc' | 'hevc' | 'vvc';

/**
 * Legacy FLV video codec id -> codec. 12 (HEVC) and 13 (AV1) are not Adobe's: they are the ids of the CDN extensions
 * that predate Enhanced RTMP (Kingsoft/CDN-Union for HEVC, Tencent Cloud for AV1; SRS reads both) and carry a packet
 * type and composition time as AVC does. Other forks use 13 or 14 for VP9 or AV1 with their own layouts; those, and
 * every other id, are unknown here.
 */
export const LEGACY_VIDEO_CODECS: Readonly<Record<number, VideoCodec>> = {
  2: 'h263',
  3: 'screen',
  4: 'vp6',
  5: 'vp6a',
  6: 'screen2',
  7: 'avc',
  12: 'hevc',
  13: 'av1',
};

/** Legacy FLV sound format -> codec (9 is the Enhanced RTMP ExHeader marker, not a codec). */
export const LEGACY_AUDIO_CODECS: Readonly<Record<number, AudioCodec>> = {
  0: 'pcm',
  1: 'adpcm',
  2: 'mp3',
  3: 'pcm-le',
  4: 'nellymoser',
  5: 'nellymoser',
  6: 'nellymoser',
  7: 'g711a',
  8: 'g711u',
  10: 'aac',
  11: 'speex',
  14: 'mp3',
  15: 'device',
};

/** Enhanced RTMP video FourCC -> codec. */
export const VIDEO_FOURCCS: Readonly<Record<string, VideoCodec>> = {
  avc1: 'avc',
  hvc1: 'hevc',
  vvc1: 'vvc',
  av01: 'av1',
  vp09: 'vp9',
  vp08: 'vp8',
};

/** Enhanced RTMP audio FourCC -> codec. */
export const AUDIO_FOURCCS: Readonly<Record<string, AudioCodec>> = {
  mp4a: 'aac',
  Opus: 'opus',
  fLaC: 'flac',
  'ac-3': 'ac3',
  'ec-3': 'eac3',
  '.mp3': 'mp3',
};

/** Codec -> Enhanced RTMP FourCC, for muxing. */
export const VIDEO_CODEC_FOURCC: Readonly<Partial<Record<VideoCodec, string>>> = {
  avc: 'avc1',
  hevc: 'hvc1',
  vvc: 'vvc1',
  av1: 'av01',
  vp9: 'vp09',
  vp8: 'vp08',
};

/** Codec -> Enhanced RTMP FourCC, for muxing. */
export const AUDIO_CODEC_FOURCC: Readonly<Partial<Record<AudioCodec, string>>> = {
  aac: 'mp4a',
  opus: 'Opus',
  flac: 'fLaC',
  ac3: 'ac-3',
  eac3: 'ec-3',
  mp3: '.mp3',
};

/** Video packet types (Enhanced RTMP numbering; legacy AVC/HEVC packet types map onto 0-2). */
export const VideoPacketType = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  CodedFramesX: 3,
  Metadata: 4,
  MPEG2TSSequenceStart: 5,
  Multitrack: 6,
  ModEx: 7,
} as const;

/** Audio packet types of the Enhanced RTMP ExAudioTagHeader (legacy AAC packet types map onto 0-1). */
export const AudioPacketType = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  MultichannelConfig: 4,
  Multitrack: 5,
  ModEx: 7,
} as const;

/** Multitrack modes shared by audio and video. */
export const AvMultitrackType = {
  OneTrack: 0,
  ManyTracks: 1,
  ManyTracksManyCodecs: 2,
} as const;

/** Video frame types of the FLV header byte. */
export const VideoFrameType = {
  Key: 1,
  Inter: 2,
  DisposableInter: 3,
  GeneratedKey: 4,
  Command: 5,
} as const;

/** FLV tag types / RTMP message types carrying media. */
export const TagType = { Audio: 8, Video: 9, Script: 18 } as const;

/** True for the codecs whose samples are length-prefixed NAL units (AVC, HEVC, VVC). */
export function isNalCodec(codec: VideoCodec): codec is NalVideoCodec {
  return codec === 'avc' || codec === 'hevc' || codec === 'vvc';
}
