export { type AudioTag, type AudioTagPacket, parseAudioTag } from './audio.js';
export { concatBytes } from './bytes.js';
export {
  type AudioTagClass,
  classifyAudioTag,
  classifyTag,
  classifyVideoTag,
  type TagClass,
  type TagKind,
  type TagTrack,
  type VideoTagClass,
} from './classify.js';
export {
  AUDIO_CODEC_FOURCC,
  AUDIO_FOURCCS,
  type AudioCodec,
  AudioPacketType,
  AvMultitrackType,
  isNalCodec,
  LEGACY_AUDIO_CODECS,
  LEGACY_VIDEO_CODECS,
  type NalVideoCodec,
  TagType,
  VIDEO_CODEC_FOURCC,
  VIDEO_FOURCCS,
  type VideoCodec,
  VideoFrameType,
  VideoPacketType,
} from './codecs.js';
export {
  type AudioSpecificConfig,
  aacInfo,
  flacInfo,
  opusInfo,
  parseAudioSpecificConfig,
} from './config/audio.js';
export { av1Info, vp9Info } from './config/av1.js';
export { type AvcConfig, type AvcSpsInfo, avcInfo, parseAvcConfig, parseAvcSps } from './config/avc.js';
export { type HevcConfig, hevcInfo, parseHevcConfig, parseHevcSps } from './config/hevc.js';
export type { CodecInfo } from './config/info.js';
export {
  type AudioCodecEvent,
  type AudioSampleEvent,
  audioConfigInfo,
  type ChannelConfigEvent,
  type DemuxEvent,
  type DemuxStats,
  type ErrorEvent,
  legacyAudioInfo,
  type MetadataEvent,
  type NalVideoSampleEvent,
  type RawVideoSampleEvent,
  type SequenceEndEvent,
  StreamDemuxer,
  type UnsupportedEvent,
  type VideoCodecEvent,
  type VideoCommandEvent,
  type VideoSampleEvent,
  videoConfigInfo,
} from './demuxer.js';
export { FLV_ERROR_CODES, FlvError, type FlvErrorCode, type FlvErrorOptions } from './errors.js';
export {
  type AudioMuxTrack,
  type MuxedTag,
  muxAudioControl,
  muxAudioSample,
  muxScriptData,
  muxVideoControl,
  muxVideoSample,
  StreamMuxer,
  type VideoMuxTrack,
  type VideoSampleInput,
} from './mux.js';
export { prefixNalUnits, splitNalUnits } from './nal.js';
export {
  type FlvHeader,
  FlvReader,
  type FlvReaderEnd,
  type FlvReaderOptions,
  type FlvTag,
} from './reader.js';
export {
  type AmfValue,
  parseScriptData,
  type ScriptData,
  stripSetDataFrame,
  wrapSetDataFrame,
} from './script.js';
export { TimestampUnwrapper } from './timestamps.js';
export { parseVideoTag, type VideoTag, type VideoTagPacket } from './video.js';
export { FlvWriter, type FlvWriterOptions } from './writer.js';
