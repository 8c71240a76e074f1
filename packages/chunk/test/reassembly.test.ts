import { describe, expect, test } from 'vitest';
import { ChunkDecoder, ChunkEncoder, PIECE_OVERHEAD, type RtmpMessage } from '../src/index.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

function encode(messages: RtmpMessage[], chunkSize: number, csid = 6): Uint8Array {
  const enc = new ChunkEncoder();
  const slices: Uint8Array[] = [];
  if (chunkSize !== 128) slices.push(...enc.setChunkSize(chunkSize));
  for (const m of messages) slices.push(...enc.encode(m, csid));
  return new Uint8Array(Buffer.concat(slices));
}

describe('reassembly buffer', () => {
  test('is allocated only once 1/8 of the declared length has arrived; reads are pinned until then', () => {
    const d = new ChunkDecoder();
    // chunk size 1000, one message of 80,000 bytes: the buffer is allocated at 10,000 received bytes.
    d.push(hex('02 000000 000004 01 00000000 000003e8'));
    const payload = pattern(80_000, 3);
    const stream = encode([{ type: 9, streamId: 1, timestamp: 0, payload }], 1000).subarray(16);
    const reads: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i += 1001) reads.push(stream.slice(i, i + 1001));
    let held = 0;
    let at = 0;
    // Push reads while the buffer does not exist: what is held is exactly the reads pushed, plus a fixed charge per
    // pending part (here each read carries at most two parts of the message).
    let parts = 0;
    for (; d.bufferedBytes !== 80_000; at++) {
      expect(d.push(reads[at]!)).toEqual([]);
      held += reads[at]!.length;
      parts += at === 0 ? 1 : 2;
      if (d.bufferedBytes !== 80_000) {
        expect(d.bufferedBytes).toBeGreaterThan(held);
        expect(d.bufferedBytes).toBeLessThanOrEqual(held + parts * PIECE_OVERHEAD);
      }
    }
    // Allocated once 10,000 payload bytes (1/8) arrived: the ninth chunk is not enough, the tenth is.
    expect(held).toBeGreaterThan(10_000);
    expect(held).toBeLessThan(10_000 + 2 * 1001);
    const out: RtmpMessage[] = [];
    for (const r of reads.slice(at)) out.push(...d.push(r));
    expect(out).toHaveLength(1);
    expect(out[0]!.payload).toEqual(payload);
    expect(d.bufferedBytes).toBe(0);
  });

  test('1-byte chunks: pending parts are charged, so a peer cannot hold millions of them', () => {
    // Chunk size 1 and a 16 MiB message: before the buffer exists (1/8 = 2 MiB), every payload byte is a part.
    // Charged only for its reads, that would be two million parts for 4 MiB received.
    const limit = 1024 * 1024;
    const d = new ChunkDecoder({ maxBufferedBytes: limit });
    d.push(hex('02 000000 000004 01 00000000 00000001'));
    d.push(hex('06 000000 ffffff 09 01000000'));
    const read = new Uint8Array(4096);
    for (let i = 0; i < read.length; i += 2) read[i + 1] = 0xc6;
    let error: unknown;
    let pushed = 0;
    try {
      for (; pushed < 1000; pushed++) {
        d.push(read);
        expect(d.bufferedBytes).toBeLessThanOrEqual(limit);
      }
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ERR_CHUNK_BUFFER_LIMIT' });
    // Each read: 4 KiB pinned plus 2048 parts of PIECE_OVERHEAD bytes.
    expect(pushed).toBe(Math.floor(limit / (read.length + 2048 * PIECE_OVERHEAD)));
    expect(d.bufferedBytes).toBe(0);
  });

  test('a peer declaring 16 MiB and sending chunks below 1/8 of it never gets the buffer', () => {
    const d = new ChunkDecoder({ maxBufferedBytes: 4 * 1024 * 1024 });
    d.push(hex('02 000000 000004 01 00000000 00010000'));
    const header = hex('04 000000 ffffff 09 01000000');
    d.push(header);
    // 2 MiB - 1 of the 16 MiB message, in 64 KiB reads: what is held is what was received.
    let received = 0;
    const chunk = new Uint8Array(65536);
    for (let i = 0; i < 31; i++) {
      const read = i === 0 ? chunk : concat2(hex('c4'), chunk);
      expect(d.push(read)).toEqual([]);
      received += read.length + PIECE_OVERHEAD;
      expect(d.bufferedBytes).toBe(received);
    }
    // 31 chunks = 1.9 MiB < 16 MiB / 8: never more than what arrived.
    expect(received).toBeLessThan(0xffffff / 8);
  });

  test('allocating the buffer counts against maxBufferedBytes', () => {
    const d = new ChunkDecoder({ maxBufferedBytes: 60_000 });
    d.push(hex('02 000000 000004 01 00000000 00002710'));
    // 64,000-byte message, first 10,000-byte chunk (> 1/8): allocating 64,000 exceeds the limit.
    const bytes = concat2(hex('04 000000 00fa00 09 01000000'), new Uint8Array(10_000));
    expect(() => d.push(bytes)).toThrow(expect.objectContaining({ code: 'ERR_CHUNK_BUFFER_LIMIT' }));
  });

  test('Abort releases an allocated reassembly buffer', () => {
    const d = new ChunkDecoder();
    d.push(concat2(hex('06 000000 000400 09 01000000'), new Uint8Array(128)));
    expect(d.bufferedBytes).toBe(1024);
    const msgs = d.push(hex('02 000000 000004 02 00000000 00000006  06 000010 000001 09 01000000 ee'));
    expect(msgs.map((m) => [m.type, m.timestamp, m.payload.length])).toEqual([
      [2, 0, 4],
      [9, 16, 1],
    ]);
    expect(d.bufferedBytes).toBe(0);
  });

  test.each([128, 4096, 1000])(
    'payloads are exact, independent plain Uint8Arrays at chunk size %i over Buffer reads of any size',
    (chunkSize) => {
      const messages: RtmpMessage[] = [];
      for (let i = 0; i < 40; i++) {
        const n = [0, 1, 127, 128, 129, 370, 4095, 4096, 4097, 20_000, 70_000, 300_000][i % 12]!;
        messages.push({ type: i % 2 ? 8 : 9, streamId: 1, timestamp: i * 10, payload: pattern(n, i) });
      }
      const stream = encode(messages, chunkSize);
      for (const readSize of [1, 7, 1000, 65536, stream.length]) {
        if (readSize === 1 && chunkSize !== 4096) continue;
        const d = new ChunkDecoder();
        const out: RtmpMessage[] = [];
        for (let i = 0; i < stream.length; i += readSize) {
          out.push(...d.push(Buffer.from(stream.subarray(i, i + readSize))));
        }
        const media = out.filter((m) => m.type !== 1);
        expect(media).toHaveLength(messages.length);
        for (let i = 0; i < messages.length; i++) {
          expect(media[i]!.payload.constructor).toBe(Uint8Array);
          expect(Buffer.compare(media[i]!.payload, messages[i]!.payload)).toBe(0);
        }
        expect(d.bufferedBytes).toBe(0);
      }
    },
  );
});

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
