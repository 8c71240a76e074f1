import { FlvError } from './errors.js';

/** Reads big-endian integers from a byte view with a bounds check on every access (never a RangeError). */
export class ByteReader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  need(n: number): void {
    if (this.pos + n > this.bytes.length) {
      throw new FlvError('ERR_FLV_TRUNCATED', `${this.what}: needs ${n} more byte(s) at ${this.pos}`, {
        offset: this.pos,
      });
    }
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const b = this.bytes;
    const v = (b[this.pos]! << 8) | b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const b = this.bytes;
    const v = (b[this.pos]! << 16) | (b[this.pos + 1]! << 8) | b[this.pos + 2]!;
    this.pos += 3;
    return v;
  }

  si24(): number {
    const v = this.u24();
    return v & 0x800000 ? v - 0x1000000 : v;
  }

  u32(): number {
    this.need(4);
    const b = this.bytes;
    const v =
      b[this.pos]! * 0x1000000 + ((b[this.pos + 1]! << 16) | (b[this.pos + 2]! << 8) | b[this.pos + 3]!);
    this.pos += 4;
    return v;
  }

  fourcc(): string {
    this.need(4);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!);
  }

  /** Zero-copy view of the next `n` bytes. */
  view(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  rest(): Uint8Array {
    const v = this.bytes.subarray(this.pos);
    this.pos = this.bytes.length;
    return v;
  }
}

/**
 * MSB-first bit reader for codec headers (SPS, AudioSpecificConfig), with exp-Golomb codes. Reading past the end
 * throws `ERR_FLV_INVALID_CONFIG`.
 */
export class BitReader {
  private bit = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  get bitsLeft(): number {
    return this.bytes.length * 8 - this.bit;
  }

  u(n: number): number {
    if (n > this.bitsLeft) {
      throw new FlvError('ERR_FLV_INVALID_CONFIG', `${this.what}: truncated`);
    }
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bytes[this.bit >> 3]!;
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }

  flag(): boolean {
    return this.u(1) === 1;
  }

  skip(n: number): void {
    if (n > this.bitsLeft) {
      throw new FlvError('ERR_FLV_INVALID_CONFIG', `${this.what}: truncated`);
    }
    this.bit += n;
  }

  /** Unsigned exp-Golomb; values beyond 2^32 mean a corrupt header. */
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      zeros++;
      if (zeros > 31) throw new FlvError('ERR_FLV_INVALID_CONFIG', `${this.what}: bad exp-Golomb code`);
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/** Removes H.264/H.265 emulation prevention bytes (00 00 03 -> 00 00) so the RBSP can be bit-parsed. */
export function unescapeRbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let n = 0;
  let zeros = 0;
  for (let i = 0; i < nal.length; i++) {
    const b = nal[i]!;
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

export function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

export function bytesEqual(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Joins pieces into one buffer (used only where a caller asks for a single contiguous body). */
export function concatBytes(pieces: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of pieces) total += p.length;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of pieces) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
