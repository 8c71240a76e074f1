import { fileURLToPath } from 'node:url';
import { installPacked } from '@rtmp/testing';
import { expect, test } from 'vitest';

// The published shape: `pnpm pack`, install the tarball into an empty directory (offline: no dependencies), then use
// it from CommonJS, from ESM, and type-check both forms against the shipped declarations.
const ROUND_TRIP =
  'const message = { type: 9, streamId: 1, timestamp: 1000, payload: new Uint8Array(300).fill(7) };' +
  // 300 bytes at the default chunk size of 128: three chunks, reassembled by the decoder.
  'const bytes = Buffer.concat(new c.ChunkEncoder().encode(message, 6));' +
  'const [m] = new c.ChunkDecoder().push(bytes);' +
  'let error; try { new c.ChunkDecoder().push(Uint8Array.of(0xc3)); } catch (e) { error = e; }' +
  'console.log(m.type, m.streamId, m.timestamp, m.payload.length, m.payload[299], error instanceof c.ChunkError, error.code);';

test('npm pack installs into an empty directory and works from import and require, with types', () => {
  const packed = installPacked(fileURLToPath(new URL('..', import.meta.url)));
  try {
    expect(packed.packages).toEqual(['@rtmp/chunk']);
    expect(packed.runCjs(`const c = require('@rtmp/chunk'); ${ROUND_TRIP}`).trim()).toBe(
      '9 1 1000 300 7 true ERR_CHUNK_NO_PREVIOUS_HEADER',
    );
    const esm = packed.runEsm(
      "import * as c from '@rtmp/chunk'; import { createRequire } from 'node:module';" +
        ROUND_TRIP +
        // An error of the ESM copy is an instance for the CJS copy (dual package hazard).
        "const cjs = createRequire(process.cwd() + '/x.js')('@rtmp/chunk');" +
        'console.log(cjs.ChunkError !== c.ChunkError, error instanceof cjs.ChunkError);',
    );
    expect(esm.trim()).toBe('9 1 1000 300 7 true ERR_CHUNK_NO_PREVIOUS_HEADER\ntrue true');
    // A pure package: its declarations compile without @types/node.
    expect(
      packed.typeErrors({
        'esm.mts': [
          "import { ChunkDecoder, ChunkEncoder, ChunkError, type ChunkErrorCode, type RtmpMessage } from '@rtmp/chunk';",
          'const m: RtmpMessage = { type: 8, streamId: 1, timestamp: 0, payload: new Uint8Array(1) };',
          'const out: RtmpMessage[] = new ChunkDecoder().push(new ChunkEncoder().encode(m, 4)[0]!);',
          'const code = (e: unknown): ChunkErrorCode | undefined => (e instanceof ChunkError ? e.code : undefined);',
          'export { out, code };',
        ].join('\n'),
        'cjs.cts': [
          "import chunk = require('@rtmp/chunk');",
          'const slices: Uint8Array[] = new chunk.ChunkEncoder().setChunkSize(4096);',
          'export = slices;',
        ].join('\n'),
      }),
    ).toEqual([]);
  } finally {
    packed.remove();
  }
}, 120_000);
