import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// What a published package ships: its dist/ folder, built by turbo before any test runs (tests never rebuild it,
// since other packages' tests may be reading it at the same moment).

function distDir(testFileUrl: string): string {
  const dir = fileURLToPath(new URL('../dist/', testFileUrl));
  if (!existsSync(path.join(dir, 'index.js')) || !existsSync(path.join(dir, 'index.cjs'))) {
    throw new Error(`${dir} has no index.js and index.cjs: build the package first (pnpm turbo run build)`);
  }
  return dir;
}

/**
 * The ESM and the CommonJS build of the package of the calling test file (`testFileUrl` is its `import.meta.url`,
 * in `<package>/test/`): two real copies of the module, each with its own classes, as two installed versions of the
 * package would be. `T` is the module's type (`typeof import('../src/index.js')`).
 */
export async function distBuilds<T>(testFileUrl: string): Promise<{ esm: T; cjs: T }> {
  const dir = distDir(testFileUrl);
  const esm: T = await import(pathToFileURL(path.join(dir, 'index.js')).href);
  const cjs: T = createRequire(testFileUrl)(path.join(dir, 'index.cjs'));
  return { esm, cjs };
}

/**
 * Every line of the package's shipped declarations (`dist/*.d.ts`, `dist/*.d.cts`) that carries an `@internal` tag, as
 * `file:line: text` (throws when there is no declaration file to read). A published declaration file is the package's public API: a member marked `@internal` in it is
 * public all the same, so such a member has to be module-private or not exported instead.
 */
export function internalMarkers(testFileUrl: string): string[] {
  const dir = distDir(testFileUrl);
  const files = readdirSync(dir).filter((name) => name.endsWith('.d.ts') || name.endsWith('.d.cts'));
  if (files.length === 0) throw new Error(`${dir} has no declaration files`);
  const found: string[] = [];
  for (const name of files.sort()) {
    const lines = readFileSync(path.join(dir, name), 'utf8').split('\n');
    lines.forEach((line, index) => {
      if (line.includes('@internal')) found.push(`${name}:${index + 1}: ${line.trim()}`);
    });
  }
  return found;
}
