/**
 * `@rtmp/mp4`: MP4 and CMAF for RTMP streams. The CMAF writer lives in `src/cmaf/`, reading MP4/MOV files into FLV
 * tags in `src/file/`.
 * @packageDocumentation
 */
export * from './cmaf/index.js';
export { MP4_ERROR_CODES, Mp4Error, type Mp4ErrorCode, type Mp4ErrorOptions } from './errors.js';
