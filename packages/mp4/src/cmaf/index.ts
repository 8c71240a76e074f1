export {
  type CmafRun,
  type CmafSample,
  concatChunks,
  type EncodedFragment,
  encodeFragment,
  MAX_FRAGMENT_BYTES,
  SAMPLE_FLAGS_DISPOSABLE,
  SAMPLE_FLAGS_NON_SYNC,
  SAMPLE_FLAGS_SYNC,
} from './fragment.js';
export { encodeInitSegment } from './init.js';
export {
  type CmafAudioCodec,
  type CmafAudioTrack,
  type CmafTrack,
  type CmafTrackOptions,
  type CmafVideoCodec,
  type CmafVideoTrack,
  cmafTrack,
  DEFAULT_VIDEO_TIMESCALE,
  isCmafCodec,
} from './tracks.js';
export {
  type CmafFlushOptions,
  type CmafFragment,
  type CmafFragmentTrack,
  type CmafPushResult,
  CmafWriter,
  type CmafWriterOptions,
  type CmafWriterStats,
} from './writer.js';
