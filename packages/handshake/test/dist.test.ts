import { distBuilds, internalMarkers } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';

type Handshake = typeof import('../src/index.js');

// The shipped build: dist/index.js (ESM) and dist/index.cjs (CommonJS) are two real copies of the package, as two
// installed versions would be.
describe('the shipped build', () => {
  it('a HandshakeError made by one copy is a HandshakeError for the other', async () => {
    const { esm, cjs } = await distBuilds<Handshake>(import.meta.url);
    expect(esm.HandshakeError).not.toBe(cjs.HandshakeError);
    for (const [maker, checker] of [
      [esm, cjs],
      [cjs, esm],
    ] as const) {
      const made = new maker.HandshakeError('ERR_HANDSHAKE_BAD_VERSION', 'x');
      expect(made).toBeInstanceOf(checker.HandshakeError);
      expect(made).toMatchObject({ name: 'HandshakeError', code: 'ERR_HANDSHAKE_BAD_VERSION' });
      expect(made).not.toHaveProperty('cause');
      let thrown: unknown;
      try {
        new maker.HandshakeServer().push(new Uint8Array([5]));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(checker.HandshakeError);
      expect(new Error('x')).not.toBeInstanceOf(checker.HandshakeError);
    }
  });

  it('ships no @internal member in its declarations', () => {
    expect(internalMarkers(import.meta.url)).toEqual([]);
  });
});
