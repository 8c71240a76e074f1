// The repository's changesets must make a release: `changeset version` and `changeset status` refuse the whole set
// when one file is wrong, e.g. names an ignored package (the apps, bench, testing, e2e) beside a published one.
// Checked with changesets' own release planning, which reads the files only: `changeset status` also diffs against
// the `main` branch, so it fails in a fresh clone or a CI checkout that has no such branch.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import getReleasePlan from '@changesets/get-release-plan';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CONFIG = readFileSync(path.join(ROOT, '.changeset/config.json'), 'utf8');
const IGNORED: string[] = JSON.parse(CONFIG).ignore;

describe('changesets', () => {
  it('the repository changesets make a release plan (none mixes ignored and published packages)', async () => {
    const plan = await getReleasePlan(ROOT);
    expect(plan.changesets.length).toBeGreaterThan(0);
    // Ignored packages are never released.
    expect(plan.releases.filter((r) => IGNORED.includes(r.name) && r.type !== 'none')).toEqual([]);
  });

  it('a changeset naming an ignored package beside a published one is refused', async () => {
    expect(IGNORED).toContain('@rtmp/ingest');
    const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-changesets-'));
    try {
      // A workspace with the repository's changeset config, its ignored packages and one published package.
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'root', private: true }));
      writeFileSync(path.join(dir, 'pnpm-workspace.yaml'), "packages:\n  - 'p/*'\n");
      for (const [i, name] of [...IGNORED, '@rtmp/server'].entries()) {
        mkdirSync(path.join(dir, 'p', String(i)), { recursive: true });
        writeFileSync(
          path.join(dir, 'p', String(i), 'package.json'),
          JSON.stringify({ name, version: '0.0.0' }),
        );
      }
      mkdirSync(path.join(dir, '.changeset'));
      writeFileSync(path.join(dir, '.changeset/config.json'), CONFIG);
      writeFileSync(
        path.join(dir, '.changeset/mixed.md'),
        '---\n"@rtmp/server": patch\n"@rtmp/ingest": patch\n---\n\nBoth.\n',
      );
      await expect(getReleasePlan(dir)).rejects.toThrow(/mixed changeset mixed/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
