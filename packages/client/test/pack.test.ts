import { fileURLToPath } from 'node:url';
import { installPacked } from '@rtmp/testing';
import { expect, test } from 'vitest';

// The published shape: `pnpm pack` of this package and of its @rtmp/* dependencies, the tarballs installed into an
// empty directory offline, then used from CommonJS, from ESM, and type-checked against the shipped declarations.
const USE =
  "const url = c.parseRtmpUrl('rtmps://example.com/app/instance/key?token=1');" +
  "let error; try { new c.RtmpClient({ url: 'http://example.com/live/key' }); } catch (e) { error = e; }" +
  // A client error is also an RtmpError of the installed @rtmp/connection: one error family.
  'console.log(url.port, url.app, url.streamName, url.tcUrl, error instanceof c.RtmpClientError,' +
  '  error instanceof connection.RtmpError, error.code);';

test('npm pack installs into an empty directory and works from import and require, with types', () => {
  const packed = installPacked(fileURLToPath(new URL('..', import.meta.url)));
  try {
    expect(packed.packages[0]).toBe('@rtmp/client');
    // A client user installs the connection core, never the server.
    expect(packed.packages).toContain('@rtmp/connection');
    expect(packed.packages).not.toContain('@rtmp/server');
    const line =
      '443 app/instance key?token=1 rtmps://example.com/app/instance true true ERR_RTMP_INVALID_URL';
    expect(
      packed
        .runCjs(`const c = require('@rtmp/client'); const connection = require('@rtmp/connection'); ${USE}`)
        .trim(),
    ).toBe(line);
    const esm = packed.runEsm(
      "import * as c from '@rtmp/client'; import * as connection from '@rtmp/connection';" +
        "import { createRequire } from 'node:module';" +
        USE +
        // An error of the ESM copy is an instance for the CJS copy (dual package hazard).
        "const cjs = createRequire(process.cwd() + '/x.js')('@rtmp/client');" +
        'console.log(cjs.RtmpClientError !== c.RtmpClientError, error instanceof cjs.RtmpClientError);',
    );
    expect(esm.trim()).toBe(`${line}\ntrue true`);
    expect(
      packed.typeErrors(
        {
          'esm.mts': [
            "import { parseRtmpUrl, RtmpClient, RtmpClientError, type RtmpPlayer } from '@rtmp/client';",
            "const client = new RtmpClient({ url: 'rtmp://127.0.0.1/live/key', timeout: 1_000 });",
            'const play = async (): Promise<RtmpPlayer> => (await client.connect(), client.play());',
            'const code = (e: unknown): string | undefined => (e instanceof RtmpClientError ? e.code : undefined);',
            "const app: string = parseRtmpUrl('rtmp://h/live/k').app;",
            'export { play, code, app };',
          ].join('\n'),
          'cjs.cts': [
            "import client = require('@rtmp/client');",
            "const publish = async (): Promise<client.RtmpPublisher> => { const c = new client.RtmpClient({ url: 'rtmp://h/live/k' }); await c.connect(); return c.publish(); };",
            'export = publish;',
          ].join('\n'),
        },
        { types: ['node'] },
      ),
    ).toEqual([]);
  } finally {
    packed.remove();
  }
}, 120_000);
