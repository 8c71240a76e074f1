import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { testReadmeErrorTable } from '@rtmp/testing/readme-test';
import { describe, expect, it } from 'vitest';
import type * as Server from '../src/index.js';
import { RtmpError, ServerErrorCodes } from '../src/index.js';

/**
 * A real second copy of this package beside the ESM sources under test: its CommonJS build, which loads the CommonJS
 * build of @rtmp/connection, so its RtmpError is another class object than the one the sources import (the dual
 * package hazard, or two installed versions). Built by turbo before the tests; built here when `vitest` runs alone.
 */
function secondCopy(): typeof Server {
  const packageDir = fileURLToPath(new URL('..', import.meta.url));
  if (!existsSync(`${packageDir}/dist/index.cjs`))
    execFileSync('pnpm', ['run', 'build'], { cwd: packageDir });
  return createRequire(import.meta.url)('../dist/index.cjs');
}

describe('RtmpError', () => {
  testReadmeErrorTable(import.meta.url, {
    RtmpError: {
      codes: ServerErrorCodes,
      make: (code) => new RtmpError(code as RtmpError['code'], 'x'),
      is: (value) => value instanceof RtmpError,
    },
  });

  it('recognises instances structurally (a second installed copy)', () => {
    const e = new RtmpError('ERR_RTMP_CLOSED', 'x');
    expect(e).toBeInstanceOf(RtmpError);
    expect(e.code).toBe('ERR_RTMP_CLOSED');
    expect(new Error('x')).not.toBeInstanceOf(RtmpError);

    const copy = secondCopy();
    expect(copy.RtmpError).not.toBe(RtmpError);
    // An error thrown by the other copy's own code is an RtmpError here, and one made here is one there.
    let thrown: unknown;
    try {
      new copy.RtmpServer({ handler: () => ({}), maxTotalBufferedBytes: 0 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RtmpError);
    expect(thrown).toMatchObject({ code: 'ERR_RTMP_INVALID_OPTION' });
    expect(e).toBeInstanceOf(copy.RtmpError);
    // The brand decides, not the shape: a look-alike is not one.
    expect(Object.assign(new Error('x'), { name: 'RtmpError', code: 'ERR_RTMP_CLOSED' })).not.toBeInstanceOf(
      RtmpError,
    );
  });
});
