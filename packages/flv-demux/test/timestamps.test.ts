import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlvError, TimestampUnwrapper } from '../src/index.js';

describe('TimestampUnwrapper', () => {
  it('follows wraps and late messages from before a wrap', () => {
    const u = new TimestampUnwrapper();
    const wire = [0xfffffff0, 0xfffffffa, 5, 0xffffffff, 20, 0x7fffffff, 0x80000010, 3];
    expect(wire.map((t) => u.unwrap(t))).toEqual([
      0xfffffff0,
      0xfffffffa,
      2 ** 32 + 5,
      0xffffffff,
      2 ** 32 + 20,
      2 ** 32 + 0x7fffffff,
      2 ** 32 + 0x80000010,
      2 ** 33 + 3,
    ]);
    u.reset();
    expect(u.unwrap(7)).toBe(7);
  });

  it('gives back the true time of any stream whose steps stay under 2^31 ms (jitter and late audio included)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.array(fc.oneof(fc.integer({ min: -5_000, max: 5_000 }), fc.integer({ min: 0, max: 2 ** 30 })), {
          maxLength: 200,
        }),
        (start, steps) => {
          const u = new TimestampUnwrapper();
          let t = start;
          expect(u.unwrap(t)).toBe(t);
          for (const step of steps) {
            t = Math.max(0, t + step);
            expect(u.unwrap(t % 2 ** 32)).toBe(t);
          }
        },
      ),
    );
  });

  it('refuses what is not a u32 with a typed error', () => {
    const u = new TimestampUnwrapper();
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) {
      expect(() => u.unwrap(bad)).toThrow(FlvError);
    }
  });
});
