import { concat } from '@rtmp/testing';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ChunkDecoder, ChunkError, encodeMessage, MessageType, type RtmpMessage } from '../src/index.js';
import {
  type Action,
  actionsArb,
  csidArb,
  encodeActions,
  librtmpDialect,
  messageArb,
  mutatedReadsArb,
  setChunkSize,
  split,
  timestampArb,
  typeArb,
  u32,
} from './arbitraries.js';

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
    fc.assert(fc.property(mutatedReadsArb, feedHostile), { numRuns: 1000 });
  });
});
