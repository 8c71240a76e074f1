import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ffmpegPublish,
  fixture,
  hasTool,
  parseFlvTags,
  probeFrames,
  probePackets,
  readFixture,
  readOracle,
  run,
  waitFor,
} from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { createRecorder, Mp4Recorder, SegmentedFlvRecorder } from '../src/recorder-mp4.js';
import { startApp } from './helpers.js';

const tools = hasTool('ffmpeg') && hasTool('ffprobe');
const oracle = readOracle('small_h264_aac.packets.csv');
const expected = (type: 'video' | 'audio') =>
  oracle.filter((p) => p.type === type).map(({ dts, pts, size, keyframe }) => ({ dts, pts, size, keyframe }));

type Row = { dts: number; pts: number; size: number; keyframe: boolean };

/** ffprobe's packets of one type in ms (each stream's time base is 1/90000 video, 1/44100 audio here). */
async function rows(file: string, type: 'video' | 'audio'): Promise<Row[]> {
  const r = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_type,time_base',
    '-of',
    'json',
    file,
  ]).done;
  const streams = (JSON.parse(r.stdout) as { streams: { codec_type: string; time_base: string }[] }).streams;
  const base = streams.find((s) => s.codec_type === type)?.time_base ?? '1/1000';
  const perMs = Number(base.split('/')[1]) / Number(base.split('/')[0]) / 1000;
  return (await probePackets(file))
    .filter((p) => p.codec_type === type)
    .map((p) => ({
      dts: Math.round(p.dts / perMs),
      pts: Math.round(p.pts / perMs),
      size: p.size,
      keyframe: p.flags.startsWith('K'),
    }));
}

/** The recording files in `dir`, in the order they were made: by start time, then by `-1`, `-2`... suffix. */
async function filesIn(dir: string, ext: string): Promise<string[]> {
  const order = (name: string): [string, number] => {
    const m = /^(.*-\d{8}-\d{6})(?:-(\d+))?\.\w+$/.exec(name);
    return [m?.[1] ?? name, Number(m?.[2] ?? 0)];
  };
  return readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort((a, b) => {
      const [sa, na] = order(a);
      const [sb, nb] = order(b);
      return sa < sb ? -1 : sa > sb ? 1 : na - nb;
    })
    .map((f) => join(dir, f));
}

describe('--record-format and --record-segment', () => {
  const config = (argv: string[]) => {
    const action = loadConfig(argv, {}, tmpdir());
    if (action.kind !== 'run') throw new Error('not a run');
    return action.config;
  };
  it('default to FLV in one file; take mp4 and seconds; refuse anything else', () => {
    expect(config([])).toMatchObject({ recordFormat: 'flv', recordSegmentSec: 0 });
    expect(config(['--record-format', 'mp4', '--record-segment', '600'])).toMatchObject({
      recordFormat: 'mp4',
      recordSegmentSec: 600,
    });
    expect(() => config(['--record-format', 'mkv'])).toThrow(ConfigError);
    expect(() => config(['--record-format', 'mkv'])).toThrow('--record-format: "mkv" is not one of flv, mp4');
    expect(() => config(['--record-segment', '-1'])).toThrow(ConfigError);
  });
});

describe('the MP4 recorder in process', () => {
  const tags = parseFlvTags(readFixture('small_h264_aac.flv'));

  it.skipIf(!tools)(
    'writes every message of a publish into one fragmented MP4 that ffprobe reads exactly',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ingest-mp4-'));
      const rec = createRecorder(dir, 'x', { format: 'mp4', segmentSec: 0 });
      expect(rec).toBeInstanceOf(Mp4Recorder);
      for (const t of tags) rec.write(t.type as 8 | 9 | 18, t.timestamp, t.body);
      await rec.close();
      await rec.close();
      expect(rec.error).toBeNull();
      expect(await filesIn(dir, '.mp4')).toEqual([rec.path]);
      expect(rec.bytes).toBe(readFileSync(rec.path).length);
      expect(await rows(rec.path, 'video')).toEqual(expected('video'));
      expect(await rows(rec.path, 'audio')).toEqual(expected('audio'));
      expect(probeFrames(rec.path).stderr).toBe('');
    },
  );

  it.skipIf(!tools)(
    '--record-segment: MP4 and FLV files that each start at a keyframe and add up to the publish',
    async () => {
      for (const format of ['mp4', 'flv'] as const) {
        const dir = await mkdtemp(join(tmpdir(), `ingest-seg-${format}-`));
        const rec = createRecorder(dir, 'x', { format, segmentSec: 1 });
        expect(rec).toBeInstanceOf(format === 'mp4' ? Mp4Recorder : SegmentedFlvRecorder);
        for (const t of tags) rec.write(t.type as 8 | 9 | 18, t.timestamp + 1000, t.body);
        await rec.close();
        expect(rec.error).toBeNull();
        // The GOP is 2 s: the first keyframe at or after 1 s is at 2 s, so 2 files.
        const files = await filesIn(dir, `.${format}`);
        expect(files).toHaveLength(2);
        const all = { video: [] as Row[], audio: [] as Row[] };
        for (const file of files) {
          const v = await rows(file, 'video');
          expect(v[0]!.keyframe).toBe(true);
          all.video.push(...v);
          all.audio.push(...(await rows(file, 'audio')));
          expect(probeFrames(file).stderr).toBe('');
        }
        if (format === 'mp4') {
          // One timeline across the files: the same samples as the oracle.
          expect(all.video).toEqual(expected('video'));
          expect(all.audio).toEqual(expected('audio'));
        } else {
          // Each FLV file starts at 0: the same samples by size and keyframe flag.
          const strip = (r: Row[]) => r.map(({ size, keyframe }) => ({ size, keyframe }));
          expect(strip(all.video)).toEqual(strip(expected('video')));
          expect(strip(all.audio)).toEqual(strip(expected('audio')));
        }
      }
    },
  );
});

