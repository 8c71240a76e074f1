import { distBuilds, internalMarkers } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';

type Chunk = typeof import('../src/index.js');

// The shipped build: dist/index.js (ESM) and dist/index.cjs (CommonJS) are two real copies of the package, as two
// installed versions would be.
describe('the shipped build', () => {
  it('a ChunkError made by one copy is a ChunkError for the other', async () => {
    const { esm, cjs } = await distBuilds<Chunk>(import.meta.url);
    expect(esm.ChunkError).not.toBe(cjs.ChunkError);
    for (const [maker, checker] of [
      [esm, cjs],
      [cjs, esm],
    ] as const) {
      const cause = new Error('underneath');
      const made = new maker.ChunkError('ERR_CHUNK_INTERNAL', 'x', { cause });
      expect(made).toBeInstanceOf(checker.ChunkError);
      expect(made).toMatchObject({ name: 'ChunkError', code: 'ERR_CHUNK_INTERNAL', cause });
      let thrown: unknown;
      try {
        // fmt 3 on a chunk stream that never had a header.
        new maker.ChunkDecoder().push(new Uint8Array([0xc3, 0x00]));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(checker.ChunkError);
      expect(new Error('x')).not.toBeInstanceOf(checker.ChunkError);
    }
  });

  it('ships no @internal member in its declarations', () => {
    expect(internalMarkers(import.meta.url)).toEqual([]);
  });
});
