// A separate entry (`@rtmp/testing/readme-test`) because it imports vitest: benchmarks import `@rtmp/testing` too.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { readmeErrorRows, readmeTypeErrors } from './readme.js';

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

/** The error classes a README documents: for each class name, its codes and a way to make an error of it. */
export type ErrorClasses = Record<
  string,
  { codes: readonly string[]; make: (code: string) => unknown; is: (value: unknown) => boolean }
>;

/**
 * Defines the tests "every error code is one row of the README's table": for each class, the table's codes are
 * exactly the class's code list (none missing, none extra, none twice), and every row names the class that really
 * carries its code (an error made with that code is an instance of the class, with that `name` and `code`).
 */
export function testReadmeErrorTable(testFileUrl: string, classes: ErrorClasses): void {
  const packageDir = fileURLToPath(new URL('..', testFileUrl));
  const rows = readmeErrorRows(packageDir);
  it('the README error table has one row per code of each class', () => {
    for (const [className, { codes }] of Object.entries(classes)) {
      const documented = rows.filter((row) => row.className === className).map((row) => row.code);
      expect(documented.toSorted(), className).toEqual([...codes].toSorted());
    }
    expect(rows.filter((row) => !Object.hasOwn(classes, row.className))).toEqual([]);
  });
  it.each(rows.map((row) => [row.code, row.className, row] as const))(
    'README row %s says %s, and that class carries it',
    (code, className, row) => {
      const { make, is } = classes[className]!;
      const error = make(code) as { name?: unknown; code?: unknown };
      expect(is(error), `README.md:${row.line}`).toBe(true);
      expect(error.name).toBe(className);
      expect(error.code).toBe(code);
      expect(row.meaning.length, `README.md:${row.line} has no meaning`).toBeGreaterThan(0);
    },
  );
}
