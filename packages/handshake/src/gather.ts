/**
 * Collects fixed-size packets from a stream of arbitrary reads. When a packet lies inside one read it is returned
 * as a zero-copy view; only a packet that spans reads is copied, into a buffer of exactly its size.
 * @internal
 */
export class Gatherer {
  private partial: Uint8Array | null = null;
  private filled = 0;

  /**
   * Takes `size` bytes from `input` starting at `pos`. Returns the packet (or `null` when more bytes are needed,
   * in which case everything from `pos` was buffered) and how many input bytes were consumed.
   */
  take(size: number, input: Uint8Array, pos: number): { packet: Uint8Array | null; used: number } {
    const available = input.length - pos;
    if (this.partial === null) {
      if (available >= size) return { packet: input.subarray(pos, pos + size), used: size };
      if (available === 0) return { packet: null, used: 0 };
      this.partial = new Uint8Array(size);
      this.filled = 0;
    }
    const n = Math.min(size - this.filled, available);
    this.partial.set(input.subarray(pos, pos + n), this.filled);
    this.filled += n;
    if (this.filled < size) return { packet: null, used: n };
    const packet = this.partial;
    this.partial = null;
    this.filled = 0;
    return { packet, used: n };
  }
}
