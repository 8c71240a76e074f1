export {
  type BudgetHolder,
  BufferBudget,
  ChunkStreams,
  type RtmpCallResult,
  type RtmpCommand,
  RtmpConnection,
  type RtmpConnectionEvents,
  type RtmpConnectionOptions,
  type RtmpDataMessage,
  type RtmpRole,
  type RtmpStatus,
} from './connection/index.js';
export { RtmpError, type RtmpErrorCode, RtmpErrorCodes, toRtmpError } from './errors.js';
export {
  type LivePlayerStats,
  LiveRelay,
  type LiveRelayEvents,
  type LiveRelayOptions,
  type LiveRelayTotals,
  type LiveStreamStats,
} from './relay/relay.js';
export {
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
  type StreamContext,
} from './server/handler.js';
export { RtmpServer, type RtmpServerEvents, type RtmpServerOptions } from './server/server.js';
export { ClientSession, type ClientSessionEvents, type ReconnectRequest } from './server/session.js';
