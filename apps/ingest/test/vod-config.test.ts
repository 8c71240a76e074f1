import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'vod-config-'));
writeFileSync(join(dir, 'file.txt'), 'x');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errors(argv: string[]): readonly string[] {
  try {
    loadConfig(argv, {}, dir);
  } catch (error) {
    if (error instanceof ConfigError) return error.messages;
    throw error;
  }
  return [];
}

it('--vod-dir is a folder, resolved against the working directory; off by default', () => {
  const action = loadConfig(['--vod-dir', '.'], {}, dir);
  expect(action.kind === 'run' && action.config.vodDir).toBe(dir);
  const none = loadConfig([], {}, dir);
  expect(none.kind === 'run' && none.config.vodDir).toBeNull();
  const env = loadConfig([], { RTMP_INGEST_VOD_DIR: dir }, dir);
  expect(env.kind === 'run' && env.config.vodDir).toBe(dir);
});

it('refuses a --vod-dir that is not a folder, and --apps vod beside it', () => {
  expect(errors(['--vod-dir', 'missing'])).toEqual([`--vod-dir: ${join(dir, 'missing')} is not a folder`]);
  expect(errors(['--vod-dir', 'file.txt'])).toEqual([`--vod-dir: ${join(dir, 'file.txt')} is not a folder`]);
  expect(errors(['--vod-dir', '.', '--apps', 'live,vod'])).toEqual([
    '--apps must not include "vod" with --vod-dir (it serves that app)',
  ]);
});
