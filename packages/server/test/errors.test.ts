import { testReadmeErrorTable } from '@rtmp/testing/readme-test';
import { describe, expect, it } from 'vitest';
import { RtmpError, ServerErrorCodes } from '../src/index.js';

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
  });
});
