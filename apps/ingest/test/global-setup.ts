import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { APP_DIR, CLI } from './helpers.js';

/** The real-peer tests run the BUILT app: rebuild it when dist is missing or older than src. */
export default function setup(): void {
  const src = join(APP_DIR, 'src');
  const newest = Math.max(...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs));
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newest) return;
  execFileSync('pnpm', ['run', 'build'], { cwd: APP_DIR, stdio: 'inherit' });
}
