import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { testReadmeErrorTable } from '@rtmp/testing/readme-test';
import { describe, expect, it } from 'vitest';
import type * as Restream from '../src/index.js';
import { RESTREAM_ERROR_CODES, RestreamError } from '../src/index.js';

/** The CommonJS build: a second copy of the class, as with two installed versions (built here when missing). */
function secondCopy(): typeof Restream {
  const packageDir = fileURLToPath(new URL('..', import.meta.url));
  if (!existsSync(`${packageDir}/dist/index.cjs`))
    execFileSync('pnpm', ['run', 'build'], { cwd: packageDir });
  return createRequire(import.meta.url)('../dist/index.cjs');
}

describe('RestreamError', () => {
  testReadmeErrorTable(import.meta.url, {
    RestreamError: {
      codes: RESTREAM_ERROR_CODES,
      make: (code) => new RestreamError(code as RestreamError['code'], 'x'),
      is: (value) => value instanceof RestreamError,
    },
  });

  it('carries its code, status and cause, and is recognised across two copies of the package', () => {
    const cause = new Error('boom');
    const e = new RestreamError('ERR_RESTREAM_WEBHOOK_REJECTED', 'x', { status: 503, cause });
    expect(e).toMatchObject({
      name: 'RestreamError',
      code: 'ERR_RESTREAM_WEBHOOK_REJECTED',
      status: 503,
      cause,
    });
    expect(new Error('x')).not.toBeInstanceOf(RestreamError);
    const copy = secondCopy();
    expect(copy.RestreamError).not.toBe(RestreamError);
    expect(new copy.RestreamError('ERR_RESTREAM_CLOSED', 'x')).toBeInstanceOf(RestreamError);
    expect(e).toBeInstanceOf(copy.RestreamError);
  });
});
