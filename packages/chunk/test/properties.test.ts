import { concat, splitAt } from '@rtmp/testing';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  ChunkDecoder,
  ChunkEncoder,
  ChunkError,
  encodeMessage,
  MessageType,
  type RtmpMessage,
} from '../src/index.js';

type Action = { kind: 'message'; message: RtmpMessage; csid: number } | { kind: 'chunkSize'; size: number };

const csidArb = fc.oneof(
  fc.integer({ min: 2, max: 63 }),
  fc.integer({ min: 64, max: 319 }),
  fc.integer({ min: 320, max: 65599 }),
  fc.constantFrom(2, 3, 63, 64, 319, 320, 365, 65599),
);

const timestampArb = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.integer({ min: 0xfffff0, max: 0x1000010 }),
  fc.integer({ min: 0xfffffff0, max: 0xffffffff }),
  fc.integer({ min: 0, max: 100 }),
);

const typeArb = fc.constantFrom(2, 3, 4, 5, 6, 8, 9, 15, 16, 17, 18, 19, 20, 22, 0, 7, 255);

const messageArb: fc.Arbitrary<Action> = fc
  .record({
    type: typeArb,
    streamId: fc.oneof(fc.constantFrom(0, 1, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff })),
    timestamp: timestampArb,
    payload: fc.uint8Array({ maxLength: 700 }),
    csid: csidArb,
  })
  .map(({ type, streamId, timestamp, payload, csid }) => ({
    kind: 'message' as const,
    // An Abort must carry its 4-byte csid; what it targets is harmless as the encoder sends whole messages.
    message: { type, streamId, timestamp, payload: type === 2 ? payload.subarray(0, 4) : payload },
    csid,
  }))
  .filter((a) => a.kind !== 'message' || a.message.type !== 2 || a.message.payload.length === 4);

// Sequences where consecutive messages often share csid, stream, type, length and spacing, so that every header
// format (and fmt 3 starting a new message) gets exercised.
const actionsArb: fc.Arbitrary<Action[]> = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: messageArb },
      { weight: 2, arbitrary: fc.record({ repeat: fc.integer({ min: 1, max: 4 }), step: timestampArb }) },
      {
        weight: 1,
        arbitrary: fc
          .oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(1, 2, 3, 4, 128, 4096, 0x7fffffff))
          .map((size) => ({ kind: 'chunkSize' as const, size })),
      },
    ),
    { maxLength: 25 },
  )
  .map((items) => {
    const out: Action[] = [];
    for (const item of items) {
      if ('repeat' in item) {
        const last = [...out].reverse().find((a) => a.kind === 'message');
        if (last === undefined || last.kind !== 'message') continue;
        for (let i = 1; i <= item.repeat; i++) {
          const m = last.message;
          out.push({
            kind: 'message',
            csid: last.csid,
            message: { ...m, timestamp: (m.timestamp + i * (item.step & 0xffff)) >>> 0 },
          });
        }
      } else {
        out.push(item);
      }
    }
    return out;
  });

function encodeActions(
  actions: Action[],
  dialect: (encoded: Uint8Array[]) => Uint8Array[] = (e) => e,
): { slices: Uint8Array[]; expected: RtmpMessage[] } {
  const encoder = new ChunkEncoder();
  const slices: Uint8Array[] = [];
  const expected: RtmpMessage[] = [];
  for (const a of actions) {
    if (a.kind === 'chunkSize') {
      slices.push(...encoder.setChunkSize(a.size));
      expected.push({ type: 1, streamId: 0, timestamp: 0, payload: u32(a.size) });
    } else {
      slices.push(...dialect(encoder.encode(a.message, a.csid)));
      expected.push(a.message);
    }
  }
  return { slices, expected };
}

function setChunkSize(size: number): RtmpMessage {
  return { type: 1, streamId: 0, timestamp: 0, payload: u32(size) };
}

