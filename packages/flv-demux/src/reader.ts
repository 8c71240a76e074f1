import { FlvError } from './errors.js';

/** The 9-byte FLV file header. */
export interface FlvHeader {
  version: number;
  hasAudio: boolean;
  hasVideo: boolean;
  /** Offset of the first PreviousTagSize (9 for every known file). */
  dataOffset: number;
}

/** One FLV tag: `body` is a view into the pushed bytes when it lies in one chunk, else a copy. */
export interface FlvTag {
  /** Tag type (8 audio, 9 video, 18 script data) with the filter bit cleared. */
  type: number;
  /** True when the tag's Filter bit is set (encrypted content). */
  filtered: boolean;
  /** 32-bit timestamp in ms (24 bits + extension byte). */
  timestamp: number;
  streamId: number;
  body: Uint8Array;
  /** Byte offset of the tag header in the file. */
  offset: number;
}

/** Limits and policies of an {@link FlvReader}. */
export interface FlvReaderOptions {
  /** Largest tag body accepted, checked before buffering it. Default 16 MiB (the u24 field's own bound). */
  maxTagSize?: number;
  /** `'strict'` (default) fails on a PreviousTagSize that is not tag size + 11; `'ignore'` accepts any value. */
  previousTagSize?: 'strict' | 'ignore';
}

/** What {@link FlvReader.end} reports about the bytes left when the input ended. */
export interface FlvReaderEnd {
  /** True when the input ended inside a tag or PreviousTagSize (a recording cut short). */
  truncated: boolean;
  /** Bytes buffered but never delivered. */
  pendingBytes: number;
}

const STATE_HEADER = 0;
const STATE_TAG_HEADER = 1;
const STATE_BODY = 2;
const STATE_PREV_SIZE = 3;
const STATE_FAILED = 4;

/**
 * Push parser for FLV files and streams (HTTP-FLV): survives any split of the input, validates every
 * PreviousTagSize, checks the tag size against a limit before buffering, and is tolerant of a truncated tail
 * ({@link FlvReader.end} reports it instead of throwing). Once it throws, it stays failed.
 *
 * Tag bodies are views into the pushed chunks: do not reuse those buffers while tags are in use.
 */
export class FlvReader {
  /** The file header, once parsed. */
  header: FlvHeader | null = null;
  private readonly maxTagSize: number;
  private readonly strictPrev: boolean;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private state = STATE_HEADER;
  private position = 0;
  private tagSize = 0;
  private tagType = 0;
  private tagTimestamp = 0;
  private tagStreamId = 0;
  private tagOffset = 0;
  private tagFiltered = false;
  private expectedPrev = 0;
  private failure: FlvError | null = null;
  private skipRemaining = 0;

  constructor(options: FlvReaderOptions = {}) {
    this.maxTagSize = options.maxTagSize ?? 0xffffff;
    this.strictPrev = (options.previousTagSize ?? 'strict') === 'strict';
  }

  /**
   * Feeds bytes; returns the tags completed by them.
   * @throws {FlvError} `ERR_FLV_BAD_SIGNATURE`, `ERR_FLV_BAD_HEADER`, `ERR_FLV_PREVIOUS_TAG_SIZE`,
   *   `ERR_FLV_TAG_TOO_LARGE`; `ERR_FLV_PARSER_FAILED` on every call after a failure.
   */
  push(bytes: Uint8Array): FlvTag[] {
    if (this.failure !== null) {
      throw new FlvError('ERR_FLV_PARSER_FAILED', `FLV reader failed earlier: ${this.failure.message}`);
    }
    if (bytes.length > 0) {
      this.chunks.push(bytes);
      this.buffered += bytes.length;
    }
    const tags: FlvTag[] = [];
    try {
      this.run(tags);
    } catch (e) {
      this.state = STATE_FAILED;
      this.failure = e instanceof FlvError ? e : new FlvError('ERR_FLV_BAD_HEADER', String(e), { cause: e });
      this.chunks = [];
      this.buffered = 0;
      throw this.failure;
    }
    return tags;
  }

