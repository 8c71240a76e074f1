import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { av1ConfigFromSample, parseAv1SequenceHeader } from '../src/file/av1.js';
import { DecodeTimeline, REORDER_WINDOW, reorderDelay, ticksToMs } from '../src/file/timeline.js';
import { sniffContainer } from '../src/index.js';

/**
 * A coded video stream as an encoder makes it: frames in presentation order 0..n-1 (times `i * step`), grouped into
 * mini-GOPs of one anchor and `b` B-frames; decode order puts each anchor before its B-frames, and decode times
 * are the sorted presentation times moved back by `delay` frames (x264's scheme).
 */
function codedStream(groups: number[], step: number, delayFrames: number) {
  const decodeOrder: number[] = [];
  let next = 1;
  decodeOrder.push(0);
  for (const b of groups) {
    const anchor = next + b;
    decodeOrder.push(anchor);
    // B-frames in a pyramid-ish order: the middle one first, then the rest.
    const bs = Array.from({ length: b }, (_, i) => next + i);
    const middle = bs.splice(Math.floor(b / 2), 1);
    decodeOrder.push(...middle, ...bs);
    next = anchor + 1;
  }
  const pts = decodeOrder.map((i) => i * step);
  const dts = pts.toSorted((a, b) => a - b).map((t) => t - delayFrames * step);
  return { pts, dts };
}

describe('DecodeTimeline', () => {
  it('rebuilds the decode times of any B-frame structure from presentation times (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 3003 }),
        fc.integer({ min: 0, max: 3 }),
        (groups, step, extra) => {
          const measured = codedStream(groups, step, 0);
          const smallest = reorderDelay(measured.pts, true) / step;
          // Encoders may delay more than needed; the timeline takes any delay at least the smallest valid one.
          const delayFrames = smallest + extra;
          const { pts, dts } = codedStream(groups, step, delayFrames);
          const timeline = new DecodeTimeline<{ pts: number }>(delayFrames * step);
          const out: number[] = [];
          for (const p of pts) {
            const r = timeline.push({ pts: p });
            if (r) out.push(r.dts);
          }
          for (let r = timeline.end(); r; r = timeline.end()) out.push(r.dts);
          expect(out).toEqual(dts);
          expect(timeline.size).toBe(0);
        },
      ),
    );
  });

  it('the smallest delay keeps every decode time at or before its presentation time', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 40 }), (groups) => {
        const { pts } = codedStream(groups, 512, 0);
        const delay = reorderDelay(pts, true);
        const timeline = new DecodeTimeline<{ pts: number }>(delay);
        const pairs: [number, number][] = [];
        for (const p of pts) {
          const r = timeline.push({ pts: p });
          if (r) pairs.push([r.dts, r.sample.pts]);
        }
        for (let r = timeline.end(); r; r = timeline.end()) pairs.push([r.dts, r.sample.pts]);
        for (const [dts, p] of pairs) expect(dts).toBeLessThanOrEqual(p);
        expect(pairs.map(([d]) => d)).toEqual(pairs.map(([d]) => d).toSorted((a, b) => a - b));
      }),
    );
  });

  it('a prefix of the stream gives the same delay as the whole of it', () => {
    const { pts } = codedStream([3, 3, 3, 7, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3], 1, 0);
    expect(reorderDelay(pts.slice(0, 40), false)).toBe(reorderDelay(pts, true));
  });

  it('holds at most the window, and stays monotonic and valid on a stream that reorders deeper', () => {
    const timeline = new DecodeTimeline<{ pts: number }>(0, 2);
    const pts = [0, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11];
    const out: { dts: number; pts: number }[] = [];
    for (const p of pts) {
      const r = timeline.push({ pts: p });
      expect(timeline.size).toBeLessThanOrEqual(2);
      if (r) out.push({ dts: r.dts, pts: r.sample.pts });
    }
    for (let r = timeline.end(); r; r = timeline.end()) out.push({ dts: r.dts, pts: r.sample.pts });
    expect(out).toHaveLength(pts.length);
    for (let i = 0; i < out.length; i++) {
      expect(out[i]!.dts).toBeLessThanOrEqual(out[i]!.pts);
      if (i > 0) expect(out[i]!.dts).toBeGreaterThanOrEqual(out[i - 1]!.dts);
    }
    expect(REORDER_WINDOW).toBe(16);
  });

  it('ticksToMs rounds half away from zero', () => {
    expect(ticksToMs(1, 2000)).toBe(1);
    expect(ticksToMs(-1, 2000)).toBe(-1);
    expect(ticksToMs(1024, 48_000)).toBe(21);
    expect(ticksToMs(-1024, 12_800)).toBe(-80);
    expect(ticksToMs(1001, 30_000)).toBe(33);
  });
});

