import { checkChunkSize } from './encoder.js';
import { ChunkError } from './errors.js';
import { MessageType, type RtmpMessage } from './message.js';

function invalid(message: string): ChunkError {
  return new ChunkError('ERR_CHUNK_CONTROL_INVALID', message);
}

function checkU32(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new ChunkError('ERR_CHUNK_INVALID_ARGUMENT', `${name} must be a u32, got ${n}`);
  }
}

function readU32(payload: Uint8Array, at: number): number {
  return ((payload[at]! << 24) | (payload[at + 1]! << 16) | (payload[at + 2]! << 8) | payload[at + 3]!) >>> 0;
}

function writeU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = v >>> 16;
  buf[at + 2] = v >>> 8;
  buf[at + 3] = v;
}

function need(payload: Uint8Array, n: number, what: string): void {
  if (!(payload instanceof Uint8Array))
    throw new ChunkError('ERR_CHUNK_INVALID_ARGUMENT', 'payload must be a Uint8Array');
  if (payload.length < n) throw invalid(`${what} payload of ${payload.length} bytes, need ${n}`);
}

// Control messages travel on message stream 0 (csid 2 by convention, chosen by the caller of the encoder).
function control(type: number, payload: Uint8Array): RtmpMessage {
  return { type, streamId: 0, timestamp: 0, payload };
}

function u32Message(type: number, name: string, n: number): RtmpMessage {
  checkU32(name, n);
  const payload = new Uint8Array(4);
  writeU32(payload, 0, n);
  return control(type, payload);
}

/**
 * Set Chunk Size (type 1) message.
 * @param size - 1..0x7FFFFFFF
 */
export function encodeSetChunkSize(size: number): RtmpMessage {
  checkChunkSize(size);
  return u32Message(MessageType.SetChunkSize, 'chunk size', size);
}

/**
 * Reads a Set Chunk Size payload.
 * @throws {@link ChunkError} `ERR_CHUNK_SIZE_INVALID` for 0 or the top bit set, `ERR_CHUNK_CONTROL_INVALID` if short
 */
export function decodeSetChunkSize(payload: Uint8Array): number {
  need(payload, 4, 'Set Chunk Size');
  const size = readU32(payload, 0);
  if (size === 0 || size > 0x7fffffff) {
    throw new ChunkError('ERR_CHUNK_SIZE_INVALID', `Set Chunk Size ${size} (must be 1..0x7FFFFFFF)`);
  }
  return size;
}

/** Abort (type 2) message: the receiver drops the partial message of `csid`. */
export function encodeAbort(csid: number): RtmpMessage {
  return u32Message(MessageType.Abort, 'csid', csid);
}

/** Reads an Abort payload: the chunk stream id whose partial message is dropped. */
export function decodeAbort(payload: Uint8Array): number {
  need(payload, 4, 'Abort');
  return readU32(payload, 0);
}

/**
 * Acknowledgement (type 3) message.
 * @param sequenceNumber - bytes received so far, modulo 2^32 (see {@link AckCounter})
 */
export function encodeAcknowledgement(sequenceNumber: number): RtmpMessage {
  return u32Message(MessageType.Acknowledgement, 'sequence number', sequenceNumber);
}

/** Reads an Acknowledgement payload: the peer's received byte count modulo 2^32. */
export function decodeAcknowledgement(payload: Uint8Array): number {
  need(payload, 4, 'Acknowledgement');
  return readU32(payload, 0);
}

/** Window Acknowledgement Size (type 5) message. */
export function encodeWindowAckSize(size: number): RtmpMessage {
  return u32Message(MessageType.WindowAckSize, 'window size', size);
}

/** Reads a Window Acknowledgement Size payload. */
export function decodeWindowAckSize(payload: Uint8Array): number {
  need(payload, 4, 'Window Acknowledgement Size');
  return readU32(payload, 0);
}

/** Limit types of Set Peer Bandwidth. */
export const PeerBandwidthLimit = { Hard: 0, Soft: 1, Dynamic: 2 } as const;
/** A Set Peer Bandwidth limit type (0 hard, 1 soft, 2 dynamic). */
export type PeerBandwidthLimit = (typeof PeerBandwidthLimit)[keyof typeof PeerBandwidthLimit];

/** Decoded Set Peer Bandwidth. `limitType` is passed on as sent, even if unknown. */
export interface SetPeerBandwidth {
  /** Window size in bytes (u32). */
  windowSize: number;
  /** 0 hard, 1 soft, 2 dynamic (see {@link PeerBandwidthLimit}). */
  limitType: number;
}

/** Set Peer Bandwidth (type 6) message. */
export function encodeSetPeerBandwidth(windowSize: number, limitType: PeerBandwidthLimit): RtmpMessage {
  checkU32('window size', windowSize);
  if (!Number.isInteger(limitType) || limitType < 0 || limitType > 255) {
    throw new ChunkError('ERR_CHUNK_INVALID_ARGUMENT', `limit type ${limitType} is not a u8`);
  }
  const payload = new Uint8Array(5);
  writeU32(payload, 0, windowSize);
  payload[4] = limitType;
  return control(MessageType.SetPeerBandwidth, payload);
}

