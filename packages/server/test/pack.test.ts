import { fileURLToPath } from 'node:url';
import { installPacked } from '@rtmp/testing';
import { expect, test } from 'vitest';

// The published shape: `pnpm pack` of this package and of its @rtmp/* dependencies, the tarballs installed into an
// empty directory offline, then used from CommonJS, from ESM, and type-checked against the shipped declarations.
const START_STOP =
  // A relay server on a free port of 127.0.0.1 starts and stops; an invalid option is a typed error.
  'const relay = new s.LiveRelay();' +
  "const server = new s.RtmpServer({ host: '127.0.0.1', port: 0, handler: relay.handler() });" +
  'let error; try { new s.RtmpServer({ handler: () => ({}), maxTotalBufferedBytes: 0 }); } catch (e) { error = e; }' +
  'server.start().then(async (port) => {' +
  '  const listening = port > 0 && server.sessions.size === 0;' +
  '  await server.stop();' +
  "  console.log(listening, 'stopped', error instanceof s.RtmpError, error.code);" +
  '  onDone?.(error);' +
  '});';

test('npm pack installs into an empty directory and works from import and require, with types', () => {
  const packed = installPacked(fileURLToPath(new URL('..', import.meta.url)));
  try {
    expect(packed.packages[0]).toBe('@rtmp/server');
    // The server's dependencies are installed with it; the client is not one of them.
    expect(packed.packages).toContain('@rtmp/connection');
    expect(packed.packages).not.toContain('@rtmp/client');
    expect(packed.runCjs(`const s = require('@rtmp/server'); let onDone; ${START_STOP}`).trim()).toBe(
      'true stopped true ERR_RTMP_INVALID_OPTION',
    );
    const esm = packed.runEsm(
      "import * as s from '@rtmp/server'; import { createRequire } from 'node:module';" +
        "const cjs = createRequire(process.cwd() + '/x.js')('@rtmp/server');" +
        // An error of the ESM copy is an instance for the CJS copy (dual package hazard).
        'const onDone = (error) => console.log(cjs.RtmpError !== s.RtmpError, error instanceof cjs.RtmpError);' +
        START_STOP,
    );
    expect(esm.trim()).toBe('true stopped true ERR_RTMP_INVALID_OPTION\ntrue true');
    expect(
      packed.typeErrors(
        {
          'esm.mts': [
            "import { LiveRelay, type RtmpHandler, RtmpServer, reject } from '@rtmp/server';",
            "const handler = (): RtmpHandler => ({ handlePublish: () => reject('no') });",
            "const server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: new LiveRelay().handler(handler) });",
            'const port: number = await server.start();',
            'await server.stop();',
            'export { port };',
          ].join('\n'),
          'cjs.cts': [
            "import server = require('@rtmp/server');",
            'const make = (): server.RtmpServer => new server.RtmpServer({ handler: () => ({}) });',
            'export = make;',
          ].join('\n'),
        },
        { types: ['node'] },
      ),
    ).toEqual([]);
  } finally {
    packed.remove();
  }
}, 120_000);
