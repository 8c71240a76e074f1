export {
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
