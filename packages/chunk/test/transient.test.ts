import { allCaptures, chunkReads, concat } from '@rtmp/testing';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ChunkDecoder, ChunkEncoder, ChunkError, type RtmpMessage } from '../src/index.js';
import { actionsArb, encodeActions, split } from './arbitraries.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function normalise(messages: readonly RtmpMessage[]): [number, number, number, string][] {
  return messages.map((m) => [m.type, m.streamId, m.timestamp, Buffer.from(m.payload).toString('hex')]);
}

/**
 * Decodes `reads` as a socket with a reused read buffer delivers them: each read is copied into one buffer, pushed,
 * and the buffer is overwritten right after. Payloads are compared only at the end, so any payload or state that
 * still pointed into the buffer would show the garbage.
 */
function decodeThroughOneBuffer(reads: readonly Uint8Array[], decoder: ChunkDecoder): RtmpMessage[] {
  let size = 1;
  for (const r of reads) size = Math.max(size, r.length);
  const shared = new Uint8Array(size);
  const out: RtmpMessage[] = [];
  for (const r of reads) {
    shared.set(r);
    out.push(...decoder.push(shared.subarray(0, r.length)));
    shared.fill(0xee);
  }
  return out;
}

function decodePlain(reads: readonly Uint8Array[], options = {}): RtmpMessage[] {
  const decoder = new ChunkDecoder(options);
  return reads.flatMap((r) => decoder.push(r));
}

describe('transientInput: the input buffer is reused after each push', () => {
  test('any split, one shared buffer: the same messages as the default mode', () => {
    fc.assert(
      fc.property(actionsArb, fc.array(fc.nat(), { maxLength: 30 }), (actions, cuts) => {
        const { slices, expected } = encodeActions(actions);
        const reads = split(concat(slices), cuts);
        const decoded = decodeThroughOneBuffer(
          reads,
          new ChunkDecoder({ maxChunkStreams: 65598, transientInput: true }),
        );
        expect(normalise(decoded)).toEqual(normalise(expected));
      }),
      { numRuns: 300 },
    );
  });

  test('one byte at a time', () => {
    fc.assert(
      fc.property(actionsArb, (actions) => {
        const { slices, expected } = encodeActions(actions);
        const bytes = concat(slices);
        const reads: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i++) reads.push(bytes.subarray(i, i + 1));
        const decoded = decodeThroughOneBuffer(
          reads,
          new ChunkDecoder({ maxChunkStreams: 65598, transientInput: true }),
        );
        expect(normalise(decoded)).toEqual(normalise(expected));
      }),
      { numRuns: 40 },
    );
  });

  test('every real capture, at its read boundaries: identical to the default mode', () => {
    let checked = 0;
    for (const [name, records] of allCaptures()) {
      for (const direction of [0, 1] as const) {
        const reads = chunkReads(records, direction);
        if (reads.length === 0) continue;
        const expected = normalise(decodePlain(reads));
        const decoded = decodeThroughOneBuffer(reads, new ChunkDecoder({ transientInput: true }));
        expect(normalise(decoded), `${name} direction ${direction}`).toEqual(expected);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  test('a large message is staged until an eighth has arrived: memory stays within twice what was received', () => {
    const d = new ChunkDecoder({ transientInput: true });
    // Chunk size 1000, a video message declaring 800,000 bytes: nothing of that size exists before 100,000 arrived.
    d.push(hex('02 000000 000004 01 00000000 000003e8'));
    const payload = new Uint8Array(800_000).map((_, i) => (i * 7) & 0xff);
    const enc = new ChunkEncoder();
    enc.setChunkSize(1000);
    const stream = concat(enc.encode({ type: 9, streamId: 1, timestamp: 0, payload }, 6));
    let received = 0;
    const out: RtmpMessage[] = [];
    for (let i = 0; i < stream.length; i += 4096) {
      const read = stream.subarray(i, i + 4096);
      out.push(...decodeThroughOneBuffer([read], d));
      received += read.length;
      if (received < 90_000) expect(d.bufferedBytes).toBeLessThanOrEqual(2 * received + 1024);
    }
    expect(out).toHaveLength(1);
    expect(Buffer.compare(out[0]!.payload, payload)).toBe(0);
    expect(d.bufferedBytes).toBe(0);
  });

  test('memory follows the bytes received, not the declared lengths', () => {
    const d = new ChunkDecoder({ transientInput: true });
    // Chunk size 100: 60 chunk streams each declare a 65,000-byte message and send its first chunk.
    d.push(hex('02 000000 000004 01 00000000 00000064'));
    for (let csid = 4; csid < 64; csid++) {
      d.push(
        concat([hex(`${csid.toString(16).padStart(2, '0')} 000000 00fde8 09 01000000`), new Uint8Array(100)]),
      );
    }
    // Each holds a staging copy of its 100 bytes (1 KiB, the smallest), not 65,000.
    expect(d.bufferedBytes).toBe(60 * 1024);
  });

  test('maxBufferedBytes still bounds what incomplete messages hold', () => {
    const d = new ChunkDecoder({ transientInput: true, maxBufferedBytes: 100_000 });
    d.push(hex('02 000000 000004 01 00000000 00001000'));
    const read = new Uint8Array(4096);
    let error: unknown;
    try {
      // Many chunk streams, each with an incomplete 30,000-byte message of which a chunk (more than an eighth)
      // arrived: each has its buffer, charged at the declared length.
      for (let csid = 4; csid < 20; csid++) {
        d.push(concat([hex(`${csid.toString(16).padStart(2, '0')} 000000 007530 09 01000000`), read]));
      }
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ChunkError);
    expect((error as ChunkError).code).toBe('ERR_CHUNK_BUFFER_LIMIT');
  });

  test('an Abort drops a staged message', () => {
    const d = new ChunkDecoder({ transientInput: true });
    d.push(hex('02 000000 000004 01 00000000 00001000'));
    // 200,000 declared, 4096 sent (staged), then Abort on csid 6.
    d.push(concat([hex('06 000000 030d40 09 01000000'), new Uint8Array(4096)]));
    expect(d.bufferedBytes).toBeGreaterThanOrEqual(4096);
    d.push(hex('02 000000 000004 02 00000000 00000006'));
    expect(d.bufferedBytes).toBe(0);
  });

  test('cannot be combined with pieces', () => {
    expect(() => new ChunkDecoder({ payloads: 'pieces', transientInput: true })).toThrow(
      expect.objectContaining({ code: 'ERR_CHUNK_INVALID_ARGUMENT' }),
    );
  });
});
