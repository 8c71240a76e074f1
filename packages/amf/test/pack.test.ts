import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { packageRoot } from './helpers.js';

// The published shape: `pnpm pack`, install the tarball into an empty directory (offline: no dependencies), then use
// it from CommonJS, from ESM, and type-check both forms against the shipped declarations.
const work = mkdtempSync(path.join(tmpdir(), 'rtmp-amf-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

test('npm pack installs into an empty directory and works from import and require, with types', () => {
  // Normally built by turbo before tests; never rebuilt here, since other packages' tests may be reading dist/ now.
  if (!existsSync(path.join(packageRoot, 'dist/index.js'))) run('pnpm', ['run', 'build'], packageRoot);
  run('pnpm', ['pack', '--pack-destination', work], packageRoot);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  expect(tarball).toBeDefined();
  const app = path.join(work, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), '{ "name": "app", "private": true }\n');
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(work, tarball!)], app);

  const cjs = run(
    'node',
    [
      '-e',
      "const a = require('@rtmp/amf'); const b = a.encodeCommandPayload(['connect', 1, { app: 'live' }], 20);" +
        "const v = a.decodeCommandPayload(b, 20); if (v[2].app !== 'live') throw new Error('bad');" +
        'try { a.decodeAmf0(new Uint8Array([0x0a, 0xff])) } catch (e) { console.log(e instanceof a.AmfError, e.code) }',
    ],
    app,
  );
  expect(cjs.trim()).toBe('true ERR_AMF_TRUNCATED');
  const esm = run(
    'node',
    [
      '--input-type=module',
      '-e',
      "import { encodeAmf3, decodeAmf3, EcmaArray } from '@rtmp/amf'; import { createRequire } from 'node:module';" +
        "const cjs = createRequire(process.cwd() + '/x.js')('@rtmp/amf');" +
        'console.log(Buffer.from(encodeAmf3([{}])).toString("hex"), decodeAmf3(new Uint8Array([4, 5]))[0],' +
        // A wrapper made by the ESM copy is understood by the CJS copy (dual package hazard).
        " Buffer.from(cjs.encodeAmf0([new EcmaArray()])).toString('hex'));",
    ],
    app,
  );
  expect(esm.trim()).toBe('0a0b0101 5 0800000000000009');

  writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        noEmit: true,
        types: [],
      },
      files: ['esm.mts', 'cjs.cts'],
    }),
  );
  writeFileSync(
    path.join(app, 'esm.mts'),
    "import { decodeAmf0, type AmfValue, AmfError } from '@rtmp/amf';\nconst v: AmfValue[] = decodeAmf0(new Uint8Array([5]));\nconst c: string = new AmfError('ERR_AMF_TRUNCATED', 'x', { offset: 0 }).code;\nexport { v, c };\n",
  );
  writeFileSync(
    path.join(app, 'cjs.cts'),
    "import amf = require('@rtmp/amf');\nconst v: amf.AmfValue[] = amf.decodeAmf0(new Uint8Array([5]));\nexport = v;\n",
  );
  run(process.execPath, [path.join(packageRoot, '../../node_modules/typescript/bin/tsc'), '-p', app], app);
}, 60_000);
