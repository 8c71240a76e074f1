/**
 * `@rtmp/client`: an RTMP/RTMPS client that publishes and plays, built on `@rtmp/connection`, the connection core it shares with `@rtmp/server`.
 * @packageDocumentation
 */

// Enhanced RTMP connect negotiation: the capability vocabulary is @rtmp/connection's, shared with @rtmp/server.
// Signed publish and play links (checked by @rtmp/server's signedUrlHandler): the scheme is @rtmp/connection's.
export {
  CapsEx,
  type EnhancedRtmpCapabilities,
  FourCcInfo,
  fourCcFlags,
  type NegotiatedEnhancedRtmp,
  SIGNED_URL_PARAMS,
  type SignedAction,
  type SignUrlOptions,
  signUrl,
  streamSignature,
} from '@rtmp/connection';
export {
  type FollowReconnectOptions,
  RtmpClient,
  type RtmpClientEvents,
} from './client.js';
export {
  RTMP_CLIENT_ERROR_CODES,
  RtmpClientError,
  type RtmpClientErrorCode,
  type RtmpClientStep,
  type RtmpServerStatus,
} from './errors.js';
export type { FlvTagInput, PublishedTag, TagRole, TagType } from './headers.js';
export {
  CLIENT_CAPABILITIES,
  type RtmpClientOptions,
  type RtmpConnectResult,
  type StepOptions,
} from './options.js';
export type { PlayItem, RawPlayItem } from './play-queue.js';
export { type PlayEnd, type PlayOptions, RtmpPlayer, type RtmpPlayerEvents } from './player.js';
export {
  newPublishFlvStats,
  type PublishFlvOptions,
  type PublishFlvResult,
  type PublishFlvStats,
  type PublishFlvStop,
  publishFlv,
} from './publish-flv.js';
export { type PublishOptions, type PublishType, RtmpPublisher } from './publisher.js';
export type { RtmpReconnectRequest } from './reconnect.js';
export { parseRtmpUrl, type RtmpUrl } from './url.js';
