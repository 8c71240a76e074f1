/// <reference types="node" />
// A visible choice of a Node API in a pure package: Buffer.allocUnsafeSlow for the reassembly slabs (uninitialised
// memory, filled before it is handed out), which no web API offers.
import { Buffer } from 'node:buffer';
import { ChunkError } from './errors.js';
import { DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MAX_MESSAGE_LENGTH, type RtmpMessage } from './message.js';
import { type DecodedMessage, joinPieces, type PayloadMode, type RtmpMessagePieces } from './pieces.js';

/** Limits applied by {@link ChunkDecoder}; every one is checked before anything is allocated. */
export interface ChunkDecoderLimits {
  /** Largest declared message length accepted (default and maximum 16 MiB - 1, the u24 limit). */
  maxMessageLength?: number;
  /** Largest chunk size a peer may set with Set Chunk Size (default 0x7FFFFFFF: chunk size never drives allocation). */
  maxChunkSize?: number;
  /** Most distinct chunk stream ids a connection may use (default 256). */
  maxChunkStreams?: number;
  /**
   * Most bytes held for incomplete messages across all chunk streams (default 32 MiB). Counted as the length of
   * every input buffer an incomplete message keeps a view of (a view pins its whole buffer) plus the declared length
   * of every reassembly buffer allocated for an incomplete message.
   */
  maxBufferedBytes?: number;
}

/**
 * Options of {@link ChunkDecoder}: its limits plus the payload mode.
 * @typeParam M - the payload mode, inferred from `payloads`
 */
export interface ChunkDecoderOptions<M extends PayloadMode = PayloadMode> extends ChunkDecoderLimits {
  /**
   * `'contiguous'` (default): every message has one `payload` ({@link RtmpMessage}); a message that spans chunks is
   * copied once. `'pieces'`: every message carries its payload as zero-copy views of the input reads
   * ({@link RtmpMessagePieces}), nothing is copied; meant for relays and forwarders.
   */
  payloads?: M;
  /**
   * True when each buffer given to {@link ChunkDecoder.push} is valid only during that call: a read buffer that is
   * reused for the next socket read (Node's `onread` option), possibly shared by many connections. The decoder then
   * keeps nothing that points into it: every payload is copied once into the decoder's own memory (a message in
   * one chunk too), the chunks of an incomplete message as they arrive, and the few bytes of an incomplete chunk
   * header. Contiguous payloads only (`'pieces'` are views of the input by definition). Default false.
   */
  transientInput?: boolean;
}

/**
 * The constructor arguments for payload mode `M`: `payloads` must be spelled out whenever the mode may be
 * `'pieces'`, so that a `ChunkDecoder<'pieces'>` cannot be created in the default mode by type inference.
 */
export type ChunkDecoderArgs<M extends PayloadMode> = 'pieces' extends M
  ? [options: ChunkDecoderOptions<M> & { payloads: M }]
  : [options?: ChunkDecoderOptions<M>];

/** Default limits of {@link ChunkDecoder}. */
export const DEFAULT_DECODER_LIMITS: Readonly<Required<ChunkDecoderLimits>> = Object.freeze({
  maxMessageLength: MAX_MESSAGE_LENGTH,
  maxChunkSize: MAX_CHUNK_SIZE,
  maxChunkStreams: 256,
  maxBufferedBytes: 32 * 1024 * 1024,
});

// Per chunk stream state: allocated once per csid, never per chunk.
class InStream {
  // The 1-byte fmt 3 basic header of this csid when no extended timestamp follows it, else -1.
  fmt3 = -1;
  readonly csid: number;
  constructor(csid: number) {
    this.csid = csid;
  }
  hasHeader = false;
  timestamp = 0;
  delta = 0;
  length = 0;
  type = 0;
  streamId = 0;
  // The raw 32-bit extended field of the last fmt 0/1/2 header, needed to recognise its optional repeat on fmt 3.
  extended = false;
  extValue = 0;
  active = false;
  received = 0;
  // Reassembly buffer of the incomplete message once allocated: later chunks are copied straight into it.
  dest: Uint8Array | null = null;
  // Received byte count at which `dest` is allocated (1/8 of the declared length, see ALLOC_FRACTION_SHIFT).
  allocAt = 0;
  // Until then, received pieces as (buffer, start, length), kept without allocating a view per chunk.
  parts = 0;
  partBufs: Uint8Array[] = [];
  partPos: number[] = [];
  // Bytes charged against maxBufferedBytes for this message, and the last input buffer charged.
  charged = 0;
  lastBuf: Uint8Array | undefined = undefined;
  // Pieces mode: the views of the incomplete message, handed out as its `pieces` on completion; NO_PIECES until
  // the first, which becomes a one-element literal (most messages are one chunk: no growing from an empty array).
  list: Uint8Array[] = NO_PIECES;
  // Transient input: the chunks received before `dest` exists, copied (the input is reused after push).
  stage: Uint8Array = EMPTY;
  staged = 0;
}

