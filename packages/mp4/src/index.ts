/**
 * `@rtmp/mp4`: MP4 and CMAF for RTMP streams. The CMAF writer lives in `src/cmaf/`, reading MP4/MOV files into FLV
 * tags in `src/file/`.
 * @packageDocumentation
 */
export * from './cmaf/index.js';
export { MP4_ERROR_CODES, Mp4Error, type Mp4ErrorCode, type Mp4ErrorOptions } from './errors.js';
export {
  DEFAULT_MAX_SAMPLE_SIZE,
  type Mp4AudioInfo,
  Mp4File,
  type Mp4FileInfo,
  type Mp4ReadOptions,
  type Mp4TagsOptions,
  type Mp4VideoInfo,
  readMp4Tags,
} from './file/reader.js';
export type { Mp4Tag } from './file/samples.js';
export { type MediaContainer, sniffContainer, sniffFile } from './file/sniff.js';
export type { Mp4AudioCodec, Mp4VideoCodec, SkippedTrack } from './file/tracks.js';
