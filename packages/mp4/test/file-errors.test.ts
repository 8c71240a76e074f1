import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  fixture,
  hasFfmpegEncoder,
  MEDIA_FILES,
  type MediaFileName,
  makeMediaFile,
  run,
} from '@rtmp/testing';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { MP4_ERROR_CODES, Mp4Error, Mp4File, readMp4Tags } from '../src/index.js';
import { collect } from './helpers.js';

const usable = (name: MediaFileName) => MEDIA_FILES[name].encoders.every(hasFfmpegEncoder);
const dir = mkdtempSync(path.join(tmpdir(), 'mp4-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function code(error: unknown): string | undefined {
  return error instanceof Mp4Error ? error.code : (error as { code?: string }).code;
}

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('Mp4Error', () => {
  it('carries a stable code and is recognised across copies', () => {
    const error = new Mp4Error('ERR_MP4_CLOSED', 'x', { cause: 1 });
    expect(error).toMatchObject({ name: 'Mp4Error', code: 'ERR_MP4_CLOSED', cause: 1 });
    const foreign = Object.assign(Object.create(Error.prototype), { code: 'ERR_MP4_CLOSED' });
    Object.defineProperty(foreign, Symbol.for('@rtmp/mp4.Mp4Error'), { value: true });
    expect(foreign instanceof Mp4Error).toBe(true);
    expect(new Error('x') instanceof Mp4Error).toBe(false);
    expect(new Set(MP4_ERROR_CODES).size).toBe(MP4_ERROR_CODES.length);
  });
});

describe('files the reader refuses', () => {
  it('not an MP4 or MOV file: ERR_MP4_UNRECOGNIZED', async () => {
    for (const file of [fixture('small_h264_aac.flv'), fixture('small_h264_aac.packets.csv')]) {
      const error = await failure(() => Mp4File.open(file));
      expect(code(error), file).toBe('ERR_MP4_UNRECOGNIZED');
    }
  });

  it('a missing file: the file system error', async () => {
    expect(code(await failure(() => Mp4File.open(path.join(dir, 'nope.mp4'))))).toBe('ENOENT');
  });

  it('junk after an ftyp box: never anything but Mp4Error', async () => {
    const file = path.join(dir, 'junk.mp4');
    const junk = new Uint8Array(4096).map((_, i) => (i * 73 + 11) & 0xff);
    junk.set([0, 0, 0, 16, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0], 0);
    writeFileSync(file, junk);
    const error = await failure(() => collect(readMp4Tags(file)));
    expect(error).toBeInstanceOf(Mp4Error);
  });

  it.skipIf(!usable('mpeg4-only.mp4'))(
    'no supported track: ERR_MP4_NO_TRACKS, naming what it found',
    async () => {
      const error = await failure(async () => Mp4File.open(await makeMediaFile('mpeg4-only.mp4')));
      expect(code(error)).toBe('ERR_MP4_NO_TRACKS');
      expect((error as Error).message).toContain('video mp4v');
    },
  );

  it.skipIf(!usable('h264-mp3.mp4'))(
    'an unsupported track next to a supported one is skipped and listed',
    async () => {
      await using file = await Mp4File.open(await makeMediaFile('h264-mp3.mp4'));
      expect(file.info.audio).toBeNull();
      expect(file.info.skipped).toEqual([
        { kind: 'audio', codec: 'mp3', reason: 'audio codec mp3 is not supported' },
      ]);
      const tags = await collect(file.tags());
      expect(tags.filter((t) => t.type === 8)).toEqual([]);
      expect(tags.filter((t) => t.type === 9).length).toBe(26);
    },
  );

  it.skipIf(!usable('h264-aac.mp4'))(
    'a truncated file: ERR_MP4_INVALID_FILE at the first missing sample',
    async () => {
      // moov first (+faststart), then cut into mdat: the sample table lists samples the file no longer has.
      const file = path.join(dir, 'cut.mp4');
      const source = await makeMediaFile('h264-aac.mp4');
      const args = ['-v', 'error', '-y', '-i', source, '-c', 'copy', '-movflags', '+faststart', file];
      const made = await run('ffmpeg', args).done;
      expect(made.code, made.stderr).toBe(0);
      truncateSync(file, Math.floor(statSync(file).size * 0.6));
      const tags: unknown[] = [];
      const error = await failure(async () => {
        for await (const tag of readMp4Tags(file)) tags.push(tag);
      });
      expect(code(error)).toBe('ERR_MP4_INVALID_FILE');
      expect(tags.length).toBeGreaterThan(3);
    },
  );

  it.skipIf(!usable('h264-aac.mp4'))(
    'a sample above maxSampleSize: ERR_MP4_SAMPLE_TOO_LARGE before its bytes are read',
    async () => {
      const file = await makeMediaFile('h264-aac.mp4');
      const error = await failure(() => collect(readMp4Tags(file, { maxSampleSize: 1000 })));
      expect(code(error)).toBe('ERR_MP4_SAMPLE_TOO_LARGE');
    },
  );

  it.skipIf(!usable('h264-aac.mp4'))('bad options: ERR_MP4_INVALID_ARGUMENT', async () => {
    const file = await makeMediaFile('h264-aac.mp4');
    for (const options of [{ cacheBytes: 0 }, { maxSampleSize: -1 }, { cacheBytes: 1.5 }]) {
      expect(code(await failure(() => Mp4File.open(file, options)))).toBe('ERR_MP4_INVALID_ARGUMENT');
    }
    await using opened = await Mp4File.open(file);
    for (const start of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(code(await failure(() => collect(opened.tags({ start }))))).toBe('ERR_MP4_INVALID_ARGUMENT');
    }
  });

  it.skipIf(!usable('h264-aac.mp4'))('closing stops reads: ERR_MP4_CLOSED', async () => {
    const opened = await Mp4File.open(await makeMediaFile('h264-aac.mp4'));
    const iterator = opened.tags();
    await iterator.next();
    await iterator.next();
    opened.close();
    expect(opened.closed).toBe(true);
    const error = await failure(async () => {
      for (let r = await iterator.next(); !r.done; r = await iterator.next());
    });
    expect(code(error)).toBe('ERR_MP4_CLOSED');
    expect(code(await failure(() => collect(opened.tags())))).toBe('ERR_MP4_CLOSED');
    opened.close();
  });
});

describe('without mediabunny', () => {
  it('opening a file fails with ERR_MP4_READER_UNAVAILABLE', async () => {
    vi.resetModules();
    vi.doMock('mediabunny', () => {
      throw new Error("Cannot find package 'mediabunny'");
    });
    try {
      const fresh = await import('../src/index.js');
      const error = await failure(() => fresh.Mp4File.open(fixture('small_h264_aac.flv')));
      expect(code(error)).toBe('ERR_MP4_READER_UNAVAILABLE');
      expect((error as Error).message).toContain('npm install mediabunny');
      // The sniffer needs no mediabunny.
      expect(fresh.sniffContainer(Uint8Array.of(0x46, 0x4c, 0x56, 1))).toBe('flv');
    } finally {
      vi.doUnmock('mediabunny');
      vi.resetModules();
    }
  });
});