const S_HEADER = 0;
const S_PAYLOAD = 1;
// 3-byte basic header + 11-byte fmt 0 header + 4-byte extended timestamp.
const MAX_HEADER = 18;
const EMPTY = new Uint8Array(0);
// Never handed out nor written: a marker for "no piece yet".
const NO_PIECES: Uint8Array[] = [];
// Reassembled payloads up to SLAB_MAX bytes share slab buffers (like Node's Buffer pool, but larger). A decoder's
// first slab is SLAB_FIRST bytes and each next one twice the last, up to SLAB_SIZE: a connection that only ever gets
// small messages (a player's commands and acknowledgements) keeps one small slab, a publisher soon gets big ones.
const SLAB_FIRST = 8 * 1024;
const SLAB_SIZE = 256 * 1024;
const SLAB_MAX = 64 * 1024;
// A multi-chunk message gets its full-size reassembly buffer once 1/2^3 of it has arrived, so a peer that declares
// 16 MiB and sends one chunk is held to the reads it pinned, and memory never exceeds 8x the bytes received. Before
// that the chunks stay views of the input, copied into the buffer once it exists: every byte is still copied once.
const ALLOC_FRACTION_SHIFT = 3;
/**
 * Bytes charged against `maxBufferedBytes` per pending piece of an incomplete message (in both payload modes), on
 * top of the reads the pieces pin: a piece and its array slots cost about that much heap, and without the charge a
 * peer sending 1-byte chunks could make the decoder hold many times their size in pieces.
 */
export const PIECE_OVERHEAD = 64;

// Uninitialised memory: every byte of a reassembly buffer is overwritten before the buffer is handed out, so
// zero-filling it first would be a wasted pass over memory.
function allocRaw(length: number): ArrayBuffer {
  return Buffer.allocUnsafeSlow(length).buffer as ArrayBuffer;
}

function checkLimit(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new ChunkError(
      'ERR_CHUNK_INVALID_ARGUMENT',
      `${name} must be an integer in 1..${max}, got ${value}`,
    );
  }
  return value;
}

/**
 * Push decoder for the RTMP chunk stream of one direction of a connection (the bytes after the handshake).
 *
 * Feed it whatever the socket delivers; it returns every message completed by those bytes. It applies Set Chunk Size
 * and Abort itself and still reports them. Payloads are zero-copy views of the input when a message arrived in one
 * chunk and one read, so do not reuse input buffers after pushing them. After an error the decoder stays failed and
 * every later `push` rethrows that error.
 *
 * `new ChunkDecoder({ payloads: 'pieces' })` is a `ChunkDecoder<'pieces'>` whose `push` returns
 * {@link RtmpMessagePieces}: payloads as views of the input reads, never copied.
 * @typeParam M - the payload mode: `'contiguous'` (default) or `'pieces'`
 */
export class ChunkDecoder<M extends PayloadMode = 'contiguous'> {
  readonly #maxMessageLength: number;
  readonly #maxChunkSize: number;
  readonly #maxChunkStreams: number;
  readonly #maxBufferedBytes: number;
  readonly #pieces: boolean;
  readonly #transient: boolean;

  #chunkSize = DEFAULT_CHUNK_SIZE;
  #state = S_HEADER;
  #bufs: Uint8Array[] = [];
  #off = 0;
  #avail = 0;
  #scratch = new Uint8Array(MAX_HEADER);
  #low: (InStream | undefined)[] = new Array<InStream | undefined>(64).fill(undefined);
  #high = new Map<number, InStream>();
  #streamCount = 0;
  #cur: InStream | undefined = undefined;
  #chunkLeft = 0;
  #partial = 0;
  #error: ChunkError | undefined = undefined;
  #slab: ArrayBuffer | undefined = undefined;
  #slabUsed = 0;
  // Pieces mode: the ArrayBuffer and byte offset of the last read views were made of. `.buffer` is a C++ call in
  // V8, too slow to make per view.
  #viewOf: Uint8Array | undefined = undefined;
  #viewAb: ArrayBufferLike = EMPTY.buffer;
  #viewBase = 0;

