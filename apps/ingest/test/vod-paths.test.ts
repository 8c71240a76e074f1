import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { candidates, checkRelative, isVodApp, lookup, realRoot } from '../src/vod/paths.js';

describe('VOD names', () => {
  it('are the vod app and its folders', () => {
    expect(['vod', 'vod/sub', 'vod/a/b'].map(isVodApp)).toEqual([true, true, true]);
    expect(['live', 'vodka', 'vod?x', ''].map(isVodApp)).toEqual([false, false, false, false]);
  });

  it('map what FFmpeg and librtmp send to candidate files', () => {
    // FFmpeg: mp4: prefix kept with the extension; librtmp drops the extension; FFmpeg drops .flv.
    expect(candidates('vod', 'mp4:movie.mp4')).toEqual(['movie.mp4']);
    expect(candidates('vod', 'mp4:movie')).toEqual([
      'movie',
      'movie.mp4',
      'movie.m4v',
      'movie.mov',
      'movie.f4v',
    ]);
    expect(candidates('vod/sub', 'clip')).toEqual([
      'sub/clip',
      'sub/clip.flv',
      'sub/clip.mp4',
      'sub/clip.mov',
      'sub/clip.m4v',
      'sub/clip.f4v',
    ]);
    expect(candidates('vod', 'a%20b.mp4')).toEqual(['a%20b.mp4', 'a b.mp4']);
    expect(candidates('vod', 'x.mov')).toEqual(['x.mov']);
    expect(candidates('vod', 'bad%zz.mp4')).toEqual(['bad%zz.mp4']);
  });

  it('stay inside the folder', () => {
    expect(checkRelative('a/b.mp4')).toBeUndefined();
    expect(checkRelative('a..b/c.flv')).toBeUndefined();
    expect(checkRelative('../x')).toBe('".." in the path');
    expect(checkRelative('a/../../x')).toBe('".." in the path');
    expect(checkRelative('/etc/passwd')).toBe('absolute path');
    expect(checkRelative('C:/x')).toBe('absolute path');
    expect(checkRelative('a\\..\\x')).toBe('backslash in the name');
    expect(checkRelative('a\0b')).toBe('NUL in the name');
    expect(checkRelative('a/')).toBe('no file name');
  });
});

describe('lookup', () => {
  const base = mkdtempSync(join(tmpdir(), 'vod-paths-'));
  mkdirSync(join(base, 'root', 'sub'), { recursive: true });
  writeFileSync(join(base, 'root', 'sub', 'clip.flv'), 'x');
  writeFileSync(join(base, 'secret.flv'), 'x');
  symlinkSync(join(base, 'secret.flv'), join(base, 'root', 'out.flv'));
  symlinkSync(join(base, 'root', 'sub', 'clip.flv'), join(base, 'root', 'in.flv'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('finds files by any name form, refuses links out, reports missing files', async () => {
    const root = await realRoot(join(base, 'root'));
    expect(await lookup(root, 'vod/sub', 'clip')).toEqual({ file: join(root, 'sub', 'clip.flv') });
    expect(await lookup(root, 'vod', 'flv:sub/clip')).toEqual({ file: join(root, 'sub', 'clip.flv') });
    expect(await lookup(root, 'vod', 'in.flv')).toEqual({ file: join(root, 'sub', 'clip.flv') });
    expect(await lookup(root, 'vod', 'out.flv')).toEqual({
      refused: 'a symbolic link that leads outside the folder',
    });
    expect(await lookup(root, 'vod', '%2e%2e/secret.flv')).toEqual({ refused: '".." in the path' });
    expect(await lookup(root, 'vod/..', 'secret.flv')).toEqual({ refused: '".." in the path' });
    expect(await lookup(root, 'vod', 'sub')).toEqual({ missing: true });
    expect(await lookup(root, 'vod', 'none.mp4')).toEqual({ missing: true });
  });
});
