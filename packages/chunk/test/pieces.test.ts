import { concat } from '@rtmp/testing';
import fc from 'fast-check';
import { describe, expect, expectTypeOf, test } from 'vitest';
import {
  ChunkDecoder,
  ChunkEncoder,
  ChunkError,
  concatPieces,
  encodeMessage,
  isPiecesMessage,
  PIECE_OVERHEAD,
  type RtmpMessage,
  type RtmpMessagePieces,
  toContiguous,
} from '../src/index.js';
import {
  actionsArb,
  csidArb,
  encodeActions,
  librtmpDialect,
  mutatedReadsArb,
  split,
  timestampArb,
  typeArb,
} from './arbitraries.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function normalise(messages: RtmpMessage[]): [number, number, number, string][] {
  return messages.map((m) => [m.type, m.streamId, m.timestamp, Buffer.from(m.payload).toString('hex')]);
}

function decodeContiguous(reads: Uint8Array[]): RtmpMessage[] {
  const d = new ChunkDecoder({ maxChunkStreams: 65598 });
  return reads.flatMap((r) => d.push(r));
}

function decodePieces(reads: Uint8Array[]): RtmpMessagePieces[] {
  const d = new ChunkDecoder({ maxChunkStreams: 65598, payloads: 'pieces' });
  return reads.flatMap((r) => d.push(r));
}

/** Every piece is a view into one of `reads` (same ArrayBuffer, inside the read's window): nothing was copied. */
function expectViewsOf(messages: RtmpMessagePieces[], reads: Uint8Array[]): void {
  for (const m of messages) {
    let total = 0;
    for (const p of m.pieces) {
      total += p.length;
      expect(p.constructor).toBe(Uint8Array);
      expect(
        reads.some(
          (r) =>
            r.buffer === p.buffer &&
            p.byteOffset >= r.byteOffset &&
            p.byteOffset + p.length <= r.byteOffset + r.length,
        ),
      ).toBe(true);
    }
    expect(total).toBe(m.length);
  }
}

/** Distinct ArrayBuffers per read, so that "is a view of a read" means something. */
function ownBuffers(reads: Uint8Array[]): Uint8Array[] {
  return reads.map((r) => r.slice());
}

const piecesArb = fc
  .tuple(fc.uint8Array({ maxLength: 1500 }), fc.array(fc.nat(), { maxLength: 12 }))
  .map(([payload, cuts]) => ({ payload, pieces: ownBuffers(split(payload, cuts)) }));

describe('pieces mode decodes what contiguous mode decodes', () => {
  test('arbitrary messages, chunk sizes and splits', () => {
    fc.assert(
      fc.property(actionsArb, fc.array(fc.nat(), { maxLength: 30 }), (actions, cuts) => {
        const { slices, expected } = encodeActions(actions);
        const reads = ownBuffers(split(concat(slices), cuts));
        const contiguous = decodeContiguous(reads);
        const pieces = decodePieces(reads);
        expectViewsOf(pieces, reads);
        expect(normalise(pieces.map(toContiguous))).toEqual(normalise(contiguous));
        expect(normalise(contiguous)).toEqual(normalise(expected));
      }),
      { numRuns: 300 },
    );
  });

  test('one byte at a time, both extended-timestamp dialects', () => {
    const extended = actionsArb.map((actions) =>
      actions.map((a) =>
        a.kind === 'message'
          ? { ...a, message: { ...a.message, timestamp: (a.message.timestamp | 0x1000000) >>> 0 } }
          : a,
      ),
    );
    fc.assert(
      fc.property(extended, fc.boolean(), (actions, strip) => {
        const sentinel: RtmpMessage = { type: 9, streamId: 7, timestamp: 5, payload: new Uint8Array([0xaa]) };
        const all = [...actions, { kind: 'message' as const, message: sentinel, csid: 60 }];
        const bytes = concat(encodeActions(all, strip ? librtmpDialect : undefined).slices);
        const reads: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i++) reads.push(bytes.slice(i, i + 1));
        const pieces = decodePieces(reads);
        expectViewsOf(pieces, reads);
        expect(normalise(pieces.map(toContiguous))).toEqual(normalise(decodeContiguous(reads)));
      }),
      { numRuns: 40 },
    );
  });

  test('error.messages carries the pieces decoded before a failure', () => {
    const d = new ChunkDecoder({ payloads: 'pieces' });
    try {
      d.push(hex('03 000001 000001 14 00000000 aa   c5'));
      expect.unreachable();
    } catch (e) {
      expect((e as ChunkError).code).toBe('ERR_CHUNK_NO_PREVIOUS_HEADER');
      const [m] = (e as ChunkError).messages;
      expect(m !== undefined && isPiecesMessage(m) && m.pieces.length === 1).toBe(true);
    }
    expect(() => d.push(hex('03'))).toThrow(
      expect.objectContaining({ code: 'ERR_CHUNK_NO_PREVIOUS_HEADER' }),
    );
  });
});

