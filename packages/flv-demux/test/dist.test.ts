import { distBuilds, internalMarkers } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';

type FlvDemux = typeof import('../src/index.js');

// The shipped build: dist/index.js (ESM) and dist/index.cjs (CommonJS) are two real copies of the package, as two
// installed versions would be.
describe('the shipped build', () => {
  it('an FlvError made by one copy is an FlvError for the other', async () => {
    const { esm, cjs } = await distBuilds<FlvDemux>(import.meta.url);
    expect(esm.FlvError).not.toBe(cjs.FlvError);
    for (const [maker, checker] of [
      [esm, cjs],
      [cjs, esm],
    ] as const) {
      const made = new maker.FlvError('ERR_FLV_TRUNCATED', 'x', { offset: 3 });
      expect(made).toBeInstanceOf(checker.FlvError);
      expect(made).toMatchObject({ name: 'FlvError', code: 'ERR_FLV_TRUNCATED', offset: 3 });
      let thrown: unknown;
      try {
        new maker.FlvReader().push(new TextEncoder().encode('not an FLV file'));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(checker.FlvError);
      expect(thrown).toMatchObject({ code: 'ERR_FLV_BAD_SIGNATURE', offset: 0 });
      expect(new Error('x')).not.toBeInstanceOf(checker.FlvError);
    }
  });

  it('ships no @internal member in its declarations', () => {
    expect(internalMarkers(import.meta.url)).toEqual([]);
  });
});
