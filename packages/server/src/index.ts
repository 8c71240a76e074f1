/**
 * `@rtmp/server`: an RTMP/RTMPS server with a per-connection handler contract, demuxing and a live relay, built on
 * `@rtmp/connection`.
 * @packageDocumentation
 */
// Re-exported from @rtmp/connection for one minor version, so code written against @rtmp/server 0.1 still compiles;
// import these from @rtmp/connection instead.
// Enhanced RTMP connect negotiation: the capability vocabulary is @rtmp/connection's, shared with @rtmp/client.
// Signed URLs: the scheme is @rtmp/connection's (shared with @rtmp/client, which signs); the check is here.
export {
  type BudgetHolder,
  BufferBudget,
  CapsEx,
  ChunkStreams,
  checkStreamSignature,
  type EnhancedRtmpCapabilities,
  FourCcInfo,
  fourCcFlags,
  type NegotiatedEnhancedRtmp,
  type RtmpCallResult,
  type RtmpCommand,
  RtmpConnection,
  type RtmpConnectionEvents,
  type RtmpConnectionOptions,
  type RtmpDataMessage,
  RtmpError,
  type RtmpErrorCode,
  RtmpErrorCodes,
  type RtmpRole,
  type RtmpStatus,
  ServerErrorCodes,
  SIGNED_URL_PARAMS,
  type SignatureCheck,
  type SignedAction,
  type SignedRequest,
  type SignedUrlPolicy,
  type SignUrlOptions,
  signUrl,
  streamSignature,
  toRtmpError,
} from '@rtmp/connection';
export { FlvOutput, type FlvOutputEnd, type FlvOutputOptions, type FlvSink } from './relay/flv-output.js';
export {
  isRtmpPlayer,
  type LivePlayerStats,
  LiveRelay,
  type LiveRelayEvents,
  type LiveRelayOptions,
  type LiveRelayTotals,
  type LiveStreamStats,
  type RelayItem,
  type RelayItemKind,
  type RelayPublisher,
  type RelaySubscriber,
  type RtmpPlayerSubscriber,
  type SubscribeOptions,
} from './relay/relay.js';
export { SERVER_CAPABILITIES } from './server/enhanced.js';
export {
  acceptConnect,
  type ConnectAcceptance,
  type ConnectDecision,
  type ConnectInfo,
  type Decision,
  type MediaEvent,
  type PlayInfo,
  type PublishInfo,
  type RawMedia,
  type RejectDecision,
  type RtmpHandler,
  type RtmpHandlerFactory,
  reject,
  type SeekInfo,
  type StreamContext,
} from './server/handler.js';
export { RtmpServer, type RtmpServerEvents, type RtmpServerOptions } from './server/server.js';
export { ClientSession, type ClientSessionEvents, type ReconnectRequest } from './server/session.js';
export {
  type SignatureRefusal,
  type SignedUrlHandlerOptions,
  signedUrlHandler,
} from './server/signed-url.js';
export { normaliseApp } from './server/util.js';
