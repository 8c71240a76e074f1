import { fileURLToPath } from 'node:url';
import { fixture, installPacked } from '@rtmp/testing';
import { expect, test } from 'vitest';

// The published shape, installed offline into an empty project WITHOUT mediabunny (an optional peer dependency):
// the package loads, sniffs containers, and opening a file fails with its clear error, not a module-not-found crash;
// its declarations compile without mediabunny's (no mediabunny type is part of the API).
const USE = (file: string) =>
  `const head = Uint8Array.of(0, 0, 0, 24, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d);` +
  `console.log(m.sniffContainer(head), m.MP4_ERROR_CODES.length);` +
  `m.Mp4File.open(${JSON.stringify(file)}).then(() => console.log('opened'), (e) => console.log(e instanceof m.Mp4Error, e.code));`;

test('installs without mediabunny: loads from import and require, reports ERR_MP4_READER_UNAVAILABLE, types compile', () => {
  const packed = installPacked(fileURLToPath(new URL('..', import.meta.url)));
  try {
    expect(packed.packages[0]).toBe('@rtmp/mp4');
    const file = fixture('small_h264_aac.flv');
    const expected = `mp4 15\ntrue ERR_MP4_READER_UNAVAILABLE`;
    expect(packed.runCjs(`const m = require('@rtmp/mp4'); ${USE(file)}`).trim()).toBe(expected);
    expect(packed.runEsm(`import * as m from '@rtmp/mp4'; ${USE(file)}`).trim()).toBe(expected);
    expect(
      packed.typeErrors(
        {
          'esm.mts': [
            "import { Mp4Error, Mp4File, type Mp4Tag, readMp4Tags, sniffContainer } from '@rtmp/mp4';",
            'export async function count(path: string): Promise<number> {',
            '  let n = 0;',
            '  for await (const tag of readMp4Tags(path, { start: 0 })) n += (tag satisfies Mp4Tag).body.length;',
            '  const file = await Mp4File.open(path);',
            '  file.close();',
            "  return sniffContainer(new Uint8Array(12)) === 'unknown' ? n : -1;",
            '}',
            "export const code = (e: unknown) => (e instanceof Mp4Error ? e.code : 'other');",
          ].join('\n'),
        },
        { types: ['node'] },
      ),
    ).toEqual([]);
  } finally {
    packed.remove();
  }
}, 180_000);