  /** Signals the end of input; reports a truncated tail instead of throwing. */
  end(): FlvReaderEnd {
    const pendingBytes = this.buffered;
    // A complete file ends right after a PreviousTagSize; anything else was cut short.
    const truncated = this.state !== STATE_FAILED && !(this.state === STATE_TAG_HEADER && pendingBytes === 0);
    this.chunks = [];
    this.buffered = 0;
    return { truncated, pendingBytes };
  }

  private run(tags: FlvTag[]): void {
    for (;;) {
      switch (this.state) {
        case STATE_HEADER: {
          if (this.buffered < 9) return;
          const h = this.consume(9);
          if (h[0] !== 0x46 || h[1] !== 0x4c || h[2] !== 0x56) {
            throw new FlvError('ERR_FLV_BAD_SIGNATURE', 'not an FLV file (no "FLV" signature)', {
              offset: 0,
            });
          }
          const dataOffset = h[5]! * 0x1000000 + ((h[6]! << 16) | (h[7]! << 8) | h[8]!);
          if (dataOffset < 9 || dataOffset > 1024) {
            throw new FlvError('ERR_FLV_BAD_HEADER', `FLV header data offset ${dataOffset}`, { offset: 5 });
          }
          this.header = {
            version: h[3]!,
            hasAudio: (h[4]! & 4) !== 0,
            hasVideo: (h[4]! & 1) !== 0,
            dataOffset,
          };
          this.position = 9;
          this.skipRemaining = dataOffset - 9;
          this.expectedPrev = 0;
          this.state = STATE_PREV_SIZE;
          break;
        }
        case STATE_PREV_SIZE: {
          if (this.skipRemaining > 0) {
            const n = Math.min(this.skipRemaining, this.buffered);
            if (n === 0) return;
            this.consume(n);
            this.skipRemaining -= n;
            this.position += n;
            continue;
          }
          if (this.buffered < 4) return;
          const b = this.consume(4);
          const prev = b[0]! * 0x1000000 + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
          if (this.strictPrev && prev !== this.expectedPrev) {
            throw new FlvError(
              'ERR_FLV_PREVIOUS_TAG_SIZE',
              `PreviousTagSize ${prev} at ${this.position}, expected ${this.expectedPrev}`,
              { offset: this.position },
            );
          }
          this.position += 4;
          this.state = STATE_TAG_HEADER;
          break;
        }
        case STATE_TAG_HEADER: {
          if (this.buffered < 11) return;
          const h = this.consume(11);
          this.tagFiltered = (h[0]! & 0x20) !== 0;
          this.tagType = h[0]! & 0x1f;
          this.tagSize = (h[1]! << 16) | (h[2]! << 8) | h[3]!;
          this.tagTimestamp = h[7]! * 0x1000000 + ((h[4]! << 16) | (h[5]! << 8) | h[6]!);
          this.tagStreamId = (h[8]! << 16) | (h[9]! << 8) | h[10]!;
          this.tagOffset = this.position;
          if (this.tagSize > this.maxTagSize) {
            throw new FlvError(
              'ERR_FLV_TAG_TOO_LARGE',
              `tag of ${this.tagSize} bytes exceeds maxTagSize ${this.maxTagSize}`,
              { offset: this.position },
            );
          }
          this.position += 11;
          this.state = STATE_BODY;
          break;
        }
        case STATE_BODY: {
          if (this.buffered < this.tagSize) return;
          const body = this.consume(this.tagSize);
          this.position += this.tagSize;
          tags.push({
            type: this.tagType,
            filtered: this.tagFiltered,
            timestamp: this.tagTimestamp,
            streamId: this.tagStreamId,
            body,
            offset: this.tagOffset,
          });
          this.expectedPrev = this.tagSize + 11;
          this.state = STATE_PREV_SIZE;
          break;
        }
        default:
          return;
      }
    }
  }

  /** Takes `n` buffered bytes: a view when they lie in the first chunk, a copy only when they span chunks. */
  private consume(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (n <= first.length) {
      if (n === first.length) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const c = this.chunks[0]!;
      const take = Math.min(c.length, n - o);
      out.set(c.subarray(0, take), o);
      o += take;
      if (take === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(take);
    }
    return out;
  }
}
