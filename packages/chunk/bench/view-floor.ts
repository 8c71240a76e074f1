// The fastest decoder this benchmark's stream allows that still hands out payloads a consumer may keep, as a floor
// for pieces mode: one Uint8Array view per chunk piece and one object per message, and nothing else. It has none of
// ChunkDecoder's checks, limits or generality (1-byte basic headers, no extended timestamps, no abort, no acks) and
// is correct only for streams like the one chunk.bench.ts builds. It is not a decoder to use: it shows how much of
// pieces mode's time is the views themselves, which no amount of tuning elsewhere removes.
// With `views: false` every piece is one shared empty array instead: what is left is the header walk and the
// message objects, the floor of any decoder of this stream written in JavaScript (it hands out nothing usable).

export interface FloorMessage {
  type: number;
  streamId: number;
  timestamp: number;
  length: number;
  pieces: Uint8Array[];
}

interface FloorStream {
  length: number;
  type: number;
  timestamp: number;
  streamId: number;
  received: number;
  pieces: Uint8Array[];
}

function complete(s: FloorStream, out: FloorMessage[]): void {
  out.push({
    type: s.type,
    streamId: s.streamId,
    timestamp: s.timestamp,
    length: s.length,
    pieces: s.pieces,
  });
  s.pieces = [];
  s.received = 0;
}

const NO_VIEW = new Uint8Array(0);

export class ViewFloorDecoder {
  readonly #views: boolean;
  readonly #streams: (FloorStream | undefined)[] = [];
  #chunkSize = 128;
  // A chunk whose payload continues into the next read, and how many of its bytes are still to come.
  #open: FloorStream | undefined;
  #openLeft = 0;
  // A chunk header cut by the end of a read (rare: at most 12 bytes per 64 KiB read), joined with the next read.
  #tail: Buffer | undefined;

  constructor(options: { views?: boolean } = {}) {
    this.#views = options.views ?? true;
  }

  push(read: Buffer): FloorMessage[] {
    const out: FloorMessage[] = [];
    let b = read;
    if (this.#tail !== undefined) {
      b = Buffer.concat([this.#tail, read]);
      this.#tail = undefined;
    }
    const ab = b.buffer;
    const base = b.byteOffset;
    const end = b.length;
    let o = 0;
    const open = this.#open;
    if (open !== undefined) {
      const take = Math.min(this.#openLeft, end);
      open.pieces.push(this.#views ? new Uint8Array(ab, base, take) : NO_VIEW);
      open.received += take;
      this.#openLeft -= take;
      o = take;
      if (this.#openLeft > 0) return out;
      this.#open = undefined;
      if (open.received === open.length) complete(open, out);
    }
    while (o < end) {
      const b0 = b[o]!;
      const fmt = b0 >>> 6;
      const headerLength = fmt === 0 ? 12 : fmt === 1 ? 8 : fmt === 2 ? 4 : 1;
      if (o + headerLength > end) {
        this.#tail = Buffer.from(b.subarray(o));
        return out;
      }
      let s = this.#streams[b0 & 63];
      if (s === undefined) {
        s = { length: 0, type: 0, timestamp: 0, streamId: 0, received: 0, pieces: [] };
        this.#streams[b0 & 63] = s;
      }
      if (fmt < 3) {
        const t = (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
        if (fmt < 2) {
          s.length = (b[o + 4]! << 16) | (b[o + 5]! << 8) | b[o + 6]!;
          s.type = b[o + 7]!;
        }
        if (fmt === 0) {
          s.timestamp = t;
          s.streamId = b[o + 8]!;
        } else s.timestamp += t;
      }
      o += headerLength;
      const want = Math.min(s.length - s.received, this.#chunkSize);
      const take = Math.min(want, end - o);
      s.pieces.push(this.#views ? new Uint8Array(ab, base + o, take) : NO_VIEW);
      s.received += take;
      o += take;
      if (take < want) {
        this.#open = s;
        this.#openLeft = want - take;
        return out;
      }
      if (s.received === s.length) {
        if (s.type === 1) this.#chunkSize = b.readUInt32BE(o - 4);
        complete(s, out);
      }
    }
    return out;
  }
}
