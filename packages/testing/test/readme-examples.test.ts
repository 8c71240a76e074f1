import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeTypeErrors, typescriptBlocks } from '../src/index.js';
import { testReadmeExamples } from '../src/readme-test.js';

testReadmeExamples(import.meta.url);

describe('the README example checker', () => {
  it('finds the ts blocks with their README lines and reports type errors at those lines', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-readme-'));
    try {
      writeFileSync(
        path.join(dir, 'package.json'),
        JSON.stringify({ name: 'readme-check-sample', type: 'module' }),
      );
      const readme = [
        '# sample',
        '```sh',
        'not code',
        '```',
        '```ts',
        'const ok: number = 1;',
        '```',
        'text',
        '```typescript',
        'const fine = 2;',
        "const bad: number = 'x';",
        '```',
      ].join('\n');
      writeFileSync(path.join(dir, 'README.md'), readme);
      expect(typescriptBlocks(readme)).toEqual([
        { code: 'const ok: number = 1;', line: 6 },
        { code: "const fine = 2;\nconst bad: number = 'x';", line: 10 },
      ]);
      expect(readmeTypeErrors(dir)).toEqual([
        "README.md:11: Type 'string' is not assignable to type 'number'.",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
