import { describe, expect, it } from 'vitest';
import { plannedGcTuning } from '../src/gc-tuning.js';
import { startApp } from './helpers.js';

describe('plannedGcTuning', () => {
  it('applies both settings when nothing else sizes the young generation or schedules marking', () => {
    const all = { youngGenerationCapped: true, markingRoomForPayloads: true };
    expect(plannedGcTuning([], '')).toEqual(all);
    expect(plannedGcTuning(['--enable-source-maps'], '--max-old-space-size=512')).toEqual(all);
  });

  it('leaves the young generation to a size the user gave, in execArgv or NODE_OPTIONS, with dashes or underscores', () => {
    for (const [argv, options] of [
      [['--max-semi-space-size=16'], ''],
      [['--max_semi_space_size', '8'], ''],
      [[], '--min-semi-space-size=4'],
      [[], '--inspect --semi-space-growth-factor=2'],
    ] as const) {
      expect(plannedGcTuning(argv, options)).toEqual({
        youngGenerationCapped: false,
        markingRoomForPayloads: true,
      });
    }
  });

  it('leaves marking to the user who set the growing factor, the memory reducer or incremental marking', () => {
    for (const [argv, options] of [
      [['--heap-growing-percent=50'], ''],
      [[], '--heap_growing_percent=50'],
      [['--memory-reducer'], ''],
      [[], '--no-memory-reducer'],
      [['--no-incremental-marking'], ''],
    ] as const) {
      expect(plannedGcTuning(argv, options)).toEqual({
        youngGenerationCapped: true,
        markingRoomForPayloads: false,
      });
    }
  });
});

// The settings cannot be read back from V8; the app reports what it applied in its start-up log line, and the young
// generation's size shows in its own metrics (Node's start-up grows it to 8 MB per semi-space when nothing caps it).
describe('the rtmp-ingest command tunes the garbage collector', () => {
  async function started(
    options: { env?: Record<string, string>; nodeArgs?: string[] } = {},
  ): Promise<{ newSpace: number; gcTuning: unknown }> {
    const app = await startApp(['--log-level', 'info'], options);
    try {
      const metrics = await (await fetch(`http://127.0.0.1:${app.httpPort}/metrics`)).text();
      const match = /^nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(metrics);
      const listening = app.logs.find((l) => l.msg === 'rtmp-ingest listening');
      return { newSpace: Number(match?.[1] ?? Number.NaN), gcTuning: listening?.gcTuning };
    } finally {
      await app.stop();
    }
  }

  it('by default: a 2 MB young generation (two 1 MB semi-spaces) and room for payloads in marking', async () => {
    const { newSpace, gcTuning } = await started();
    expect(newSpace).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(gcTuning).toEqual({ youngGenerationCapped: true, markingRoomForPayloads: true });
  });

  it('leaves to the user what they set: node flags or NODE_OPTIONS (which takes only the semi-space size)', async () => {
    const own = await started({
      env: { NODE_OPTIONS: '--max-semi-space-size=16' },
      nodeArgs: ['--no-memory-reducer'],
    });
    expect(own.newSpace).toBeGreaterThan(2 * 1024 * 1024);
    expect(own.gcTuning).toBeUndefined();
    const marking = await started({ nodeArgs: ['--heap-growing-percent=50'] });
    expect(marking.gcTuning).toEqual({ youngGenerationCapped: true, markingRoomForPayloads: false });
  });
});
