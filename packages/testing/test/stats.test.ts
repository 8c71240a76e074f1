import { describe, expect, it } from 'vitest';
import { percentile } from '../src/stats.js';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('p-th of 1..100 is p; p0 the smallest, p100 the largest', () => {
    expect([0, 1, 50, 90, 99, 100].map((p) => percentile(hundred, p))).toEqual([1, 1, 50, 90, 99, 100]);
  });

  it('rounds the rank up on small samples, reads typed arrays, NaN when empty', () => {
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 51)).toBe(30);
    expect(percentile(Float64Array.of(1, 2, 3), 99)).toBe(3);
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});
