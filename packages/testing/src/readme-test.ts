// A separate entry (`@rtmp/testing/readme-test`) because it imports vitest: benchmarks import `@rtmp/testing` too.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { readmeTypeErrors } from './readme.js';

/**
 * Defines the test "every TypeScript example in the README compiles" for the package of the calling test file
 * (`testFileUrl` is its `import.meta.url`, in `<package>/test/`).
 */
export function testReadmeExamples(testFileUrl: string): void {
  const packageDir = fileURLToPath(new URL('..', testFileUrl));
  it('every TypeScript example in the README compiles', () => {
    expect(readmeTypeErrors(packageDir)).toEqual([]);
  }, 60_000);
}
