import { fileURLToPath } from 'node:url';
import { installPacked } from '@rtmp/testing';
import { expect, test } from 'vitest';

// The published shape: `pnpm pack` of this package and its @rtmp/* dependencies, installed offline into an empty
// project, used from CommonJS and ESM, and type-checked against the shipped declarations.
const USE =
  'const relay = new s.LiveRelay(); const r = new m.Restreamer(relay); const p = new m.Puller(relay, { origin: () => undefined });' +
  "let error; try { r.push('live/k', 'http://nope/live/k'); } catch (e) { error = e; }" +
  "console.log(m.appendStreamName('rtmp://h/live?x=1', 'k'), error instanceof m.RestreamError, error.code);" +
  'Promise.all([r.close(), p.close()]).then(() => console.log("closed"));';

test('npm pack installs into an empty directory and works from import and require, with types', () => {
  const packed = installPacked(fileURLToPath(new URL('..', import.meta.url)));
  try {
    expect(packed.packages[0]).toBe('@rtmp/restream');
    expect(packed.packages).toEqual(
      expect.arrayContaining(['@rtmp/server', '@rtmp/client', '@rtmp/connection']),
    );
    const expected = 'rtmp://h/live/k?x=1 true ERR_RESTREAM_INVALID_OPTION\nclosed';
    expect(
      packed.runCjs(`const m = require('@rtmp/restream'); const s = require('@rtmp/server'); ${USE}`).trim(),
    ).toBe(expected);
    expect(
      packed.runEsm(`import * as m from '@rtmp/restream'; import * as s from '@rtmp/server'; ${USE}`).trim(),
    ).toBe(expected);
    expect(
      packed.typeErrors(
        {
          'esm.mts': [
            "import { LiveRelay } from '@rtmp/server';",
            "import { type PushInfo, Restreamer, Webhooks } from '@rtmp/restream';",
            'const restreamer = new Restreamer(new LiveRelay());',
            'export const infos: PushInfo[] = restreamer.pushes().map((p) => p.info());',
            "export const hooks = new Webhooks({ urls: ['http://127.0.0.1:1/'] });",
          ].join('\n'),
        },
        { types: ['node'] },
      ),
    ).toEqual([]);
  } finally {
    packed.remove();
  }
}, 180_000);