function u32(n: number): Uint8Array {
  return new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

/** Cut points from fast-check may exceed the length: folded into range, then split there. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  return splitAt(
    bytes,
    cuts.map((c) => c % (bytes.length + 1)),
  );
}

function decodeAll(
  pieces: Uint8Array[],
  decoder = new ChunkDecoder({ maxChunkStreams: 65598 }),
): RtmpMessage[] {
  const out: RtmpMessage[] = [];
  for (const p of pieces) out.push(...decoder.push(p));
  return out;
}

function normalise(messages: RtmpMessage[]): [number, number, number, string][] {
  return messages.map((m) => [m.type, m.streamId, m.timestamp, Buffer.from(m.payload).toString('hex')]);
}

// librtmp's dialect: no extended timestamp on fmt 3 chunks. The encoder returns [header, payload, fmt 3 header,
// payload, ...] per message and repeats the extended field on every fmt 3 header; drop those 4 bytes.
function librtmpDialect(encoded: Uint8Array[]): Uint8Array[] {
  return encoded.map((s, i) => {
    if (i % 2 === 1 || s[0]! >> 6 !== 3) return s;
    const basic = (s[0]! & 63) === 0 ? 2 : (s[0]! & 63) === 1 ? 3 : 1;
    return s.length === basic + 4 ? s.subarray(0, basic) : s;
  });
}

describe('properties', () => {
  test('decode(encode(messages)) equals messages for any split', () => {
    fc.assert(
      fc.property(actionsArb, fc.array(fc.nat(), { maxLength: 30 }), (actions, cuts) => {
        const { slices, expected } = encodeActions(actions);
        const bytes = concat(slices);
        expect(normalise(decodeAll(split(bytes, cuts)))).toEqual(normalise(expected));
      }),
      { numRuns: 300 },
    );
  });

  test('one byte at a time gives the same result', () => {
    fc.assert(
      fc.property(actionsArb, (actions) => {
        const { slices, expected } = encodeActions(actions);
        const bytes = concat(slices);
        const pieces: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i++) pieces.push(bytes.subarray(i, i + 1));
        expect(normalise(decodeAll(pieces))).toEqual(normalise(expected));
      }),
      { numRuns: 40 },
    );
  });

  test('both extended-timestamp dialects decode identically', () => {
    const extendedActions = actionsArb.map((actions) =>
      actions.map((a) =>
        a.kind === 'message' && a.message.timestamp < 0xffffff
          ? { ...a, message: { ...a.message, timestamp: a.message.timestamp + 0x1000000 } }
          : a,
      ),
    );
    fc.assert(
      fc.property(extendedActions, fc.array(fc.nat(), { maxLength: 20 }), (actions, cuts) => {
        // Without the repeat a reader cannot tell, until more bytes come, whether 4 bytes that look like the
        // extended timestamp are one; a trailing message supplies them, as a live stream always does.
        const sentinel: RtmpMessage = {
          type: 9,
          streamId: 7,
          timestamp: 5,
          payload: new Uint8Array([0xaa, 0x55]),
        };
        const all: Action[] = [...actions, { kind: 'message', message: sentinel, csid: 60 }];
        const { slices, expected } = encodeActions(all);
        const ffmpeg = decodeAll(split(concat(slices), cuts));
        const librtmp = decodeAll(split(concat(encodeActions(all, librtmpDialect).slices), cuts));
        expect(normalise(librtmp)).toEqual(normalise(expected));
        expect(normalise(ffmpeg)).toEqual(normalise(expected));
      }),
      { numRuns: 200 },
    );
  });

  test('stateless encodeMessage round-trips per message', () => {
    fc.assert(
      fc.property(messageArb, fc.integer({ min: 1, max: 1000 }), (a, chunkSize) => {
        if (a.kind !== 'message') return;
        const decoder = new ChunkDecoder();
        const prefix = encodeMessage(
          { type: MessageType.SetChunkSize, streamId: 0, timestamp: 0, payload: u32(chunkSize) },
          2,
          128,
        );
        decoder.push(concat(prefix));
        const got = decoder.push(concat(encodeMessage(a.message, a.csid, chunkSize)));
        expect(normalise(got)).toEqual(normalise([a.message]));
      }),
      { numRuns: 300 },
    );
  });

  test('interleaved chunk streams decode into the messages, completed in order of their last chunk', () => {
    const group = fc.uniqueArray(
      fc.record({
        csid: csidArb,
        type: typeArb.filter((t) => t !== 2),
        streamId: fc.integer({ min: 0, max: 0xffffffff }),
        timestamp: timestampArb,
        payload: fc.uint8Array({ maxLength: 600 }),
      }),
      { selector: (m) => m.csid, minLength: 1, maxLength: 6 },
    );
    fc.assert(
      fc.property(
        group,
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.nat(), { minLength: 50, maxLength: 50 }),
        fc.boolean(),
        (messages, chunkSize, schedule, stripRepeats) => {
          const units = messages.map((m) => {
            const encoded = encodeMessage(m, m.csid, chunkSize);
            const slices = stripRepeats ? librtmpDialect(encoded) : encoded;
            const chunks: Uint8Array[] = [];
            for (let i = 0; i < slices.length; i += 2) chunks.push(concat(slices.slice(i, i + 2)));
            return chunks;
          });
          const pieces: Uint8Array[] = [
            encodeMessage(setChunkSize(chunkSize), 2, 128).reduce((a, b) => concat([a, b])),
          ];
          const expected: RtmpMessage[] = [setChunkSize(chunkSize)];
          let step = 0;
          for (;;) {
            const live = units.map((u, i) => [u, i] as const).filter(([u]) => u.length > 0);
            if (live.length === 0) break;
            const [u, i] = live[schedule[step++ % schedule.length]! % live.length]!;
            pieces.push(u.shift()!);
            if (u.length === 0) expected.push(messages[i]!);
          }
          // A trailing message: without the repeat, 4 bytes that look like the extended field need a successor.
          pieces.push(
            concat(
              encodeMessage(
                { type: 9, streamId: 7, timestamp: 5, payload: new Uint8Array([0xaa]) },
                1000,
                128,
              ),
            ),
          );
          expected.push({ type: 9, streamId: 7, timestamp: 5, payload: new Uint8Array([0xaa]) });
          const got = decodeAll(pieces);
          expect(normalise(got)).toEqual(
            normalise(
              expected.map(({ type, streamId, timestamp, payload }) => ({
                type,
                streamId,
                timestamp,
                payload,
              })),
            ),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  const limits = { maxMessageLength: 4096, maxBufferedBytes: 8192, maxChunkStreams: 8, maxChunkSize: 65536 };

  function feedHostile(pieces: Uint8Array[]): void {
    const decoder = new ChunkDecoder(limits);
    for (const p of pieces) {
      try {
        decoder.push(p);
      } catch (e) {
        expect(e).toBeInstanceOf(ChunkError);
        expect((e as ChunkError).code).not.toBe('ERR_CHUNK_INTERNAL');
        // A failed decoder stays failed.
        expect(() => decoder.push(new Uint8Array([0x02]))).toThrow(e as Error);
        return;
      }
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(limits.maxBufferedBytes + 18);
    }
  }

  test('arbitrary bytes: messages or ChunkError only, memory bounded', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 40 }), (pieces) =>
        feedHostile(pieces),
      ),
      { numRuns: 2000 },
    );
  });

  test('mutated valid streams: messages or ChunkError only, memory bounded', () => {
    fc.assert(
      fc.property(
        actionsArb,
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (actions, mutations, cuts) => {
          const bytes = concat(encodeActions(actions).slices);
          if (bytes.length === 0) return;
          for (const m of mutations) bytes[m.at % bytes.length] = m.value;
          feedHostile(split(bytes, cuts));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
