import { describe, expect, it } from 'vitest';
import { shouldCapYoungGeneration } from '../src/young-generation.js';
import { startApp } from './helpers.js';

describe('shouldCapYoungGeneration', () => {
  it('caps when nothing sizes the young generation', () => {
    expect(shouldCapYoungGeneration([], '')).toBe(true);
    expect(shouldCapYoungGeneration(['--enable-source-maps'], '--max-old-space-size=512')).toBe(true);
  });

  it('leaves a size the user gave alone, in execArgv or NODE_OPTIONS, with dashes or underscores', () => {
    expect(shouldCapYoungGeneration(['--max-semi-space-size=16'], '')).toBe(false);
    expect(shouldCapYoungGeneration(['--max_semi_space_size', '8'], '')).toBe(false);
    expect(shouldCapYoungGeneration([], '--min-semi-space-size=4')).toBe(false);
    expect(shouldCapYoungGeneration([], '--inspect --semi-space-growth-factor=2')).toBe(false);
  });
});

// Node's start-up (pino, prom-client) grows the young generation to 8 MB per semi-space when nothing caps it; the
// CLI keeps it at its initial 1 MB unless the user sized it. Read from the app's own metrics.
describe('the CLI sizes the young generation', () => {
  async function newSpaceBytes(env: Record<string, string>): Promise<number> {
    const app = await startApp(['--log-level', 'warn'], { env });
    try {
      const metrics = await (await fetch(`http://127.0.0.1:${app.httpPort}/metrics`)).text();
      const match = /^nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(metrics);
      return Number(match?.[1] ?? Number.NaN);
    } finally {
      await app.stop();
    }
  }

  it('keeps it at 2 MB (two 1 MB semi-spaces) by default', async () => {
    expect(await newSpaceBytes({})).toBeLessThanOrEqual(2 * 1024 * 1024);
  });

  it('leaves it to NODE_OPTIONS=--max-semi-space-size', async () => {
    expect(await newSpaceBytes({ NODE_OPTIONS: '--max-semi-space-size=16' })).toBeGreaterThan(
      2 * 1024 * 1024,
    );
  });
});
