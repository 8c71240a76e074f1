import { distBuilds, internalMarkers } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';

type Amf = typeof import('../src/index.js');

// The shipped build: dist/index.js (ESM) and dist/index.cjs (CommonJS) are two real copies of the package, as two
// installed versions would be.
describe('the shipped build', () => {
  it('an AmfError made by one copy is an AmfError for the other', async () => {
    const { esm, cjs } = await distBuilds<Amf>(import.meta.url);
    expect(esm.AmfError).not.toBe(cjs.AmfError);
    for (const [maker, checker] of [
      [esm, cjs],
      [cjs, esm],
    ] as const) {
      const made = new maker.AmfError('ERR_AMF_TRUNCATED', 'x', { offset: 3 });
      expect(made).toBeInstanceOf(checker.AmfError);
      expect(made).toMatchObject({ name: 'AmfError', code: 'ERR_AMF_TRUNCATED', offset: 3 });
      expect(made).not.toHaveProperty('cause');
      let thrown: unknown;
      try {
        maker.decodeAmf0(new Uint8Array([0x02, 0x00]));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(checker.AmfError);
      expect(new Error('x')).not.toBeInstanceOf(checker.AmfError);
    }
  });

  it('ships no @internal member in its declarations', () => {
    expect(internalMarkers(import.meta.url)).toEqual([]);
  });
});