describe.skipIf(!tools)('recording to MP4 with FFmpeg publishing to the built app', () => {
  it('every published frame is in the recording, finalized on unpublish', async () => {
    const recordDir = await mkdtemp(join(tmpdir(), 'ingest-mp4-e2e-'));
    const app = await startApp(['--record-dir', recordDir, '--record-format', 'mp4']);
    try {
      const r = await ffmpegPublish(fixture('small_h264_aac.flv'), `${app.url}/movie`).done;
      expect(r.code, r.stderr).toBe(0);
      await waitFor(() => (app.logs.some((l) => l.msg === 'recording finalized') ? true : undefined), 10_000);
      const files = await filesIn(recordDir, '.mp4');
      expect(files).toHaveLength(1);
      expect(await rows(files[0]!, 'video')).toEqual(expected('video'));
      expect(await rows(files[0]!, 'audio')).toEqual(expected('audio'));
      expect(probeFrames(files[0]!).stderr).toBe('');
    } finally {
      await app.stop();
    }
  });

  it('--record-segment 1 makes several files whose samples add up to the publish', async () => {
    const recordDir = await mkdtemp(join(tmpdir(), 'ingest-mp4-seg-'));
    const app = await startApp([
      '--record-dir',
      recordDir,
      '--record-format',
      'mp4',
      '--record-segment',
      '1',
    ]);
    try {
      const r = await ffmpegPublish(fixture('small_h264_aac.flv'), `${app.url}/seg`).done;
      expect(r.code, r.stderr).toBe(0);
      await waitFor(() => (app.logs.some((l) => l.msg === 'recording finalized') ? true : undefined), 10_000);
      const files = await filesIn(recordDir, '.mp4');
      expect(files.length).toBeGreaterThanOrEqual(2);
      const video: Row[] = [];
      const audio: Row[] = [];
      for (const f of files) {
        video.push(...(await rows(f, 'video')));
        audio.push(...(await rows(f, 'audio')));
      }
      expect(video).toEqual(expected('video'));
      expect(audio).toEqual(expected('audio'));
    } finally {
      await app.stop();
    }
  });

  it('after kill -9 of the server mid-recording, ffprobe reads every sample up to the last complete fragment', async () => {
    const recordDir = await mkdtemp(join(tmpdir(), 'ingest-mp4-kill-'));
    const app = await startApp(['--record-dir', recordDir, '--record-format', 'mp4']);
    const pub = ffmpegPublish(fixture('small_h264_aac.flv'), `${app.url}/kill`, { realtime: true });
    let received = 0;
    try {
      // 2.6 s of the 4 s stream in: the first GOP (2 s) is a complete fragment, the second is under way.
      received = await waitFor(async () => {
        const s = (await app.api()).streams.find((x) => x.key === 'kill');
        const frames = (s?.video as { frames: number } | undefined)?.frames ?? 0;
        return frames >= 65 ? frames : undefined;
      }, 15_000);
      app.proc.kill('SIGKILL');
      expect((await app.exited).signal).toBe('SIGKILL');
    } finally {
      pub.child.kill('SIGKILL');
      await app.stop();
    }
    const files = await filesIn(recordDir, '.mp4');
    expect(files).toHaveLength(1);
    const video = await rows(files[0]!, 'video');
    const audio = await rows(files[0]!, 'audio');
    // What the file holds is exactly the start of what was published, sample for sample...
    expect(video).toEqual(expected('video').slice(0, video.length));
    expect(audio).toEqual(expected('audio').slice(0, audio.length));
    // ...and reaches the last complete fragment: fragments are cut at each keyframe and every second, so at most
    // the last second (25 frames) and the sample waiting for its successor are missing.
    expect(video.length).toBeGreaterThanOrEqual(50);
    expect(video.length).toBeLessThanOrEqual(received);
    expect(received - video.length).toBeLessThanOrEqual(26);
    const decoded = probeFrames(files[0]!);
    expect(decoded.stderr).toBe('');
    expect(decoded.video).toBe(video.length);
  });
});
