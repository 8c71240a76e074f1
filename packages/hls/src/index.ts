/**
 * `@rtmp/hls`: HLS and low-latency HLS (RFC 8216bis) from a live RTMP relay, on `@rtmp/mp4`'s CMAF writer. The
 * segmenter and the playlists are pure (`segmenter.ts`, `playlist.ts`); `stream.ts` is the relay subscriber with
 * blocking reloads, `service.ts` the HTTP side and the on-demand lifecycle.
 * @packageDocumentation
 */
export { HlsDirectory } from './directory.js';
export { HLS_ERROR_CODES, HlsError, type HlsErrorCode, type HlsErrorOptions } from './errors.js';
export {
  type BlockingRequest,
  blockingSatisfied,
  type HlsNames,
  type MediaPlaylistOptions,
  type MediaPlaylistSource,
  parseBlockingRequest,
  partHoldBack,
  renderMediaPlaylist,
} from './playlist.js';
export {
  defaultHlsCodec,
  type HlsPart,
  type HlsSegment,
  HlsSegmenter,
  type HlsSegmenterListener,
  type HlsSegmenterOptions,
  type HlsSegmenterStats,
} from './segmenter.js';
export {
  HLS_MODES,
  type HlsMode,
  HlsService,
  type HlsServiceOptions,
  type HlsServiceStats,
} from './service.js';
export { type HlsResponse, HlsStream, type HlsStreamOptions } from './stream.js';
