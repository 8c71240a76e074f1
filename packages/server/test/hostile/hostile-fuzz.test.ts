import { describe, expect, it } from 'vitest';
import { fuzz, loadSeeds, TARGETS } from './fuzz-core.js';

// A fixed-seed slice of bench/fuzz.ts (which runs >= 1,000,000 cases): same targets, same mutators, same seeds.
const SEED = 0x5eed;
const RUNS: Record<string, number> = {
  handshake: 6_000,
  chunk: 8_000,
  amf0: 15_000,
  amf3: 15_000,
  'flv-tags': 15_000,
  'flv-reader': 6_000,
  session: 2_500,
};

describe('fuzzing every decoder and a whole server session with mutated real captures (fixed seed)', () => {
  const seeds = loadSeeds();
  it('has seeds from every capture', () => {
    expect(seeds.sessions.length).toBe(4);
    expect(seeds.amf0.length).toBeGreaterThan(20);
    expect(seeds.tags.length).toBeGreaterThan(100);
  });
  for (const target of TARGETS) {
    it(`${target}: only typed errors, failed parsers stay failed`, async () => {
      const before = process.memoryUsage().rss;
      const result = await fuzz(seeds, target, RUNS[target]!, SEED);
      const grownMb = (process.memoryUsage().rss - before) / 2 ** 20;
      console.log(`fuzz ${target}: ${result.runs} cases in ${result.ms} ms, RSS +${grownMb.toFixed(0)} MiB`);
      expect(grownMb).toBeLessThan(256);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }, 60_000);
  }
});