  /** @param args - optional limits and payload mode, see {@link ChunkDecoderOptions} */
  constructor(...args: ChunkDecoderArgs<M>) {
    const limits: ChunkDecoderOptions = args[0] ?? {};
    const mode = limits.payloads;
    if (mode !== undefined && mode !== 'contiguous' && mode !== 'pieces') {
      throw new ChunkError(
        'ERR_CHUNK_INVALID_ARGUMENT',
        `payloads must be 'contiguous' or 'pieces', got ${String(mode)}`,
      );
    }
    this.#pieces = mode === 'pieces';
    this.#transient = limits.transientInput === true;
    if (this.#transient && this.#pieces) {
      throw new ChunkError(
        'ERR_CHUNK_INVALID_ARGUMENT',
        "transientInput needs contiguous payloads: 'pieces' are views of the input",
      );
    }
    this.#maxMessageLength = checkLimit(
      'maxMessageLength',
      limits.maxMessageLength,
      MAX_MESSAGE_LENGTH,
      MAX_MESSAGE_LENGTH,
    );
    this.#maxChunkSize = checkLimit('maxChunkSize', limits.maxChunkSize, MAX_CHUNK_SIZE, MAX_CHUNK_SIZE);
    this.#maxChunkStreams = checkLimit(
      'maxChunkStreams',
      limits.maxChunkStreams,
      DEFAULT_DECODER_LIMITS.maxChunkStreams,
      65598,
    );
    this.#maxBufferedBytes = checkLimit(
      'maxBufferedBytes',
      limits.maxBufferedBytes,
      DEFAULT_DECODER_LIMITS.maxBufferedBytes,
      Number.MAX_SAFE_INTEGER,
    );
  }

  /** The chunk size currently in force for incoming chunks (128 until the peer sets it). */
  get chunkSize(): number {
    return this.#chunkSize;
  }

  /** The payload mode this decoder was created with. */
  get payloads(): M {
    return (this.#pieces ? 'pieces' : 'contiguous') as M;
  }

  /**
   * Bytes currently held: input buffers pinned by incomplete messages plus an incomplete chunk header (in pieces
   * mode also {@link PIECE_OVERHEAD} per pending piece).
   */
  get bufferedBytes(): number {
    return this.#partial + this.#avail;
  }

  /** The error that failed this decoder, if any. */
  get error(): ChunkError | undefined {
    return this.#error;
  }

  /**
   * Decodes the next bytes of the stream.
   * @param bytes - any number of bytes, split anywhere
   * @returns the messages completed by these bytes, in order
   * @throws {@link ChunkError} on a protocol violation or exceeded limit; the decoder then stays failed
   */
  push(bytes: Uint8Array): DecodedMessage<M>[] {
    if (this.#error !== undefined) throw this.#error;
    if (!(bytes instanceof Uint8Array)) {
      throw new ChunkError('ERR_CHUNK_INVALID_ARGUMENT', 'push() expects a Uint8Array');
    }
    const out: (RtmpMessage | RtmpMessagePieces)[] = [];
    if (bytes.length === 0) return out as DecodedMessage<M>[];
    // Plain Uint8Array views: subarray on a Buffer goes through a slower species constructor, and every payload
    // handed out should be a plain Uint8Array.
    // Pieces mode makes its views from the ArrayBuffer and never hands `bytes` itself out.
    if (!this.#pieces && bytes.constructor !== Uint8Array)
      bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    this.#bufs.push(bytes);
    this.#avail += bytes.length;
    try {
      this.#run(out);
    } catch (cause) {
      const error =
        cause instanceof ChunkError
          ? cause
          : new ChunkError('ERR_CHUNK_INTERNAL', `internal decoder error: ${String(cause)}`, { cause });
      error.messages = out;
      this.#fail(error);
      throw error;
    }
    if (this.#transient) {
      // The input is reused once push returns: keep a copy of the bytes not consumed yet (an incomplete header).
      if (this.#avail !== 0) this.#keepRest();
      this.#viewOf = undefined;
      this.#viewAb = EMPTY.buffer;
    } else if (this.#avail === 0 && this.#viewOf !== undefined) {
      // Do not keep a consumed read alive through the view cache.
      this.#viewOf = undefined;
      this.#viewAb = EMPTY.buffer;
    }
    return out as DecodedMessage<M>[];
  }

  // Transient input: replaces the unconsumed bytes (at most an incomplete chunk header) by a private copy.
  #keepRest(): void {
    const rest = new Uint8Array(this.#avail);
    let at = 0;
    let off = this.#off;
    for (const buf of this.#bufs) {
      rest.set(buf.subarray(off), at);
      at += buf.length - off;
      off = 0;
    }
    this.#bufs = [rest];
    this.#off = 0;
  }

  #fail(error: ChunkError): void {
    this.#error = error;
    // Release everything held so a failed connection does not pin memory.
    this.#bufs = [];
    this.#avail = 0;
    this.#low.fill(undefined);
    this.#high.clear();
    this.#cur = undefined;
    this.#partial = 0;
    this.#viewOf = undefined;
    this.#viewAb = EMPTY.buffer;
  }

  #consume(n: number): void {
    // Caller guarantees n bytes are available.
    this.#avail -= n;
    const first = this.#bufs[0]!.length - this.#off;
    if (n < first) {
      this.#off += n;
      return;
    }
    while (n > 0) {
      const head = this.#bufs[0]!;
      const have = head.length - this.#off;
      if (n < have) {
        this.#off += n;
        return;
      }
      n -= have;
      this.#bufs.shift();
      this.#off = 0;
    }
  }

  // Consumes the current read up to offset `off` (within it): the hot paths' counterpart of #consume.
  #consumeHeadTo(off: number): void {
    this.#avail -= off - this.#off;
    if (off === this.#bufs[0]!.length) {
      this.#bufs.shift();
      this.#off = 0;
    } else {
      this.#off = off;
    }
  }

  // Copies up to MAX_HEADER available bytes into scratch without consuming them; only used when a header spans reads.
  #gather(): number {
    const scratch = this.#scratch;
    const want = Math.min(this.#avail, MAX_HEADER);
    let at = 0;
    let off = this.#off;
    for (let i = 0; at < want; i++) {
      const buf = this.#bufs[i]!;
      const n = Math.min(buf.length - off, want - at);
      scratch.set(buf.subarray(off, off + n), at);
      at += n;
      off = 0;
    }
    return want;
  }

  #stream(csid: number): InStream | undefined {
    return csid < 64 ? this.#low[csid] : this.#high.get(csid);
  }

  #newStream(csid: number): InStream {
    if (this.#streamCount >= this.#maxChunkStreams) {
      throw new ChunkError(
        'ERR_CHUNK_TOO_MANY_STREAMS',
        `more than ${this.#maxChunkStreams} chunk streams (csid ${csid})`,
      );
    }
    this.#streamCount++;
    const s = new InStream(csid);
    if (csid < 64) this.#low[csid] = s;
    else this.#high.set(csid, s);
    return s;
  }

  #checkLength(length: number, csid: number): void {
    if (length > this.#maxMessageLength) {
      throw new ChunkError(
        'ERR_CHUNK_MESSAGE_TOO_LONG',
        `message length ${length} on csid ${csid} exceeds maxMessageLength ${this.#maxMessageLength}`,
      );
    }
  }

  #run(out: (RtmpMessage | RtmpMessagePieces)[]): void {
    for (;;) {
      if (this.#state === S_PAYLOAD) {
        const cs = this.#cur!;
        let left = this.#chunkLeft;
        for (;;) {
          const target = cs.dest;
          if (this.#pieces) {
            if (left > 0 && this.#avail !== 0 && this.#off + left <= this.#bufs[0]!.length) {
              // Pieces hot loop: whole chunks inside the current read become views; per chunk, one view and one
              // array slot. It mirrors the copying loop below on purpose: one loop with a per-chunk mode branch or
              // a callback would put that cost on every chunk of both modes.
              const head = this.#bufs[0]!;
              const end = head.length;
              const start = this.#off;
              if (head !== this.#viewOf) this.#setViewOf(head);
              const ab = this.#viewAb;
              const base = this.#viewBase;
              const length = cs.length;
              const size = this.#chunkSize;
              const h = cs.fmt3;
              let off = start;
              let recv = cs.received;
              let n = 0;
              while (off + left <= end) {
                const view = new Uint8Array(ab, base + off, left);
                if (cs.list === NO_PIECES) cs.list = [view];
                else cs.list.push(view);
                n++;
                recv += left;
                off += left;
                left = 0;
                if (recv === length || off === end || head[off] !== h) break;
                off++;
                left = Math.min(length - recv, size);
              }
              cs.received = recv;
              this.#consumeHeadTo(off);
              if (recv < length) this.#charge(cs, head, n);
            }
          } else if (target !== null && left > 0 && this.#avail !== 0) {
            // Hot loop for a message whose buffer exists: whole chunks and their 1-byte fmt 3 headers inside the
            // current read, with state kept in locals and written back once.
            const head = this.#bufs[0]!;
            const end = head.length;
            const start = this.#off;
            const length = cs.length;
            const size = this.#chunkSize;
            const h = cs.fmt3;
            let off = start;
            let recv = cs.received;
            while (off + left <= end) {
              target.set(head.subarray(off, off + left), recv);
              recv += left;
              off += left;
              left = 0;
              if (recv === length || off === end || head[off] !== h) break;
              off++;
              left = Math.min(length - recv, size);
            }
            cs.received = recv;
            this.#consumeHeadTo(off);
          }
          while (left > 0) {
            if (this.#avail === 0) {
              this.#chunkLeft = left;
              return;
            }
            const head = this.#bufs[0]!;
            const off = this.#off;
            const have = head.length - off;
            let take: number;
            if (have <= left) {
              take = have;
              this.#bufs.shift();
              this.#off = 0;
            } else {
              take = left;
              this.#off = off + left;
            }
            this.#avail -= take;
            left -= take;
            if (this.#pieces) {
              if (head !== this.#viewOf) this.#setViewOf(head);
              const view = new Uint8Array(this.#viewAb, this.#viewBase + off, take);
              if (cs.list === NO_PIECES) cs.list = [view];
              else cs.list.push(view);
              cs.received += take;
              if (cs.received < cs.length) this.#charge(cs, head, 1);
              continue;
            }
            const dest = cs.dest;
            if (dest !== null) {
              dest.set(head.subarray(off, off + take), cs.received);
              cs.received += take;
              continue;
            }
            if (this.#transient) {
              // The input is reused after push: the bytes are copied now, into the message's buffer once the part
              // brings it to an eighth of its length (the same bound as the views), into the staging copy before.
              if (cs.received + take >= cs.allocAt) {
                this.#toDest(cs).set(head.subarray(off, off + take), cs.received);
              } else {
                this.#stage(cs, head, off, take);
              }
            } else {
              const k = cs.parts++;
              cs.partBufs[k] = head;
              cs.partPos[2 * k] = off;
              cs.partPos[2 * k + 1] = take;
              // Charge whole input buffers, not just the bytes taken: a view pins its entire read, so counting
              // only the taken bytes would let a peer pin many reads with one byte each. Each pending part is
              // charged too: with 1-byte chunks the first eighth of a 16 MiB message is two million of them.
              let charge = PIECE_OVERHEAD;
              if (head !== cs.lastBuf) {
                cs.lastBuf = head;
                charge += head.length;
              }
              cs.charged += charge;
              this.#partial += charge;
            }
            cs.received += take;
            if (cs.received < cs.length) {
              if (cs.dest === null && cs.received >= cs.allocAt) this.#toDest(cs);
              if (this.#partial > this.#maxBufferedBytes) {
                throw new ChunkError(
                  'ERR_CHUNK_BUFFER_LIMIT',
                  `incomplete messages hold more than maxBufferedBytes ${this.#maxBufferedBytes}`,
                );
              }
            }
          }
          // Fast path for the common next chunk: a 1-byte fmt 3 header continuing the same message.
          if (cs.received === cs.length || cs.fmt3 < 0 || this.#avail === 0) break;
          const head = this.#bufs[0]!;
          if (head[this.#off] !== cs.fmt3) break;
          this.#avail -= 1;
          if (++this.#off === head.length) {
            this.#bufs.shift();
            this.#off = 0;
          }
          const rest = cs.length - cs.received;
          left = Math.min(rest, this.#chunkSize);
        }
        this.#state = S_HEADER;
        if (cs.received === cs.length) this.#complete(cs, out);
        continue;
      }

      // S_HEADER
      if (this.#avail === 0) return;
      let b = this.#bufs[0]!;
      let o = this.#off;
      let lim = b.length - o;
      if (lim < MAX_HEADER && this.#avail > lim) {
        lim = this.#gather();
        b = this.#scratch;
        o = 0;
      }
      const b0 = b[o]!;
      const fmt = b0 >>> 6;
      let csid = b0 & 0x3f;
      let hs = 1;
      if (csid === 0) {
        if (lim < 2) return;
        csid = b[o + 1]! + 64;
        hs = 2;
      } else if (csid === 1) {
        if (lim < 3) return;
        csid = b[o + 1]! + (b[o + 2]! << 8) + 64;
        hs = 3;
      }
      let cs = this.#stream(csid);
      const p = o + hs;

      if (fmt === 3) {
        if (cs === undefined || !cs.hasHeader) {
          throw new ChunkError(
            'ERR_CHUNK_NO_PREVIOUS_HEADER',
            `fmt 3 chunk on csid ${csid} without a previous header`,
          );
        }
        let used = hs;
        if (cs.extended) {
          // Peek: FFmpeg repeats the extended field here, librtmp does not. Wait for more bytes only while what
          // has arrived is still a prefix of the expected value, so librtmp's last chunk is not held back.
          const have = Math.min(lim - hs, 4);
          const ext = cs.extValue;
          let match = true;
          for (let i = 0; i < have; i++) {
            if (b[p + i] !== ((ext >>> (24 - 8 * i)) & 0xff)) {
              match = false;
              break;
            }
          }
          if (match) {
            if (have < 4) return;
            used += 4;
          }
        }
        if (cs.active) {
          this.#consume(used);
          this.#resume(cs);
        } else {
          cs.timestamp = (cs.timestamp + cs.delta) >>> 0;
          if (b !== this.#scratch && this.#messageInRead(cs, b, o + used, out)) continue;
          this.#consume(used);
          this.#begin(cs, out);
        }
        continue;
      }

      const mh = fmt === 0 ? 11 : fmt === 1 ? 7 : 3;
      let used = hs + mh;
      if (lim < used) return;
      const field = (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
      let value = field;
      const ext = field === 0xffffff;
      if (ext) {
        if (lim < used + 4) return;
        const q = o + used;
        value = ((b[q]! << 24) | (b[q + 1]! << 16) | (b[q + 2]! << 8) | b[q + 3]!) >>> 0;
        used += 4;
      }
      if (fmt !== 2) {
        const length = (b[p + 3]! << 16) | (b[p + 4]! << 8) | b[p + 5]!;
        this.#checkLength(length, csid);
        if (cs === undefined) {
          // fmt 1 as the first chunk of a csid is tolerated (librtmp's pings): stream 0, time base 0.
          cs = this.#newStream(csid);
        } else if (cs.active) {
          throw new ChunkError(
            'ERR_CHUNK_UNEXPECTED_HEADER',
            `fmt ${fmt} header on csid ${csid} while a message is incomplete`,
          );
        }
        cs.length = length;
        cs.type = b[p + 6]!;
        if (fmt === 0) {
          cs.streamId = (b[p + 7]! | (b[p + 8]! << 8) | (b[p + 9]! << 16) | (b[p + 10]! << 24)) >>> 0;
          cs.timestamp = value;
        } else {
          cs.timestamp = (cs.timestamp + value) >>> 0;
        }
      } else {
        if (cs === undefined || !cs.hasHeader) {
          throw new ChunkError(
            'ERR_CHUNK_NO_PREVIOUS_HEADER',
            `fmt 2 chunk on csid ${csid} without a previous header`,
          );
        }
        if (cs.active) {
          throw new ChunkError(
            'ERR_CHUNK_UNEXPECTED_HEADER',
            `fmt 2 header on csid ${csid} while a message is incomplete`,
          );
        }
        cs.timestamp = (cs.timestamp + value) >>> 0;
      }
      // The spec makes a fmt 3 after a fmt 0 repeat the fmt 0 timestamp as its delta.
      cs.delta = value;
      cs.hasHeader = true;
      cs.extended = ext;
      cs.extValue = value;
      cs.fmt3 = !ext && csid < 64 ? 0xc0 | csid : -1;
      if (b !== this.#scratch && this.#messageInRead(cs, b, o + used, out)) continue;
      this.#consume(used);
      this.#begin(cs, out);
    }
  }

  // A message whose header was just parsed at the start of the current read's unconsumed bytes, when its first
  // chunk lies whole in that read (the common case: most messages are one chunk and one read): takes it in one pass,
  // without the state machine's round trips. `payloadAt` is where the first chunk's payload starts in `head`.
  // Pieces mode takes as many whole chunks as the read holds: the message is then complete (pushed to `out`) or left
  // active and charged, positioned at its next chunk header, exactly as the general path would have left it.
  // Contiguous mode takes the message only when all of it is in the read: its payload is a view of the read when it
  // is one chunk, else it is copied once, chunk by chunk, into a buffer of its length (all chunk headers are checked
  // before anything is allocated). Returns false, having changed nothing, when the general path must take the
  // message: the first chunk is not whole here, the payload is empty, the message is a control message that changes
  // framing, or (contiguous) the message does not end in this read.
  #messageInRead(
    cs: InStream,
    head: Uint8Array,
    payloadAt: number,
    out: (RtmpMessage | RtmpMessagePieces)[],
  ): boolean {
    const length = cs.length;
    const type = cs.type;
    const size = this.#chunkSize;
    const end = head.length;
    const h = cs.fmt3;
    let off = payloadAt + Math.min(length, size);
    if (length === 0 || type === 1 || type === 2 || off > end) return false;
    if (this.#pieces) {
      if (head !== this.#viewOf) this.#setViewOf(head);
      const ab = this.#viewAb;
      const base = this.#viewBase;
      const list = [new Uint8Array(ab, base + payloadAt, off - payloadAt)];
      let recv = off - payloadAt;
      while (recv < length && off < end && head[off] === h) {
        const take = Math.min(length - recv, size);
        if (off + 1 + take > end) break;
        list.push(new Uint8Array(ab, base + off + 1, take));
        off += 1 + take;
        recv += take;
      }
      this.#consumeHeadTo(off);
      if (recv === length) {
        out.push({ type, streamId: cs.streamId, timestamp: cs.timestamp, length, pieces: list });
        return true;
      }
      cs.active = true;
      cs.received = recv;
      cs.list = list;
      this.#charge(cs, head, list.length);
      return true;
    }
    for (let recv = size; recv < length; ) {
      if (off >= end || head[off] !== h) return false;
      const take = Math.min(length - recv, size);
      off += 1 + take;
      recv += take;
    }
    if (off > end) return false;
    if (head !== this.#viewOf) this.#setViewOf(head);
    const ab = this.#viewAb;
    const base = this.#viewBase;
    let payload: Uint8Array;
    if (length <= size) {
      payload = new Uint8Array(ab, base + payloadAt, length);
      if (this.#transient) {
        const copy = this.#alloc(length);
        copy.set(payload);
        payload = copy;
      }
    } else {
      payload = this.#alloc(length);
      let at = 0;
      let src = payloadAt;
      for (;;) {
        const take = Math.min(length - at, size);
        payload.set(new Uint8Array(ab, base + src, take), at);
        at += take;
        if (at === length) break;
        src += take + 1;
      }
    }
    this.#consumeHeadTo(off);
    out.push({ type, streamId: cs.streamId, timestamp: cs.timestamp, payload });
    return true;
  }

  #setViewOf(head: Uint8Array): void {
    this.#viewOf = head;
    this.#viewAb = head.buffer;
    this.#viewBase = head.byteOffset;
  }

  // Pieces mode: charges the read `head` (once per message: a view pins its whole read) and `n` new pieces, then
  // enforces maxBufferedBytes. Only called while the message is incomplete; completion releases what it charged.
  #charge(cs: InStream, head: Uint8Array, n: number): void {
    let add = n * PIECE_OVERHEAD;
    if (head !== cs.lastBuf) {
      cs.lastBuf = head;
      add += head.length;
    }
    cs.charged += add;
    this.#partial += add;
    if (this.#partial > this.#maxBufferedBytes) {
      throw new ChunkError(
        'ERR_CHUNK_BUFFER_LIMIT',
        `incomplete messages hold more than maxBufferedBytes ${this.#maxBufferedBytes}`,
      );
    }
  }

  #resume(cs: InStream): void {
    const rest = cs.length - cs.received;
    this.#cur = cs;
    this.#chunkLeft = Math.min(rest, this.#chunkSize);
    this.#state = S_PAYLOAD;
  }

  #begin(cs: InStream, out: (RtmpMessage | RtmpMessagePieces)[]): void {
    cs.active = true;
    cs.received = 0;
    cs.allocAt = cs.length >>> ALLOC_FRACTION_SHIFT;
    if (cs.length === 0) {
      this.#complete(cs, out);
      return;
    }
    this.#resume(cs);
  }

  // Transient input: appends `take` bytes of `head` at `off` to the message's staging copy, which doubles as it
  // grows (so it holds at most twice what arrived), charged by its capacity.
  #stage(cs: InStream, head: Uint8Array, off: number, take: number): void {
    let stage = cs.stage;
    const need = cs.staged + take;
    if (need > stage.length) {
      const grown = new Uint8Array(Math.max(need, 2 * stage.length, 1024));
      grown.set(stage.subarray(0, cs.staged));
      this.#partial += grown.length - stage.length;
      cs.charged += grown.length - stage.length;
      cs.stage = stage = grown;
    }
    stage.set(head.subarray(off, off + take), cs.staged);
    cs.staged = need;
  }

  // Moves the pieces received so far into a reassembly buffer of the full length and releases the reads they pinned.
  #toDest(cs: InStream): Uint8Array {
    const dest = this.#alloc(cs.length);
    this.#gatherParts(cs, dest);
    this.#partial += cs.length - cs.charged;
    cs.charged = cs.length;
    cs.dest = dest;
    return dest;
  }

  #gatherParts(cs: InStream, dest: Uint8Array): void {
    if (cs.staged !== 0) {
      dest.set(cs.stage.subarray(0, cs.staged));
      cs.stage = EMPTY;
      cs.staged = 0;
      return;
    }
    const n = cs.parts;
    const bufs = cs.partBufs;
    const pos = cs.partPos;
    let at = 0;
    for (let i = 0; i < n; i++) {
      const start = pos[2 * i]!;
      const len = pos[2 * i + 1]!;
      dest.set(bufs[i]!.subarray(start, start + len), at);
      at += len;
      // Drop the reference so old reads are not pinned.
      bufs[i] = EMPTY;
    }
    cs.parts = 0;
    cs.lastBuf = undefined;
  }

  #complete(cs: InStream, out: (RtmpMessage | RtmpMessagePieces)[]): void {
    if (this.#pieces) {
      const pieces = cs.list === NO_PIECES ? [] : cs.list;
      cs.list = NO_PIECES;
      this.#partial -= cs.charged;
      cs.charged = 0;
      cs.lastBuf = undefined;
      cs.active = false;
      cs.received = 0;
      out.push({ type: cs.type, streamId: cs.streamId, timestamp: cs.timestamp, length: cs.length, pieces });
      // Control payloads are a few bytes, usually one piece: joining them costs nothing.
      if (cs.type === 1) this.#applySetChunkSize(joinPieces(pieces, cs.length));
      else if (cs.type === 2) this.#applyAbort(joinPieces(pieces, cs.length));
      return;
    }
    let payload: Uint8Array;
    if (cs.dest !== null) {
      payload = cs.dest;
      cs.dest = null;
    } else if (cs.staged !== 0) {
      payload = this.#alloc(cs.length);
      this.#gatherParts(cs, payload);
    } else if (cs.parts === 1) {
      const start = cs.partPos[0]!;
      payload = cs.partBufs[0]!.subarray(start, start + cs.partPos[1]!);
      cs.partBufs[0] = EMPTY;
      cs.parts = 0;
      cs.lastBuf = undefined;
    } else if (cs.parts === 0) {
      payload = EMPTY;
    } else {
      // Completed within the reads that carried its first eighth: one copy, as on the other path.
      payload = this.#alloc(cs.length);
      this.#gatherParts(cs, payload);
    }
    this.#partial -= cs.charged;
    cs.charged = 0;
    cs.active = false;
    cs.received = 0;
    out.push({ type: cs.type, streamId: cs.streamId, timestamp: cs.timestamp, payload });
    if (cs.type === 1) this.#applySetChunkSize(payload);
    else if (cs.type === 2) this.#applyAbort(payload);
  }

  // Reassembly buffers (and, with transient input, copies) of small messages are carved from a slab: one ArrayBuffer
  // per slab instead of one per message. Neither slab nor large buffer is zero-filled.
  #alloc(length: number): Uint8Array {
    if (length > SLAB_MAX) return new Uint8Array(allocRaw(length), 0, length);
    let slab = this.#slab;
    if (slab === undefined || this.#slabUsed + length > slab.byteLength) {
      const size = slab === undefined ? SLAB_FIRST : Math.min(2 * slab.byteLength, SLAB_SIZE);
      slab = allocRaw(Math.max(size, length));
      this.#slab = slab;
      this.#slabUsed = 0;
    }
    const out = new Uint8Array(slab, this.#slabUsed, length);
    // Keep views 8-byte aligned so consumers can build wider typed views over them.
    this.#slabUsed += (length + 7) & ~7;
    return out;
  }

  #applySetChunkSize(payload: Uint8Array): void {
    if (payload.length < 4) {
      throw new ChunkError('ERR_CHUNK_SIZE_INVALID', `Set Chunk Size payload of ${payload.length} bytes`);
    }
    const raw = ((payload[0]! << 24) | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!) >>> 0;
    if (raw === 0 || raw > MAX_CHUNK_SIZE) {
      throw new ChunkError('ERR_CHUNK_SIZE_INVALID', `Set Chunk Size ${raw} (must be 1..0x7FFFFFFF)`);
    }
    if (raw > this.#maxChunkSize) {
      throw new ChunkError(
        'ERR_CHUNK_SIZE_LIMIT',
        `Set Chunk Size ${raw} exceeds maxChunkSize ${this.#maxChunkSize}`,
      );
    }
    this.#chunkSize = raw;
  }

  #applyAbort(payload: Uint8Array): void {
    if (payload.length < 4) {
      throw new ChunkError('ERR_CHUNK_CONTROL_INVALID', `Abort payload of ${payload.length} bytes`);
    }
    const csid = ((payload[0]! << 24) | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!) >>> 0;
    const target = csid < 65600 ? this.#stream(csid) : undefined;
    if (target?.active) {
      this.#partial -= target.charged;
      target.charged = 0;
      target.lastBuf = undefined;
      target.partBufs.fill(EMPTY, 0, target.parts);
      target.parts = 0;
      target.stage = EMPTY;
      target.staged = 0;
      target.dest = null;
      target.list = NO_PIECES;
      target.received = 0;
      target.active = false;
    }
  }
}
