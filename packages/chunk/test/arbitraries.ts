import { concat, splitAt } from '@rtmp/testing';
import fc from 'fast-check';
import { ChunkEncoder, type RtmpMessage } from '../src/index.js';

// Arbitraries and encoding helpers shared by the property tests of both payload modes.

export type Action =
  | { kind: 'message'; message: RtmpMessage; csid: number }
  | { kind: 'chunkSize'; size: number };

export const csidArb = fc.oneof(
  fc.integer({ min: 2, max: 63 }),
  fc.integer({ min: 64, max: 319 }),
  fc.integer({ min: 320, max: 65599 }),
  fc.constantFrom(2, 3, 63, 64, 319, 320, 365, 65599),
);

export const timestampArb = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.integer({ min: 0xfffff0, max: 0x1000010 }),
  fc.integer({ min: 0xfffffff0, max: 0xffffffff }),
  fc.integer({ min: 0, max: 100 }),
);

export const typeArb = fc.constantFrom(2, 3, 4, 5, 6, 8, 9, 15, 16, 17, 18, 19, 20, 22, 0, 7, 255);

export const messageArb: fc.Arbitrary<Action> = fc
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
export const actionsArb: fc.Arbitrary<Action[]> = fc
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

export function encodeActions(
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

export function setChunkSize(size: number): RtmpMessage {
  return { type: 1, streamId: 0, timestamp: 0, payload: u32(size) };
}

export function u32(n: number): Uint8Array {
  return new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

/** Cut points from fast-check may exceed the length: folded into range, then split there. */
export function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  return splitAt(
    bytes,
    cuts.map((c) => c % (bytes.length + 1)),
  );
}

// librtmp's dialect: no extended timestamp on fmt 3 chunks. The encoder returns [header, payload, fmt 3 header,
// payload, ...] per message and repeats the extended field on every fmt 3 header; drop those 4 bytes.
export function librtmpDialect(encoded: Uint8Array[]): Uint8Array[] {
  return encoded.map((s, i) => {
    if (i % 2 === 1 || s[0]! >> 6 !== 3) return s;
    const basic = (s[0]! & 63) === 0 ? 2 : (s[0]! & 63) === 1 ? 3 : 1;
    return s.length === basic + 4 ? s.subarray(0, basic) : s;
  });
}

/**
 * Valid encoded streams with up to 8 bytes overwritten, cut into reads anywhere: what a broken or hostile peer
 * sends that is almost right. Empty streams give no reads.
 */
export const mutatedReadsArb: fc.Arbitrary<Uint8Array[]> = fc
  .tuple(
    actionsArb,
    fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
      minLength: 1,
      maxLength: 8,
    }),
    fc.array(fc.nat(), { maxLength: 10 }),
  )
  .map(([actions, mutations, cuts]) => {
    const bytes = concat(encodeActions(actions).slices);
    if (bytes.length === 0) return [];
    for (const m of mutations) bytes[m.at % bytes.length] = m.value;
    return split(bytes, cuts);
  });
