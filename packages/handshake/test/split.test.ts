import { concat, directionBytes, readCapture, sameBytes, splitAt } from '@rtmp/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HandshakeClient, HandshakeServer } from '../src/index.js';
import { feed, seededRandom } from './helpers.js';

const TAIL = Uint8Array.from({ length: 300 }, (_, i) => (i * 7 + 3) & 0xff);

function serverInputs() {
  const ffmpeg = directionBytes(readCapture('ffmpeg-publish-h264-aac.rtmpcap'), 0, 3073 + 300);
  const librtmp = directionBytes(readCapture('librtmp-publish-h264-aac.rtmpcap'), 0, 3073 + 300);
  return { ffmpeg, librtmp };
}

function newServer() {
  return new HandshakeServer({ random: seededRandom(9), now: () => 77 });
}

function clientInput(digest: boolean) {
  const client = new HandshakeClient({ digest, random: seededRandom(4), now: () => 5 });
  const s = concat(newServer().push(client.start()).output);
  return concat([s, TAIL]);
}

function newClient(digest: boolean) {
  const c = new HandshakeClient({ digest, random: seededRandom(4), now: () => 5 });
  c.start();
  return c;
}

const oneByteAtATime = (b: Uint8Array) => Array.from({ length: b.length }, (_, i) => b.subarray(i, i + 1));

describe('every split of the input gives the same result', () => {
  const inputs = serverInputs();
  for (const [name, bytes] of Object.entries(inputs)) {
    const reference = feed(newServer(), [bytes]);
    it(`server, ${name} C0+C1+C2+chunks: reference`, () => {
      expect(reference.done).toBe(true);
      expect(reference.rest).toEqual(bytes.subarray(3073));
    });

    it(`server, ${name}: one byte at a time`, () => {
      const s = newServer();
      const r = feed(s, oneByteAtATime(bytes));
      expect(sameBytes(r.output, reference.output)).toBe(true);
      expect(sameBytes(r.rest, reference.rest)).toBe(true);
      expect(r.doneAt).toBe(3072);
    });

    it(`server, ${name}: arbitrary split points`, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 40 }), (cuts) => {
          const server = newServer();
          const r = feed(server, splitAt(bytes, cuts));
          expect(server.kind).toBe(name === 'ffmpeg' ? 'digest' : 'simple');
          expect(sameBytes(r.output, reference.output)).toBe(true);
          expect(sameBytes(r.rest, reference.rest)).toBe(true);
          expect(r.done).toBe(true);
        }),
        { numRuns: 300 },
      );
    }, 60_000);
  }

  for (const digest of [true, false]) {
    const bytes = clientInput(digest);
    const reference = feed(newClient(digest), [bytes]);
    it(`client (digest=${digest}): one byte at a time and arbitrary split points`, () => {
      expect(reference.done).toBe(true);
      expect(sameBytes(reference.rest, TAIL)).toBe(true);
      const r = feed(newClient(digest), oneByteAtATime(bytes));
      expect(sameBytes(r.output, reference.output)).toBe(true);
      expect(sameBytes(r.rest, TAIL)).toBe(true);
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 40 }), (cuts) => {
          const c = newClient(digest);
          const r2 = feed(c, splitAt(bytes, cuts));
          expect(sameBytes(r2.output, reference.output)).toBe(true);
          expect(sameBytes(r2.rest, TAIL)).toBe(true);
          expect(c.kind).toBe(digest ? 'digest' : 'simple');
        }),
        { numRuns: 300 },
      );
    }, 60_000);
  }

  it('output bytes do not alias the caller input (the caller may reuse its read buffer)', () => {
    const { librtmp } = serverInputs();
    const input = librtmp.slice(0, 1537);
    const s = newServer();
    const out = concat(s.push(input).output);
    const copy = out.slice();
    input.fill(0);
    expect(out).toEqual(copy);
  });
});
