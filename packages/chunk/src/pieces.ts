import { ChunkError } from './errors.js';
import type { RtmpMessage } from './message.js';

/**
 * One RTMP message whose payload is a list of zero-copy views into the reads given to
 * {@link ChunkDecoder.push} (what a decoder in `payloads: 'pieces'` mode returns). Concatenated in order, the pieces
 * are the payload. The encoders accept it as well as an {@link RtmpMessage}, so a relay can forward it without ever
 * joining the pieces.
 */
export interface RtmpMessagePieces {
  /** Message type id (see {@link MessageType}). */
  type: number;
  /** Message stream id (u32; 0 for control messages and NetConnection commands). */
  streamId: number;
  /** Timestamp in milliseconds, u32, wraps at 2^32. */
  timestamp: number;
  /** Payload length in bytes: the sum of the pieces' lengths. */
  length: number;
  /**
   * The payload as views, in order: one per chunk (two when a chunk was split between reads), none for an empty
   * payload. Each view pins the whole read it points into for as long as it is referenced.
   */
  pieces: Uint8Array[];
}

/** What a decoder returns in each payload mode: `'contiguous'` (default) or `'pieces'`. */
export type PayloadMode = 'contiguous' | 'pieces';

/** The message type a {@link ChunkDecoder} in payload mode `M` returns. */
export type DecodedMessage<M extends PayloadMode> = M extends 'pieces' ? RtmpMessagePieces : RtmpMessage;

/**
 * Tells the two message shapes apart.
 * @param message - a message in either shape
 * @returns true when the payload is given as `pieces`
 */
export function isPiecesMessage(message: RtmpMessage | RtmpMessagePieces): message is RtmpMessagePieces {
  return (message as Partial<RtmpMessagePieces>).pieces !== undefined;
}

// Without argument checks: the decoder's own pieces are known to add up to `length`.
export function joinPieces(pieces: readonly Uint8Array[], length: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Joins pieces into one `Uint8Array`. One piece is returned as it is (no copy); otherwise the bytes are copied once
 * into a new array of exactly their total length.
 * @param pieces - views, in order
 * @param length - the expected total length (e.g. {@link RtmpMessagePieces.length}); checked when given
 * @returns the concatenated bytes
 * @throws {@link ChunkError} `ERR_CHUNK_INVALID_ARGUMENT` when a piece is not a `Uint8Array` or `length` differs
 */
export function concatPieces(pieces: readonly Uint8Array[], length?: number): Uint8Array {
  const total = piecesLength(pieces);
  if (length !== undefined && length !== total) {
    throw new ChunkError(
      'ERR_CHUNK_INVALID_ARGUMENT',
      `pieces hold ${total} bytes, ${String(length)} expected`,
    );
  }
  return pieces.length === 0 ? new Uint8Array(0) : joinPieces(pieces, total);
}

/**
 * Converts a message to the contiguous shape: an {@link RtmpMessage} is returned unchanged, an
 * {@link RtmpMessagePieces} gets a `payload` built with {@link concatPieces} (no copy for one piece). Use it for the
 * messages a pieces-mode consumer needs to parse (commands, metadata, control).
 * @param message - a message in either shape
 * @returns a message with a contiguous `payload`
 */
export function toContiguous(message: RtmpMessage | RtmpMessagePieces): RtmpMessage {
  if (!isPiecesMessage(message)) return message;
  const { type, streamId, timestamp } = message;
  return { type, streamId, timestamp, payload: concatPieces(message.pieces, message.length) };
}

/** Sum of the pieces' lengths; throws the package error on anything that is not an array of `Uint8Array`s. */
export function piecesLength(pieces: readonly Uint8Array[]): number {
  if (!Array.isArray(pieces)) {
    throw new ChunkError('ERR_CHUNK_INVALID_ARGUMENT', 'pieces must be an array of Uint8Array');
  }
  let total = 0;
  for (const p of pieces) {
    if (!(p instanceof Uint8Array)) {
      throw new ChunkError('ERR_CHUNK_INVALID_ARGUMENT', 'every piece must be a Uint8Array');
    }
    total += p.length;
  }
  return total;
}
