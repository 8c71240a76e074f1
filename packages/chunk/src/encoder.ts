import { ChunkError } from './errors.js';
import {
  DEFAULT_CHUNK_SIZE,
  MAX_CHUNK_SIZE,
  MAX_CSID,
  MAX_MESSAGE_LENGTH,
  MIN_CSID,
  type RtmpMessage,
} from './message.js';
import { isPiecesMessage, piecesLength, type RtmpMessagePieces } from './pieces.js';

function invalid(message: string): ChunkError {
  return new ChunkError('ERR_CHUNK_INVALID_ARGUMENT', message);
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

// Returns the payload length; for a pieces message, also checks that the pieces add up to its `length`.
function checkMessage(message: RtmpMessage | RtmpMessagePieces, csid: number): number {
  if (!Number.isInteger(csid) || csid < MIN_CSID || csid > MAX_CSID) {
    throw invalid(`csid must be an integer in ${MIN_CSID}..${MAX_CSID}, got ${csid}`);
  }
  const { type, streamId, timestamp } = message;
  if (!Number.isInteger(type) || type < 0 || type > 255) throw invalid(`message type ${type} is not a u8`);
  if (!isU32(streamId)) throw invalid(`message stream id ${streamId} is not a u32`);
  if (!isU32(timestamp)) throw invalid(`timestamp ${timestamp} is not a u32`);
  let length: number;
  if (isPiecesMessage(message)) {
    length = piecesLength(message.pieces);
    if (length !== message.length) {
      throw invalid(`pieces hold ${length} bytes but the message length is ${message.length}`);
    }
  } else {
    if (!(message.payload instanceof Uint8Array)) throw invalid('payload must be a Uint8Array');
    length = message.payload.length;
  }
  if (length > MAX_MESSAGE_LENGTH) {
    throw invalid(`payload of ${length} bytes exceeds the u24 message length limit`);
  }
  return length;
}

/** Throws unless `n` is a valid chunk size (1..0x7FFFFFFF). */
export function checkChunkSize(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_CHUNK_SIZE) {
    throw new ChunkError(
      'ERR_CHUNK_SIZE_INVALID',
      `chunk size must be an integer in 1..0x7FFFFFFF, got ${n}`,
    );
  }
}

function basicHeaderSize(csid: number): number {
  return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

function writeBasicHeader(buf: Uint8Array, fmt: number, csid: number): number {
  if (csid < 64) {
    buf[0] = (fmt << 6) | csid;
    return 1;
  }
  if (csid < 320) {
    buf[0] = fmt << 6;
    buf[1] = csid - 64;
    return 2;
  }
  buf[0] = (fmt << 6) | 1;
  buf[1] = (csid - 64) & 0xff;
  buf[2] = (csid - 64) >>> 8;
  return 3;
}

function writeU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = v >>> 16;
  buf[at + 2] = v >>> 8;
  buf[at + 3] = v;
}

function continuationHeader(csid: number, extended: boolean, extValue: number): Uint8Array {
  const bs = basicHeaderSize(csid);
  const h = new Uint8Array(extended ? bs + 4 : bs);
  writeBasicHeader(h, 3, csid);
  if (extended) writeU32(h, bs, extValue);
  return h;
}

// Builds [header, payload slice, fmt3 header, payload slice, ...]; the payload is only ever sliced, never copied.
function emit(
  fmt: number,
  csid: number,
  value: number,
  message: RtmpMessage | RtmpMessagePieces,
  length: number,
  chunkSize: number,
  // For fmt 3 first chunks: whether the governing header was extended (and with which raw value).
  inheritedExt: boolean,
  inheritedValue: number,
): Uint8Array[] {
  const bs = basicHeaderSize(csid);
  const mh = fmt === 0 ? 11 : fmt === 1 ? 7 : fmt === 2 ? 3 : 0;
  const extended = fmt === 3 ? inheritedExt : value >= 0xffffff;
  const extValue = fmt === 3 ? inheritedValue : value;
  const header = new Uint8Array(bs + mh + (extended ? 4 : 0));
  writeBasicHeader(header, fmt, csid);
  let at = bs;
  if (fmt !== 3) {
    const field = extended ? 0xffffff : value;
    header[at] = field >>> 16;
    header[at + 1] = field >>> 8;
    header[at + 2] = field;
    at += 3;
    if (fmt !== 2) {
      header[at] = length >>> 16;
      header[at + 1] = length >>> 8;
      header[at + 2] = length;
      header[at + 3] = message.type;
      at += 4;
      if (fmt === 0) {
        const sid = message.streamId;
        header[at] = sid;
        header[at + 1] = sid >>> 8;
        header[at + 2] = sid >>> 16;
        header[at + 3] = sid >>> 24;
        at += 4;
      }
    }
  }
  if (extended) writeU32(header, at, extValue);
  if (isPiecesMessage(message))
    return emitPieces(header, message.pieces, chunkSize, csid, extended, extValue);
  const payload = message.payload;
  if (length <= chunkSize) return length === 0 ? [header] : [header, payload];
  const chunks = Math.ceil(length / chunkSize);
  const out = new Array<Uint8Array>(2 * chunks);
  const cont = continuationHeader(csid, extended, extValue);
  // Plain Uint8Array views: Buffer#subarray goes through a slower species constructor.
  const buf = payload.buffer;
  const base = payload.byteOffset;
  out[0] = header;
  out[1] = new Uint8Array(buf, base, chunkSize);
  for (let i = 1, off = chunkSize; i < chunks; i++, off += chunkSize) {
    out[2 * i] = cont;
    out[2 * i + 1] = new Uint8Array(buf, base + off, Math.min(chunkSize, length - off));
  }
  return out;
}

