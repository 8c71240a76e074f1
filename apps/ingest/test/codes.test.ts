import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INGEST_CODES } from '../src/codes.js';
import { APP_DIR } from './helpers.js';

describe('INGEST_CODES', () => {
  it('are all documented in the README', () => {
    const readme = readFileSync(join(APP_DIR, 'README.md'), 'utf8');
    for (const code of INGEST_CODES) expect(readme, code).toContain(`\`${code}\``);
  });
});