/** Reads a Set Peer Bandwidth payload. */
export function decodeSetPeerBandwidth(payload: Uint8Array): SetPeerBandwidth {
  need(payload, 5, 'Set Peer Bandwidth');
  return { windowSize: readU32(payload, 0), limitType: payload[4]! };
}

/** User Control (type 4) event type ids. */
export const UserControlEventType = {
  StreamBegin: 0,
  StreamEOF: 1,
  StreamDry: 2,
  SetBufferLength: 3,
  StreamIsRecorded: 4,
  PingRequest: 6,
  PingResponse: 7,
} as const;

/** A User Control event. Unknown event types decode as `unknown` with their raw data (a view). */
export type UserControlEvent =
  | { type: 'streamBegin'; streamId: number }
  | { type: 'streamEof'; streamId: number }
  | { type: 'streamDry'; streamId: number }
  | { type: 'setBufferLength'; streamId: number; bufferLength: number }
  | { type: 'streamIsRecorded'; streamId: number }
  | { type: 'pingRequest'; timestamp: number }
  | { type: 'pingResponse'; timestamp: number }
  | { type: 'unknown'; eventType: number; data: Uint8Array };

/** User Control (type 4) message carrying `event`. */
export function encodeUserControl(event: UserControlEvent): RtmpMessage {
  let id: number;
  let a: number;
  let b: number | undefined;
  switch (event.type) {
    case 'streamBegin':
      [id, a] = [0, event.streamId];
      break;
    case 'streamEof':
      [id, a] = [1, event.streamId];
      break;
    case 'streamDry':
      [id, a] = [2, event.streamId];
      break;
    case 'setBufferLength':
      [id, a, b] = [3, event.streamId, event.bufferLength];
      break;
    case 'streamIsRecorded':
      [id, a] = [4, event.streamId];
      break;
    case 'pingRequest':
      [id, a] = [6, event.timestamp];
      break;
    case 'pingResponse':
      [id, a] = [7, event.timestamp];
      break;
    case 'unknown': {
      const t = event.eventType;
      if (!Number.isInteger(t) || t < 0 || t > 0xffff) {
        throw new ChunkError('ERR_CHUNK_INVALID_ARGUMENT', `event type ${t} is not a u16`);
      }
      const payload = new Uint8Array(2 + event.data.length);
      payload[0] = t >>> 8;
      payload[1] = t;
      payload.set(event.data, 2);
      return control(MessageType.UserControl, payload);
    }
    default:
      throw new ChunkError('ERR_CHUNK_INVALID_ARGUMENT', 'unknown user control event');
  }
  checkU32('event value', a);
  if (b !== undefined) checkU32('buffer length', b);
  const payload = new Uint8Array(b === undefined ? 6 : 10);
  payload[1] = id;
  writeU32(payload, 2, a);
  if (b !== undefined) writeU32(payload, 6, b);
  return control(MessageType.UserControl, payload);
}

/**
 * Reads a User Control payload. Unknown event types are returned as `unknown`, never an error.
 * @throws {@link ChunkError} `ERR_CHUNK_CONTROL_INVALID` when a known event is truncated
 */
export function decodeUserControl(payload: Uint8Array): UserControlEvent {
  need(payload, 2, 'User Control');
  const id = (payload[0]! << 8) | payload[1]!;
  const known = id <= 4 || id === 6 || id === 7;
  if (!known) return { type: 'unknown', eventType: id, data: payload.subarray(2) };
  need(payload, id === 3 ? 10 : 6, 'User Control event');
  const v = readU32(payload, 2);
  switch (id) {
    case 0:
      return { type: 'streamBegin', streamId: v };
    case 1:
      return { type: 'streamEof', streamId: v };
    case 2:
      return { type: 'streamDry', streamId: v };
    case 3:
      return { type: 'setBufferLength', streamId: v, bufferLength: readU32(payload, 6) };
    case 4:
      return { type: 'streamIsRecorded', streamId: v };
    case 6:
      return { type: 'pingRequest', timestamp: v };
    default:
      return { type: 'pingResponse', timestamp: v };
  }
}

/** A decoded protocol control or user control message. */
export type ControlMessage =
  | { type: 'setChunkSize'; chunkSize: number }
  | { type: 'abort'; csid: number }
  | { type: 'acknowledgement'; sequenceNumber: number }
  | { type: 'userControl'; event: UserControlEvent }
  | { type: 'windowAckSize'; size: number }
  | { type: 'setPeerBandwidth'; windowSize: number; limitType: number };

/**
 * Decodes a message of type 1-6; returns `null` for any other type.
 * @throws {@link ChunkError} when a control payload is malformed
 */
export function decodeControlMessage(message: RtmpMessage): ControlMessage | null {
  const p = message.payload;
  switch (message.type) {
    case 1:
      return { type: 'setChunkSize', chunkSize: decodeSetChunkSize(p) };
    case 2:
      return { type: 'abort', csid: decodeAbort(p) };
    case 3:
      return { type: 'acknowledgement', sequenceNumber: decodeAcknowledgement(p) };
    case 4:
      return { type: 'userControl', event: decodeUserControl(p) };
    case 5:
      return { type: 'windowAckSize', size: decodeWindowAckSize(p) };
    case 6: {
      const { windowSize, limitType } = decodeSetPeerBandwidth(p);
      return { type: 'setPeerBandwidth', windowSize, limitType };
    }
    default:
      return null;
  }
}
