import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect, test } from 'vitest';
import { AMF_ERROR_CODES } from '../src/index.js';
import { packageRoot } from './helpers.js';

const readme = readFileSync(path.join(packageRoot, 'README.md'), 'utf8');

test('every error code is documented in the README', () => {
  for (const code of AMF_ERROR_CODES) expect(readme, code).toContain(`| \`${code}\` |`);
});

test('the README documents no code that does not exist', () => {
  const documented = [...readme.matchAll(/\| `(ERR_AMF_[A-Z0-9_]+)` \|/g)].map((m) => m[1]);
  expect(new Set(documented)).toEqual(new Set(AMF_ERROR_CODES));
});

test('the README example runs as documented', async () => {
  const { decodeCommandPayload, EcmaArray, encodeCommandPayload, AmfError } = await import('../src/index.js');
  const payload = encodeCommandPayload(
    ['connect', 1, { app: 'live', type: 'nonprivate', flashVer: 'FMLE/3.0', tcUrl: 'rtmp://host/live' }],
    20,
  );
  const [name, transactionId, command] = decodeCommandPayload(payload, 20);
  expect([name, transactionId, (command as Record<string, unknown>).app]).toEqual(['connect', 1, 'live']);
  const meta = encodeCommandPayload(['onMetaData', new EcmaArray({ width: 1920, height: 1080 })], 18);
  try {
    decodeCommandPayload(meta.subarray(0, 10), 18);
    expect.unreachable();
  } catch (e) {
    expect(e).toBeInstanceOf(AmfError);
    const err = e as InstanceType<typeof AmfError>;
    expect(`${err.code} ${err.offset}`).toBe(
      readme.match(/console\.log\(e\.code, e\.offset\); \/\/ (\S+ \d+)/)?.[1],
    );
  }
});
