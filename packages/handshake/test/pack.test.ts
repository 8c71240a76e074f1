import { fileURLToPath } from 'node:url';
import { installPacked } from '@rtmp/testing';
import { expect, test } from 'vitest';

// The published shape: `pnpm pack`, install the tarball into an empty directory (offline: no dependencies), then use
// it from CommonJS, from ESM, and type-check both forms against the shipped declarations.
const HANDSHAKE =
  // A digest handshake between the two roles, bytes handed over until both are done.
  'const client = new h.HandshakeClient(); const server = new h.HandshakeServer();' +
  'let toServer = [client.start()]; let clientDone = false; let serverDone = false;' +
  'for (let round = 0; round < 4 && !(clientDone && serverDone); round++) {' +
  '  const toClient = [];' +
  '  for (const b of toServer.splice(0)) { const r = server.push(b); toClient.push(...r.output); serverDone ||= r.done; }' +
  '  for (const b of toClient) { const r = client.push(b); toServer.push(...r.output); clientDone ||= r.done; }' +
  '}' +
  'let error; try { new h.HandshakeClient().push(new Uint8Array(1)); } catch (e) { error = e; }' +
  'console.log(clientDone, serverDone, server.kind, error instanceof h.HandshakeError, error.code);';

test('npm pack installs into an empty directory and works from import and require, with types', () => {
  const packed = installPacked(fileURLToPath(new URL('..', import.meta.url)));
  try {
    expect(packed.packages).toEqual(['@rtmp/handshake']);
    expect(packed.runCjs(`const h = require('@rtmp/handshake'); ${HANDSHAKE}`).trim()).toBe(
      'true true digest true ERR_HANDSHAKE_INVALID_STATE',
    );
    const esm = packed.runEsm(
      "import * as h from '@rtmp/handshake'; import { createRequire } from 'node:module';" +
        HANDSHAKE +
        // An error of the ESM copy is an instance for the CJS copy (dual package hazard).
        "const cjs = createRequire(process.cwd() + '/x.js')('@rtmp/handshake');" +
        'console.log(cjs.HandshakeError !== h.HandshakeError, error instanceof cjs.HandshakeError);',
    );
    expect(esm.trim()).toBe('true true digest true ERR_HANDSHAKE_INVALID_STATE\ntrue true');
    // A pure package: its declarations compile without @types/node.
    expect(
      packed.typeErrors({
        'esm.mts': [
          "import { HandshakeClient, HandshakeError, type HandshakeResult, HandshakeServer } from '@rtmp/handshake';",
          'const c1: Uint8Array = new HandshakeClient({ digest: false }).start();',
          'const result: HandshakeResult = new HandshakeServer().push(c1);',
          'const code = (e: unknown): string | undefined => (e instanceof HandshakeError ? e.code : undefined);',
          'export { result, code };',
        ].join('\n'),
        'cjs.cts': [
          "import handshake = require('@rtmp/handshake');",
          'const output: Uint8Array[] = new handshake.HandshakeServer().push(new Uint8Array(1537)).output;',
          'export = output;',
        ].join('\n'),
      }),
    ).toEqual([]);
  } finally {
    packed.remove();
  }
}, 120_000);
