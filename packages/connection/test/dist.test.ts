import { distBuilds, internalMarkers } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';

type Connection = typeof import('../src/index.js');

// The shipped build: dist/index.js (ESM) and dist/index.cjs (CommonJS) are two real copies of the package, as two
// installed versions would be.
describe('the shipped build', () => {
  it('an RtmpError made by one copy is an RtmpError for the other', async () => {
    const { esm, cjs } = await distBuilds<Connection>(import.meta.url);
    expect(esm.RtmpError).not.toBe(cjs.RtmpError);
    for (const [maker, checker] of [
      [esm, cjs],
      [cjs, esm],
    ] as const) {
      const cause = new Error('underneath');
      const made = new maker.RtmpError('ERR_RTMP_SOCKET', 'x', { cause, detail: 1 });
      expect(made).toBeInstanceOf(checker.RtmpError);
      expect(made).toMatchObject({ name: 'RtmpError', code: 'ERR_RTMP_SOCKET', cause, detail: 1 });
      expect(new maker.RtmpError('ERR_RTMP_SOCKET', 'x')).not.toHaveProperty('cause');
      let thrown: unknown;
      try {
        new maker.BufferBudget(0);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(checker.RtmpError);
      expect(thrown).toMatchObject({ code: 'ERR_RTMP_INVALID_OPTION' });
      // An RtmpError of the other copy passes through toRtmpError as it is.
      expect(checker.toRtmpError(made, 'ERR_RTMP_PROTOCOL')).toBe(made);
      expect(new Error('x')).not.toBeInstanceOf(checker.RtmpError);
    }
  });

  it('ships no @internal member in its declarations', () => {
    expect(internalMarkers(import.meta.url)).toEqual([]);
  });
});