describe('sniffContainer', () => {
  const box = (type: string, size = 24) => {
    const b = new Uint8Array(12);
    new DataView(b.buffer).setUint32(0, size);
    b.set(
      [...type].map((c) => c.charCodeAt(0)),
      4,
    );
    return b;
  };
  it('tells FLV from MP4/MOV by content', () => {
    expect(sniffContainer(Uint8Array.of(0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9))).toBe('flv');
    for (const type of ['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip'])
      expect(sniffContainer(box(type))).toBe('mp4');
    expect(sniffContainer(box('mdat', 1))).toBe('mp4');
    expect(sniffContainer(box('mdat', 0))).toBe('mp4');
    expect(sniffContainer(box('ftyp', 7))).toBe('unknown');
    expect(sniffContainer(box('abcd'))).toBe('unknown');
    expect(sniffContainer(new TextEncoder().encode('#EXTM3U\n'))).toBe('unknown');
    expect(sniffContainer(new Uint8Array(0))).toBe('unknown');
    expect(sniffContainer(Uint8Array.of(0x46, 0x4c, 0x56, 2))).toBe('unknown');
  });
});

describe('AV1 sequence header', () => {
  // A sequence header OBU of SVT-AV1 (profile 0, level 0, 8-bit 4:2:0, 320x240), as in an MP4 key sample.
  const obu = Uint8Array.from([0x0a, 0x0b, 0x00, 0x00, 0x00, 0x04, 0x3c, 0xff, 0xbc, 0xfb, 0xf9, 0x00, 0x40]);

  it('gives the av1C fields', () => {
    expect(parseAv1SequenceHeader(obu.subarray(2))).toEqual({
      profile: 0,
      level: 0,
      tier: 0,
      highBitDepth: false,
      twelveBit: false,
      monochrome: false,
      subsamplingX: 1,
      subsamplingY: 1,
      chromaSamplePosition: 0,
    });
  });

  it('builds av1C from a temporal unit (with a temporal delimiter before, a size field added when missing)', () => {
    const td = Uint8Array.of(0x12, 0x00);
    const sample = Uint8Array.from([...td, ...obu, 0x32, 0x01, 0xaa]);
    const record = av1ConfigFromSample(sample);
    expect([...record.subarray(0, 4)]).toEqual([0x81, 0x00, 0x0c, 0x00]);
    expect([...record.subarray(4)]).toEqual([...obu]);
    // The last OBU of a sample may omit its size: the record's copy gets one.
    const unsized = Uint8Array.from([...td, 0x08, ...obu.subarray(2)]);
    expect([...av1ConfigFromSample(unsized).subarray(4)]).toEqual([...obu]);
  });

  it('refuses a sample without a sequence header, or one that does not parse', () => {
    expect(() => av1ConfigFromSample(Uint8Array.of(0x12, 0x00))).toThrow(
      expect.objectContaining({ code: 'ERR_MP4_INVALID_CONFIG' }),
    );
    expect(() => av1ConfigFromSample(Uint8Array.of(0x0a, 0x0b, 0x00))).toThrow(
      expect.objectContaining({ code: 'ERR_MP4_INVALID_CONFIG' }),
    );
    expect(() => av1ConfigFromSample(Uint8Array.of(0x0a, 0x01, 0x00))).toThrow(
      expect.objectContaining({ code: 'ERR_MP4_INVALID_CONFIG' }),
    );
  });
});
