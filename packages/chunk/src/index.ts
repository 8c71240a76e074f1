export { AckCounter } from './ack.js';
export { splitAggregate } from './aggregate.js';
export {
  type ControlMessage,
  decodeAbort,
  decodeAcknowledgement,
  decodeControlMessage,
  decodeSetChunkSize,
  decodeSetPeerBandwidth,
  decodeUserControl,
  decodeWindowAckSize,
  encodeAbort,
  encodeAcknowledgement,
  encodeSetChunkSize,
  encodeSetPeerBandwidth,
  encodeUserControl,
  encodeWindowAckSize,
  PeerBandwidthLimit,
  type SetPeerBandwidth,
  type UserControlEvent,
  UserControlEventType,
} from './control.js';
export {
  ChunkDecoder,
  type ChunkDecoderArgs,
  type ChunkDecoderLimits,
  type ChunkDecoderOptions,
  DEFAULT_DECODER_LIMITS,
  PIECE_OVERHEAD,
} from './decoder.js';
export { ChunkEncoder, checkChunkSize, encodeMessage } from './encoder.js';
export { CHUNK_ERROR_CODES, ChunkError, type ChunkErrorCode, type ChunkErrorOptions } from './errors.js';
export {
  DEFAULT_CHUNK_SIZE,
  MAX_CHUNK_SIZE,
  MAX_CSID,
  MAX_MESSAGE_LENGTH,
  MessageType,
  MIN_CSID,
  type RtmpMessage,
} from './message.js';
export {
  concatPieces,
  type DecodedMessage,
  isPiecesMessage,
  type PayloadMode,
  type RtmpMessagePieces,
  toContiguous,
} from './pieces.js';
