/**
 * One RTMP message as carried by the chunk stream.
 */
export interface RtmpMessage {
  /** Message type id (see {@link MessageType}). */
  type: number;
  /** Message stream id (u32; 0 for control messages and NetConnection commands). */
  streamId: number;
  /** Timestamp in milliseconds, u32, wraps at 2^32. */
  timestamp: number;
  /** Message body. Decoded payloads may be views into the bytes given to `push`. */
  payload: Uint8Array;
}

/** RTMP message type ids. */
export const MessageType = {
  SetChunkSize: 1,
  Abort: 2,
  Acknowledgement: 3,
  UserControl: 4,
  WindowAckSize: 5,
  SetPeerBandwidth: 6,
  Audio: 8,
  Video: 9,
  DataAmf3: 15,
  SharedObjectAmf3: 16,
  CommandAmf3: 17,
  DataAmf0: 18,
  SharedObjectAmf0: 19,
  CommandAmf0: 20,
  Aggregate: 22,
} as const;

/** Union of the known message type ids. */
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Default chunk size of both directions before any Set Chunk Size. */
export const DEFAULT_CHUNK_SIZE = 128;
/** Largest chunk size Set Chunk Size can express (top bit must be zero). */
export const MAX_CHUNK_SIZE = 0x7fffffff;
/** Largest message length a chunk header can express (u24). */
export const MAX_MESSAGE_LENGTH = 0xffffff;
/** Lowest chunk stream id usable for messages (0 and 1 select the longer basic header forms). */
export const MIN_CSID = 2;
/** Highest chunk stream id (3-byte basic header). */
export const MAX_CSID = 65599;
