import { fileURLToPath } from 'node:url';
import { installPacked } from '@rtmp/testing';
import { expect, test } from 'vitest';

// The published shape: `pnpm pack` of this package and of its @rtmp/* dependencies, the tarballs installed into an
// empty directory offline, then used from CommonJS, from ESM, and type-checked against the shipped declarations.
const USE =
  // A service over a relay answers 404 for a key that is not live; a bad option is a typed error.
  'const relay = new server.LiveRelay();' +
  'const service = new hls.HlsService({ relay });' +
  'let error; try { new hls.HlsSegmenter({ partTarget: 0 }); } catch (e) { error = e; }' +
  "service.respond('/live/a/index.m3u8', '').then(async (response) => {" +
  '  await service.close();' +
  '  console.log(response.status, error instanceof hls.HlsError, error.code);' +
  '  onDone?.(error);' +
  '});';

test('npm pack installs into an empty directory and works from import and require, with types', () => {
  const packed = installPacked(fileURLToPath(new URL('..', import.meta.url)));
  try {
    expect(packed.packages[0]).toBe('@rtmp/hls');
    expect(packed.packages).toEqual(expect.arrayContaining(['@rtmp/server', '@rtmp/mp4', '@rtmp/flv-demux']));
    expect(
      packed
        .runCjs(
          `const hls = require('@rtmp/hls'); const server = require('@rtmp/server'); let onDone; ${USE}`,
        )
        .trim(),
    ).toBe('404 true ERR_HLS_INVALID_OPTION');
    const esm = packed.runEsm(
      "import * as hls from '@rtmp/hls'; import * as server from '@rtmp/server'; import { createRequire } from 'node:module';" +
        "const cjs = createRequire(process.cwd() + '/x.js')('@rtmp/hls');" +
        // An error of the ESM copy is an instance for the CJS copy (dual package hazard).
        'const onDone = (error) => console.log(cjs.HlsError !== hls.HlsError, error instanceof cjs.HlsError);' +
        USE,
    );
    expect(esm.trim()).toBe('404 true ERR_HLS_INVALID_OPTION\ntrue true');
    expect(
      packed.typeErrors(
        {
          'esm.mts': [
            "import { HlsService, renderMediaPlaylist, HlsSegmenter } from '@rtmp/hls';",
            "import { LiveRelay } from '@rtmp/server';",
            'const service = new HlsService({ relay: new LiveRelay(), mode: "always" });',
            'const segmenter = new HlsSegmenter({ partTarget: 0.2 });',
            'const text: string = renderMediaPlaylist(segmenter, { init: String, segment: String, part: String });',
            'await service.close();',
            'export { text };',
          ].join('\n'),
          'cjs.cts': [
            "import hls = require('@rtmp/hls');",
            'const make = (): hls.HlsSegmenter => new hls.HlsSegmenter();',
            'export = make;',
          ].join('\n'),
        },
        { types: ['node'] },
      ),
    ).toEqual([]);
  } finally {
    packed.remove();
  }
}, 180_000);
