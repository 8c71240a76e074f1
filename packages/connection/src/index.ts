/**
 * `@rtmp/connection`: the RTMP connection core that `@rtmp/server` and `@rtmp/client` are both built on.
 * @packageDocumentation
 */
export { type BudgetHolder, BufferBudget } from './budget.js';
export {
  CapsEx,
  type EnhancedRtmpCapabilities,
  FourCcInfo,
  fourCcFlags,
  MAX_FOURCC_ENTRIES,
  type NegotiatedEnhancedRtmp,
  negotiated,
  readCapabilities,
  writeCapabilities,
} from './capabilities.js';
export { RtmpConnection } from './connection.js';
export { ChunkStreams, defaultChunkStream } from './control.js';
export { type Deadline, type DeadlineOptions, type DeadlineReason, watchDeadline } from './deadline.js';
export {
  CHUNK_ERROR_TO_RTMP,
  type ClientErrorCode,
  ClientErrorCodes,
  type ConnectionErrorCode,
  ConnectionErrorCodes,
  chunkErrorCode,
  RtmpError,
  type RtmpErrorCode,
  RtmpErrorCodes,
  type RtmpErrorOptions,
  type ServerErrorCode,
  ServerErrorCodes,
  toRtmpError,
} from './errors.js';
export { CONNECTION_DEFAULTS, type RtmpConnectionOptions } from './options.js';
export {
  checkStreamSignature,
  SIGNED_URL_PARAMS,
  type SignatureCheck,
  type SignedAction,
  type SignedRequest,
  type SignedUrlPolicy,
  type SignUrlOptions,
  signUrl,
  streamSignature,
} from './signed-url.js';
export type {
  RtmpCallResult,
  RtmpCommand,
  RtmpConnectionEvents,
  RtmpDataMessage,
  RtmpRole,
  RtmpStatus,
} from './types.js';
