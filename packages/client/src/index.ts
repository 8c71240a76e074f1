/**
 * `@rtmp/client`: an RTMP/RTMPS client that publishes and plays, built on `@rtmp/connection`, the connection core it shares with `@rtmp/server`.
 * @packageDocumentation
 */
export {
  RtmpClient,
  type RtmpClientEvents,
  type RtmpClientOptions,
  type RtmpConnectResult,
  type RtmpReconnectRequest,
  type StepOptions,
} from './client.js';
export {
  RTMP_CLIENT_ERROR_CODES,
  RtmpClientError,
  type RtmpClientErrorCode,
  type RtmpClientStep,
  type RtmpServerStatus,
} from './errors.js';
export {
  type PlayEnd,
  type PlayItem,
  type PlayOptions,
  type RawPlayItem,
  RtmpPlayer,
  type RtmpPlayerEvents,
} from './player.js';
export { type PublishOptions, type PublishType, RtmpPublisher, type TagType } from './publisher.js';
export { parseRtmpUrl, type RtmpUrl } from './url.js';
