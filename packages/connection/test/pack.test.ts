import { fileURLToPath } from 'node:url';
import { installPacked } from '@rtmp/testing';
import { expect, test } from 'vitest';

// The published shape: `pnpm pack` of this package and of its @rtmp/* dependencies, the tarballs installed into an
// empty directory offline, then used from CommonJS, from ESM, and type-checked against the shipped declarations.
const CONNECT =
  // Both roles of the core over loopback TCP: handshake, then a `connect` call answered by the server role.
  'const server = net.createServer((socket) => {' +
  "  const peer = new c.RtmpConnection(socket, { role: 'server' });" +
  "  peer.on('command', (command) => peer.reply(command, [{ fmsVer: 'PACK/1' }, { level: 'status', code: 'NetConnection.Connect.Success' }]));" +
  '});' +
  "server.listen(0, '127.0.0.1', () => {" +
  "  const client = new c.RtmpConnection(net.connect(server.address().port, '127.0.0.1'), { role: 'client' });" +
  "  client.once('ready', async () => {" +
  "    const reply = await client.call('connect', [{ app: 'live' }]);" +
  "    const error = new c.RtmpError('ERR_RTMP_CLOSED', 'x');" +
  '    console.log(reply.args[0].code, client.handshakeKind, error instanceof c.RtmpError, error.code);' +
  '    onDone?.(error);' +
  '    client.destroy(); server.close();' +
  '  });' +
  '});';

test('npm pack installs into an empty directory and works from import and require, with types', () => {
  const packed = installPacked(fileURLToPath(new URL('..', import.meta.url)));
  try {
    expect(packed.packages).toEqual(['@rtmp/connection', '@rtmp/amf', '@rtmp/chunk', '@rtmp/handshake']);
    const cjs = packed.runCjs(
      `const net = require('node:net'); const c = require('@rtmp/connection'); let onDone; ${CONNECT}`,
    );
    expect(cjs.trim()).toBe('NetConnection.Connect.Success digest true ERR_RTMP_CLOSED');
    const esm = packed.runEsm(
      "import * as net from 'node:net'; import * as c from '@rtmp/connection'; import { createRequire } from 'node:module';" +
        "const cjs = createRequire(process.cwd() + '/x.js')('@rtmp/connection');" +
        // An error of the ESM copy is an instance for the CJS copy (dual package hazard).
        'const onDone = (error) => console.log(cjs.RtmpError !== c.RtmpError, error instanceof cjs.RtmpError);' +
        CONNECT,
    );
    expect(esm.trim()).toBe('NetConnection.Connect.Success digest true ERR_RTMP_CLOSED\ntrue true');
    expect(
      packed.typeErrors(
        {
          'esm.mts': [
            "import * as net from 'node:net';",
            "import { RtmpConnection, RtmpError, type RtmpErrorCode, type RtmpStatus } from '@rtmp/connection';",
            "const connection = new RtmpConnection(net.connect(1935), { role: 'client' });",
            "connection.on('status', (status: RtmpStatus) => console.log(status.code));",
            'const code = (e: unknown): RtmpErrorCode | undefined => (e instanceof RtmpError ? e.code : undefined);',
            'export { code };',
          ].join('\n'),
          'cjs.cts': [
            "import net = require('node:net');",
            "import connection = require('@rtmp/connection');",
            "const serve = (socket: net.Socket) => new connection.RtmpConnection(socket, { role: 'server' });",
            'export = serve;',
          ].join('\n'),
        },
        { types: ['node'] },
      ),
    ).toEqual([]);
  } finally {
    packed.remove();
  }
}, 120_000);