// Re-slices pieces at the output chunk size: a piece that fits in the current chunk is used as it is, one that
// crosses a chunk boundary is cut with views. Payload bytes are never copied.
function emitPieces(
  header: Uint8Array,
  pieces: readonly Uint8Array[],
  chunkSize: number,
  csid: number,
  extended: boolean,
  extValue: number,
): Uint8Array[] {
  const out: Uint8Array[] = [header];
  let cont: Uint8Array | undefined;
  let room = chunkSize;
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]!;
    const n = p.length;
    let off = 0;
    while (off < n) {
      if (room === 0) {
        cont ??= continuationHeader(csid, extended, extValue);
        out.push(cont);
        room = chunkSize;
      }
      const take = Math.min(room, n - off);
      out.push(take === n ? p : new Uint8Array(p.buffer, p.byteOffset + off, take));
      off += take;
      room -= take;
    }
  }
  return out;
}

/**
 * Stateless encoding of one message as a fmt 0 chunk followed by fmt 3 chunks. Every player of a relayed stream can
 * share this one encoding. Extended timestamps are repeated on fmt 3 chunks, as the spec says.
 * @param message - the message, with a `payload` or as `pieces` (a relay forwarding what a pieces-mode decoder
 *   returned); the payload is sliced, never copied. With pieces, one chunk's payload may be several slices.
 * @param csid - chunk stream id, 2..65599
 * @param chunkSize - the chunk size in force on the receiving side
 * @returns header and payload slices to write in order (do not mutate them)
 */
export function encodeMessage(
  message: RtmpMessage | RtmpMessagePieces,
  csid: number,
  chunkSize: number,
): Uint8Array[] {
  const length = checkMessage(message, csid);
  checkChunkSize(chunkSize);
  return emit(0, csid, message.timestamp, message, length, chunkSize, false, 0);
}

class OutStream {
  streamId = 0;
  timestamp = 0;
  length = 0;
  type = 0;
  delta = 0;
  // After fmt 0 readers disagree on the delta a following fmt 3 implies, so we never rely on it.
  deltaKnown = false;
  extended = false;
  extValue = 0;
}

/**
 * Stateful chunk encoder for one direction of a connection: picks the smallest header per chunk stream (fmt 0 on a
 * new csid, a stream id change or time going backwards; fmt 1 when length or type change; fmt 2 when only the delta
 * changes; fmt 3 otherwise) and returns header and payload slices without copying the payload.
 */
export class ChunkEncoder {
  #chunkSize = DEFAULT_CHUNK_SIZE;
  readonly #streams = new Map<number, OutStream>();

  /** The chunk size this encoder writes with (128 until {@link ChunkEncoder.setChunkSize}). */
  get chunkSize(): number {
    return this.#chunkSize;
  }

  /**
   * Encodes one message on a chunk stream.
   * @param message - the message, with a `payload` or as `pieces` (a relay forwarding what a pieces-mode decoder
   *   returned); the payload is sliced, never copied. With pieces, one chunk's payload may be several slices.
   * @param csid - chunk stream id, 2..65599
   * @returns header and payload slices to write in order
   * @throws {@link ChunkError} `ERR_CHUNK_INVALID_ARGUMENT` on an out-of-range field
   */
  encode(message: RtmpMessage | RtmpMessagePieces, csid: number): Uint8Array[] {
    const length = checkMessage(message, csid);
    let st = this.#streams.get(csid);
    if (st === undefined) {
      st = new OutStream();
      this.#streams.set(csid, st);
    } else if (st.streamId === message.streamId) {
      const delta = (message.timestamp - st.timestamp) >>> 0;
      // Serial-number arithmetic: a delta in the upper half means time went backwards.
      if (delta <= 0x7fffffff) {
        let fmt: number;
        if (length !== st.length || message.type !== st.type) fmt = 1;
        else if (st.deltaKnown && delta === st.delta) fmt = 3;
        else fmt = 2;
        const out = emit(fmt, csid, delta, message, length, this.#chunkSize, st.extended, st.extValue);
        st.timestamp = message.timestamp;
        st.length = length;
        st.type = message.type;
        if (fmt !== 3) {
          st.delta = delta;
          st.deltaKnown = true;
          st.extended = delta >= 0xffffff;
          st.extValue = delta;
        }
        return out;
      }
    }
    const out = emit(0, csid, message.timestamp, message, length, this.#chunkSize, false, 0);
    st.streamId = message.streamId;
    st.timestamp = message.timestamp;
    st.length = length;
    st.type = message.type;
    st.delta = message.timestamp;
    st.deltaKnown = false;
    st.extended = message.timestamp >= 0xffffff;
    st.extValue = message.timestamp;
    return out;
  }

  /**
   * Encodes a Set Chunk Size message (csid 2, stream 0) with the current size, then switches to `size` for what
   * follows. Write the returned slices before anything encoded afterwards.
   * @param size - new chunk size, 1..0x7FFFFFFF
   */
  setChunkSize(size: number): Uint8Array[] {
    checkChunkSize(size);
    const payload = new Uint8Array(4);
    writeU32(payload, 0, size);
    const out = this.encode({ type: 1, streamId: 0, timestamp: 0, payload }, 2);
    this.#chunkSize = size;
    return out;
  }

  /**
   * Forgets the header state of one chunk stream (or all), so the next message there starts with fmt 0. Call it
   * after sending an Abort, or when encoded chunks were dropped instead of written.
   * @param csid - chunk stream id; omit to forget every chunk stream
   */
  invalidate(csid?: number): void {
    if (csid === undefined) this.#streams.clear();
    else this.#streams.delete(csid);
  }
}
