/**
 * A big-endian byte writer for ISO BMFF boxes: boxes are opened with {@link BoxWriter.box} and closed with
 * {@link BoxWriter.end}, which writes the size once the content is known. The buffer doubles when full; used for
 * init segments (written once per stream), while fragments are sized exactly up front (see `fragment.ts`).
 */
export class BoxWriter {
  private bytes: Uint8Array;
  private view: DataView;
  private pos = 0;
  private readonly open: number[] = [];

  constructor(initialSize = 1024) {
    this.bytes = new Uint8Array(initialSize);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  /** Opens a box of type `type` (four ASCII characters); close it with {@link BoxWriter.end}. */
  box(type: string): this {
    this.open.push(this.pos);
    this.u32(0);
    return this.fourcc(type);
  }

  /** Opens a full box: type, then version and 24-bit flags. */
  fullBox(type: string, version: number, flags: number): this {
    return this.box(type).u8(version).u24(flags);
  }

  /** Closes the innermost open box, writing its size. */
  end(): this {
    const start = this.open.pop();
    if (start === undefined) throw new Error('BoxWriter.end without an open box');
    this.view.setUint32(start, this.pos - start);
    return this;
  }

  u8(v: number): this {
    this.reserve(1);
    this.bytes[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    this.reserve(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
    return this;
  }

  i16(v: number): this {
    this.reserve(2);
    this.view.setInt16(this.pos, v);
    this.pos += 2;
    return this;
  }

  u24(v: number): this {
    this.reserve(3);
    this.bytes[this.pos] = (v >>> 16) & 0xff;
    this.bytes[this.pos + 1] = (v >>> 8) & 0xff;
    this.bytes[this.pos + 2] = v & 0xff;
    this.pos += 3;
    return this;
  }

  u32(v: number): this {
    this.reserve(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }

  i32(v: number): this {
    this.reserve(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
    return this;
  }

  /** A 64-bit unsigned value given as a safe integer. */
  u64(v: number): this {
    this.u32(Math.floor(v / 0x1_0000_0000));
    return this.u32(v >>> 0);
  }

  fourcc(type: string): this {
    this.reserve(4);
    for (let i = 0; i < 4; i++) this.bytes[this.pos++] = type.charCodeAt(i);
    return this;
  }

  /** `n` zero bytes. */
  zeros(n: number): this {
    this.reserve(n);
    this.bytes.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  raw(data: Uint8Array): this {
    this.reserve(data.length);
    this.bytes.set(data, this.pos);
    this.pos += data.length;
    return this;
  }

  /** A null-terminated UTF-8 string (hdlr names). */
  cstring(text: string): this {
    return this.raw(new TextEncoder().encode(text)).u8(0);
  }

  /** The written bytes (a copy sized exactly, so the writer's spare capacity is not kept alive). */
  finish(): Uint8Array {
    if (this.open.length > 0) throw new Error('BoxWriter.finish with open boxes');
    return this.bytes.slice(0, this.pos);
  }
}