describe('encoding pieces', () => {
  test('encodeMessage(pieces) is byte-equal to encodeMessage(payload) and only slices the pieces', () => {
    fc.assert(
      fc.property(
        piecesArb,
        typeArb,
        timestampArb,
        csidArb,
        fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(128, 4096, 0x7fffffff)),
        ({ payload, pieces }, type, timestamp, csid, chunkSize) => {
          const base = { type, streamId: 1, timestamp };
          const contiguous = encodeMessage({ ...base, payload }, csid, chunkSize);
          const sliced = encodeMessage({ ...base, length: payload.length, pieces }, csid, chunkSize);
          expect(Buffer.from(concat(sliced)).equals(Buffer.from(concat(contiguous)))).toBe(true);
          const buffers = new Set(pieces.map((p) => p.buffer));
          const headers = new Set(contiguous.filter((s) => !buffers.has(s.buffer)).map((s) => s.length));
          // Everything not a header is a view of a piece.
          for (const s of sliced) if (!buffers.has(s.buffer)) expect(headers.has(s.length)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('ChunkEncoder.encode(pieces) is byte-equal to encode(payload) over decoded sequences', () => {
    fc.assert(
      fc.property(
        actionsArb,
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.integer({ min: 1, max: 500 }),
        (actions, cuts, outSize) => {
          const reads = ownBuffers(split(concat(encodeActions(actions).slices), cuts));
          const pieces = decodePieces(reads);
          const a = new ChunkEncoder();
          const b = new ChunkEncoder();
          const outA: Uint8Array[] = [...a.setChunkSize(outSize)];
          const outB: Uint8Array[] = [...b.setChunkSize(outSize)];
          for (const m of pieces) {
            const csid = 3 + (m.type % 5);
            outA.push(...a.encode(m, csid));
            outB.push(...b.encode(toContiguous(m), csid));
          }
          expect(Buffer.from(concat(outA)).equals(Buffer.from(concat(outB)))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a relay forwards pieces at another chunk size without copying', () => {
    const payload = new Uint8Array(10_000).map((_, i) => i * 7);
    const reads = ownBuffers(
      split(
        concat(encodeMessage({ type: 9, streamId: 1, timestamp: 40, payload }, 6, 128)),
        [1000, 5000, 9000],
      ),
    );
    const [m] = decodePieces(reads);
    expect(m!.pieces.length).toBeGreaterThan(78);
    const out = encodeMessage(m!, 6, 4096);
    const inputs = new Set(reads.map((r) => r.buffer));
    const payloadSlices = out.filter((s) => inputs.has(s.buffer));
    expect(payloadSlices.reduce((n, s) => n + s.length, 0)).toBe(10_000);
    const [again] = decodeContiguous([hex('02 000000 000004 01 00000000 00001000'), concat(out)]).slice(1);
    expect(Buffer.compare(again!.payload, payload)).toBe(0);
  });

  test('pieces that do not add up to length are rejected', () => {
    const m = {
      type: 9,
      streamId: 1,
      timestamp: 0,
      length: 5,
      pieces: [new Uint8Array(2), new Uint8Array(2)],
    };
    expect(() => encodeMessage(m, 6, 128)).toThrow(
      expect.objectContaining({ code: 'ERR_CHUNK_INVALID_ARGUMENT' }),
    );
    expect(() => new ChunkEncoder().encode(m, 6)).toThrow(ChunkError);
    expect(() => encodeMessage({ ...m, pieces: ['x' as unknown as Uint8Array] }, 6, 128)).toThrow(ChunkError);
  });
});

describe('helpers', () => {
  test('concatPieces: one piece is returned as is, several are copied once', () => {
    const a = new Uint8Array([1, 2, 3]);
    expect(concatPieces([a])).toBe(a);
    expect(concatPieces([a], 3)).toBe(a);
    expect(concatPieces([])).toEqual(new Uint8Array(0));
    expect(concatPieces([a, new Uint8Array(0), a.subarray(1)], 5)).toEqual(new Uint8Array([1, 2, 3, 2, 3]));
    expect(() => concatPieces([a], 4)).toThrow(
      expect.objectContaining({ code: 'ERR_CHUNK_INVALID_ARGUMENT' }),
    );
    expect(() => concatPieces('ab' as unknown as Uint8Array[])).toThrow(ChunkError);
  });

  test('toContiguous passes RtmpMessage through and joins pieces', () => {
    const m: RtmpMessage = { type: 8, streamId: 1, timestamp: 2, payload: new Uint8Array([9]) };
    expect(toContiguous(m)).toBe(m);
    expect(
      toContiguous({ type: 8, streamId: 1, timestamp: 2, length: 2, pieces: [hex('01'), hex('02')] }),
    ).toEqual({
      type: 8,
      streamId: 1,
      timestamp: 2,
      payload: hex('0102'),
    });
  });

  test('the payload mode is typed and checked', () => {
    expectTypeOf(new ChunkDecoder().push).returns.toEqualTypeOf<RtmpMessage[]>();
    expectTypeOf(new ChunkDecoder({ maxChunkStreams: 4 }).push).returns.toEqualTypeOf<RtmpMessage[]>();
    expectTypeOf(new ChunkDecoder({ payloads: 'pieces' }).push).returns.toEqualTypeOf<RtmpMessagePieces[]>();
    expectTypeOf(new ChunkDecoder({ payloads: 'contiguous' }).push).returns.toEqualTypeOf<RtmpMessage[]>();
    // @ts-expect-error a pieces decoder must say so: inference from the declared type alone is refused
    const wrong: ChunkDecoder<'pieces'> = new ChunkDecoder();
    expect(wrong.payloads).toBe('contiguous');
    expect(new ChunkDecoder({ payloads: 'pieces' }).payloads).toBe('pieces');
    expect(() => new ChunkDecoder({ payloads: 'views' as 'pieces' })).toThrow(
      expect.objectContaining({ code: 'ERR_CHUNK_INVALID_ARGUMENT' }),
    );
  });
});

describe('pieces mode: control, limits and memory', () => {
  test('Set Chunk Size sent in 1-byte chunks is joined and applied', () => {
    const d = new ChunkDecoder({ payloads: 'pieces' });
    // chunk size 1 first, then Set Chunk Size 300 in four 1-byte chunks, then a 300-byte message in one chunk
    const msgs = d.push(
      concat([
        hex('02 000000 000004 01 00000000 00000001'),
        hex('02 000000 000004 01 00000000 00 c2 00 c2 01 c2 2c'),
        hex('06 000000 00012c 09 01000000'),
        new Uint8Array(300),
      ]),
    );
    expect(msgs.map((m) => [m.type, m.pieces.length])).toEqual([
      [1, 1],
      [1, 4],
      [9, 1],
    ]);
    expect(d.chunkSize).toBe(300);
  });

  test('Abort releases the pieces of its chunk stream', () => {
    const d = new ChunkDecoder({ payloads: 'pieces' });
    const first = concat([hex('06 000000 000400 09 01000000'), new Uint8Array(128)]);
    d.push(first);
    expect(d.bufferedBytes).toBe(first.length + PIECE_OVERHEAD);
    const msgs = d.push(hex('02 000000 000004 02 00000000 00000006  06 000010 000001 09 01000000 ee'));
    expect(msgs.map((m) => [m.type, m.timestamp, m.length])).toEqual([
      [2, 0, 4],
      [9, 16, 1],
    ]);
    expect(d.bufferedBytes).toBe(0);
  });

  test('pending pieces charge their whole reads once, plus PIECE_OVERHEAD each; completion releases them', () => {
    const d = new ChunkDecoder({ payloads: 'pieces' });
    d.push(hex('02 000000 000004 01 00000000 00001000'));
    // A 1000-byte message: its header and first 50 bytes arrive at the end of a 3,907-byte read.
    const big = concat([
      hex('05 000000 000f00 08 01000000'),
      new Uint8Array(3840),
      hex('06 000000 0003e8 09 01000000'),
      new Uint8Array(50),
    ]);
    expect(d.push(big).map((m) => m.length)).toEqual([3840]);
    expect(d.bufferedBytes).toBe(big.length + PIECE_OVERHEAD);
    d.push(new Uint8Array(78));
    expect(d.bufferedBytes).toBe(big.length + 78 + 2 * PIECE_OVERHEAD);
    const [m] = d.push(new Uint8Array(872));
    expect(m?.length).toBe(1000);
    expect(m?.pieces.map((p) => p.length)).toEqual([50, 78, 872]);
    expect(d.bufferedBytes).toBe(0);
  });

  test('1-byte chunks of a large message hit maxBufferedBytes through the per-piece charge', () => {
    const limit = 256 * 1024;
    const d = new ChunkDecoder({ payloads: 'pieces', maxBufferedBytes: limit });
    d.push(hex('02 000000 000004 01 00000000 00000001'));
    d.push(hex('06 000000 100000 09 01000000'));
    const read = new Uint8Array(2 * 1024);
    for (let i = 0; i < read.length; i += 2) read[i + 1] = 0xc6;
    let pushed = 0;
    let error: unknown;
    try {
      for (; pushed < 100; pushed++) {
        d.push(read);
        expect(d.bufferedBytes).toBeLessThanOrEqual(limit);
      }
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ERR_CHUNK_BUFFER_LIMIT' });
    // 1 KiB of payload per read, charged 2 KiB for the read plus 64 KiB for its 1024 pieces: the fourth fails.
    expect(pushed).toBe(3);
    expect(() => d.push(read)).toThrow(error as Error);
    expect(d.bufferedBytes).toBe(0);
  });

  test('a 16 MiB declared length pins only what arrived', () => {
    const d = new ChunkDecoder({ payloads: 'pieces', maxBufferedBytes: 4 * 1024 * 1024 });
    d.push(hex('02 000000 000004 01 00000000 00010000'));
    d.push(hex('04 000000 ffffff 09 01000000'));
    let received = 0;
    for (let i = 0; i < 31; i++) {
      const read = i === 0 ? new Uint8Array(65536) : concat([hex('c4'), new Uint8Array(65536)]);
      expect(d.push(read)).toEqual([]);
      received += read.length + PIECE_OVERHEAD;
      expect(d.bufferedBytes).toBe(received);
    }
  });

  const limits = { maxMessageLength: 4096, maxBufferedBytes: 8192, maxChunkStreams: 8, maxChunkSize: 65536 };

  test('arbitrary and mutated bytes: messages or ChunkError only, memory bounded, failure sticks', () => {
    const feed = (reads: Uint8Array[]) => {
      const d = new ChunkDecoder({ ...limits, payloads: 'pieces' });
      for (const r of reads) {
        try {
          for (const m of d.push(r)) expect(concatPieces(m.pieces).length).toBe(m.length);
        } catch (e) {
          expect(e).toBeInstanceOf(ChunkError);
          expect((e as ChunkError).code).not.toBe('ERR_CHUNK_INTERNAL');
          expect(() => d.push(new Uint8Array([2]))).toThrow(e as Error);
          return;
        }
        expect(d.bufferedBytes).toBeLessThanOrEqual(limits.maxBufferedBytes + 18);
      }
    };
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 40 }), feed), {
      numRuns: 1000,
    });
    fc.assert(fc.property(mutatedReadsArb, feed), { numRuns: 500 });
  });

  test('Buffer reads give plain Uint8Array pieces', () => {
    const d = new ChunkDecoder({ payloads: 'pieces' });
    const bytes = concat(
      encodeMessage({ type: 9, streamId: 1, timestamp: 0, payload: new Uint8Array(300) }, 6, 128),
    );
    const [m] = d.push(Buffer.from(bytes));
    expect(m!.pieces.map((p) => [p.constructor, p.length])).toEqual([
      [Uint8Array, 128],
      [Uint8Array, 128],
      [Uint8Array, 44],
    ]);
  });
});
