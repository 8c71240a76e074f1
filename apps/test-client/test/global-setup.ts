import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(fileURLToPath(import.meta.url), '../..');

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

/** Builds the CLI when dist/cli.js is missing or older than its sources, so `vitest` alone works. */
export default function setup(): void {
  const cli = path.join(root, 'dist/cli.js');
  if (existsSync(cli) && statSync(cli).mtimeMs >= newest(path.join(root, 'src'))) return;
  execFileSync('pnpm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
}
