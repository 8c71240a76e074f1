import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FLV_ERROR_CODES, FlvError } from '../src/index.js';

describe('error codes', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

  it.each(FLV_ERROR_CODES)('%s is documented in the README', (code) => {
    expect(readme).toContain(`\`${code}\``);
  });

  it('FlvError carries code and offset, and instanceof works across copies', () => {
    const e = new FlvError('ERR_FLV_TRUNCATED', 'x', { offset: 3 });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code: 'ERR_FLV_TRUNCATED', offset: 3, name: 'FlvError' });
    const foreign = Object.create(Object.getPrototypeOf(e));
    expect(foreign instanceof FlvError).toBe(true);
    expect(new Error('x') instanceof FlvError).toBe(false);
  });
});
