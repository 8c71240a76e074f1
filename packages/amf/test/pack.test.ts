import { installPacked } from '@rtmp/testing';
import { expect, test } from 'vitest';
import { packageRoot } from './helpers.js';

// The published shape: `pnpm pack`, install the tarball into an empty directory (offline: no dependencies), then use
// it from CommonJS, from ESM, and type-check both forms against the shipped declarations.
test('npm pack installs into an empty directory and works from import and require, with types', () => {
  const packed = installPacked(packageRoot);
  try {
    expect(packed.packages).toEqual(['@rtmp/amf']);
    const cjs = packed.runCjs(
      "const a = require('@rtmp/amf'); const b = a.encodeCommandPayload(['connect', 1, { app: 'live' }], 20);" +
        "const v = a.decodeCommandPayload(b, 20); if (v[2].app !== 'live') throw new Error('bad');" +
        'try { a.decodeAmf0(new Uint8Array([0x0a, 0xff])) } catch (e) { console.log(e instanceof a.AmfError, e.code) }',
    );
    expect(cjs.trim()).toBe('true ERR_AMF_TRUNCATED');
    const esm = packed.runEsm(
      "import { encodeAmf3, decodeAmf3, EcmaArray } from '@rtmp/amf'; import { createRequire } from 'node:module';" +
        "const cjs = createRequire(process.cwd() + '/x.js')('@rtmp/amf');" +
        'console.log(Buffer.from(encodeAmf3([{}])).toString("hex"), decodeAmf3(new Uint8Array([4, 5]))[0],' +
        // A wrapper made by the ESM copy is understood by the CJS copy (dual package hazard).
        " Buffer.from(cjs.encodeAmf0([new EcmaArray()])).toString('hex'));",
    );
    expect(esm.trim()).toBe('0a0b0101 5 0800000000000009');
    // A pure package: its declarations compile without @types/node.
    expect(
      packed.typeErrors({
        'esm.mts':
          "import { decodeAmf0, type AmfValue, AmfError } from '@rtmp/amf';\nconst v: AmfValue[] = decodeAmf0(new Uint8Array([5]));\nconst c: string = new AmfError('ERR_AMF_TRUNCATED', 'x', { offset: 0 }).code;\nexport { v, c };\n",
        'cjs.cts':
          "import amf = require('@rtmp/amf');\nconst v: amf.AmfValue[] = amf.decodeAmf0(new Uint8Array([5]));\nexport = v;\n",
      }),
    ).toEqual([]);
  } finally {
    packed.remove();
  }
}, 60_000);
