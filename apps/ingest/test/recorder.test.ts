import { readFileSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, hasTool, parseFlvTags, probeFrames } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { FlvRecorder, recordingFileName } from '../src/recorder.js';

describe('recordingFileName', () => {
  it('uses key and UTC start time, and is safe on disk', () => {
    const d = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(recordingFileName('test', d)).toBe('test-20240102-030405.flv');
    expect(recordingFileName('../../etc/passwd', d)).toBe('__.._etc_passwd-20240102-030405.flv');
    expect(recordingFileName('', d)).toBe('stream-20240102-030405.flv');
  });
});

describe('FlvRecorder and @setDataFrame', () => {
  it('records metadata without the wrapper and keeps other data untouched', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ingest-rec-'));
    const rec = FlvRecorder.create(dir, 'meta');
    const wrapped = Buffer.concat([
      Buffer.from([2, 0, 13]),
      Buffer.from('@setDataFrame'),
      Buffer.from([2, 0, 1, 65]),
    ]);
    const bare = Buffer.from([2, 0, 10, 1, 2, 3]);
    rec.write(18, 0, wrapped);
    rec.write(18, 0, bare);
    await rec.close();
    const back = parseFlvTags(readFileSync(rec.path));
    expect(back.map((t) => Buffer.from(t.body))).toEqual([Buffer.from([2, 0, 1, 65]), bare]);
  });
});

describe('FlvRecorder', () => {
  it('rewrites a real FLV tag by tag into a file ffprobe accepts with every frame', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ingest-rec-'));
    const src = readFileSync(join(FIXTURES, 'small_h264_aac.flv'));
    const tags = parseFlvTags(src);
    const start = new Date(Date.UTC(2024, 5, 1, 12, 0, 0));
    const rec = FlvRecorder.create(dir, 'fixture', start);
    // A second publish of the same key in the same second must not overwrite the first.
    const rec2 = FlvRecorder.create(dir, 'fixture', start);
    await rec2.close();
    for (const t of tags) rec.write(t.type as 8 | 9 | 18, t.timestamp + 5000, t.body);
    await rec.close();
    await rec.close();
    expect(rec.error).toBeNull();
    expect((await readdir(dir)).sort()).toEqual([
      'fixture-20240601-120000-1.flv',
      'fixture-20240601-120000.flv',
    ]);
    const out = readFileSync(rec.path);
    const back = parseFlvTags(out);
    expect(back).toHaveLength(tags.length);
    expect(back[0]!.timestamp).toBe(0);
    expect(back.map((t) => t.body.length)).toEqual(tags.map((t) => t.body.length));
    expect(rec.bytes).toBe(out.length);
    if (hasTool('ffprobe')) {
      const csv = readFileSync(join(FIXTURES, 'small_h264_aac.packets.csv'), 'utf8').trim().split('\n');
      const p = probeFrames(rec.path);
      expect(p.stderr).toBe('');
      expect(p.video).toBe(csv.filter((l) => l.startsWith('video')).length);
      expect(p.audio).toBe(csv.filter((l) => l.startsWith('audio')).length);
    }
  });

  it('writes more than IOV_MAX pieces queued in one turn', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ingest-rec-'));
    const rec = FlvRecorder.create(dir, 'many');
    for (let i = 0; i < 2000; i++) rec.write(8, i * 23, Uint8Array.of(0xaf, 1, i & 0xff, i >> 8));
    await rec.close();
    const back = parseFlvTags(readFileSync(rec.path));
    expect(back).toHaveLength(2000);
    expect(back.map((t) => t.body[2]! | (t.body[3]! << 8))).toEqual(
      Array.from({ length: 2000 }, (_, i) => i),
    );
    expect(back[1999]!.timestamp).toBe(1999 * 23);
  });

  it('ignores writes after close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ingest-rec-'));
    const rec = FlvRecorder.create(dir, 'k');
    await rec.close();
    rec.write(9, 0, new Uint8Array(10));
    expect(rec.tags).toBe(0);
  });
});
