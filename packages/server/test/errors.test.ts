import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RtmpError, RtmpErrorCodes } from '../src/index.js';

describe('RtmpError', () => {
  it('documents every code in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of RtmpErrorCodes) expect(readme, code).toContain(`\`${code}\``);
  });

  it('recognises instances structurally (a second installed copy)', () => {
    const e = new RtmpError('ERR_RTMP_CLOSED', 'x');
    expect(e).toBeInstanceOf(RtmpError);
    expect(e.code).toBe('ERR_RTMP_CLOSED');
    expect(new Error('x')).not.toBeInstanceOf(RtmpError);
  });
});
