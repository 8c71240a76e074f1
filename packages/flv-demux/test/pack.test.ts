import { fileURLToPath } from 'node:url';
import { installPacked } from '@rtmp/testing';
import { expect, test } from 'vitest';

// The published shape: `pnpm pack` of this package and of @rtmp/amf (its dependency), both tarballs installed into
// an empty directory offline, then used from CommonJS, from ESM, and type-checked against the shipped declarations.
const ROUND_TRIP =
  // An FLV file with one AAC frame written, read back, and its tag body parsed.
  'const writer = new f.FlvWriter({ audio: true });' +
  'const file = Buffer.concat([writer.header(), ...writer.tag(8, 40, Uint8Array.of(0xaf, 1, 9, 8, 7))]);' +
  'const reader = new f.FlvReader(); const [tag] = reader.push(file); reader.end();' +
  'const [packet] = f.parseAudioTag(tag.body).packets;' +
  'let error; try { f.parseAudioTag(Uint8Array.of(0xaf, 7)); } catch (e) { error = e; }' +
  "console.log(tag.type, tag.timestamp, packet.codec, packet.data.join(','), error instanceof f.FlvError, error.code);";

test('npm pack installs into an empty directory and works from import and require, with types', () => {
  const packed = installPacked(fileURLToPath(new URL('..', import.meta.url)));
  try {
    expect(packed.packages).toEqual(['@rtmp/flv-demux', '@rtmp/amf']);
    expect(packed.runCjs(`const f = require('@rtmp/flv-demux'); ${ROUND_TRIP}`).trim()).toBe(
      '8 40 aac 9,8,7 true ERR_FLV_UNKNOWN_PACKET_TYPE',
    );
    const esm = packed.runEsm(
      "import * as f from '@rtmp/flv-demux'; import { createRequire } from 'node:module';" +
        ROUND_TRIP +
        // An error of the ESM copy is an instance for the CJS copy (dual package hazard).
        "const cjs = createRequire(process.cwd() + '/x.js')('@rtmp/flv-demux');" +
        'console.log(cjs.FlvError !== f.FlvError, error instanceof cjs.FlvError);',
    );
    expect(esm.trim()).toBe('8 40 aac 9,8,7 true ERR_FLV_UNKNOWN_PACKET_TYPE\ntrue true');
    // A pure package: its declarations (and @rtmp/amf's, which they import) compile without @types/node.
    expect(
      packed.typeErrors({
        'esm.mts': [
          "import { type DemuxEvent, FlvError, FlvReader, parseVideoTag, StreamDemuxer } from '@rtmp/flv-demux';",
          'const events: DemuxEvent[] = new StreamDemuxer().push(8, 0, Uint8Array.of(0xaf, 0, 0x12, 0x10));',
          'const tags = new FlvReader().push(new Uint8Array(13));',
          'const keyframe: boolean = parseVideoTag(Uint8Array.of(0x17, 1, 0, 0, 0)).frameType === 1;',
          'const code = (e: unknown): string | undefined => (e instanceof FlvError ? e.code : undefined);',
          'export { events, tags, keyframe, code };',
        ].join('\n'),
        'cjs.cts': [
          "import flv = require('@rtmp/flv-demux');",
          'const header: Uint8Array = new flv.FlvWriter({ video: true }).header();',
          'export = header;',
        ].join('\n'),
      }),
    ).toEqual([]);
  } finally {
    packed.remove();
  }
}, 120_000);
