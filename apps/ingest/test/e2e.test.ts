import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegTestPatternArgs, hasTool, probeFrames, run, sleep, waitFor } from '@rtmp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, startApp } from './helpers.js';

const tools = hasTool('ffmpeg') && hasTool('ffprobe') && hasTool('rtmpdump');

function lastFrameCount(ffmpegStderr: string): number {
  const all = [...ffmpegStderr.matchAll(/frame=\s*(\d+)/g)];
  return Number(all.at(-1)?.[1] ?? -1);
}

describe.skipIf(!tools)('ingest app with real peers', () => {
  let app: RunningApp;
  let recordDir: string;
  let outDir: string;

  beforeAll(async () => {
    recordDir = await mkdtemp(join(tmpdir(), 'ingest-rec-'));
    outDir = await mkdtemp(join(tmpdir(), 'ingest-out-'));
    app = await startApp(['--record-dir', recordDir]);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('FFmpeg publishes, the API reports codecs and resolution, FFmpeg and rtmpdump play, the recording is complete', async () => {
    const pub = run('ffmpeg', ffmpegTestPatternArgs(`${app.url}/test`, 4), 30_000);
    const entry = await waitFor(async () => {
      const s = (await app.api()).streams.find((x) => x.key === 'test');
      return s !== undefined && (s.codecs as string[]).length === 2 && s.resolution !== null ? s : undefined;
    }, 10_000);
    const codecs = entry.codecs as string[];
    expect(codecs[0]).toMatch(/^avc1\.[0-9a-fA-F]{6}$/);
    expect(codecs[1]).toBe('mp4a.40.2');
    expect(entry.resolution).toBe('320x240');
    expect(entry.app).toBe('live');

    const ffplayOut = join(outDir, 'ffmpeg-play.flv');
    const rtmpdumpOut = join(outDir, 'rtmpdump.flv');
    const player = run(
      'ffmpeg',
      ['-hide_banner', '-nostdin', '-y', '-i', `${app.url}/test`, '-c', 'copy', ffplayOut],
      20_000,
    );
    const dumper = run('rtmpdump', ['-r', `${app.url}/test`, '-o', rtmpdumpOut, '--live', '-V'], 20_000);

    const withPlayers = await waitFor(async () => {
      const s = (await app.api()).streams.find((x) => x.key === 'test');
      const frames = (s?.video as { frames: number } | undefined)?.frames ?? 0;
      return s !== undefined && (s.players as number) >= 2 && frames >= 30 ? s : undefined;
    }, 8_000);
    expect(withPlayers.fps).toBeCloseTo(25, 0);
    expect(withPlayers.bitrate as number).toBeGreaterThan(0);
    expect(withPlayers.bytesIn as number).toBeGreaterThan(0);

    const p = await pub.done;
    expect(p.code, p.stderr).toBe(0);
    const published = lastFrameCount(p.stderr);
    expect(published).toBe(100);

    const [pl, du] = await Promise.all([player.done, dumper.done]);
    expect(pl.timedOut, `ffmpeg player did not end: ${pl.stderr}`).toBe(false);
    expect(du.timedOut, `rtmpdump did not end: ${du.stderr}`).toBe(false);
    // Players join mid-stream: they get everything from a keyframe on.
    const fromPlayer = probeFrames(ffplayOut);
    expect(fromPlayer.video, fromPlayer.stderr).toBeGreaterThan(20);
    expect(fromPlayer.audio).toBeGreaterThan(20);
    const fromDump = probeFrames(rtmpdumpOut);
    expect(fromDump.video, `${fromDump.stderr}\n${du.stderr}`).toBeGreaterThan(20);

    // The recording is finalized on unpublish and holds every published frame.
    const file = await waitFor(() => {
      const f = readdirSync(recordDir).filter((n) => n.startsWith('test-') && n.endsWith('.flv'));
      const done = app.logs.some((l) => l.msg === 'recording finalized' && l.key === 'test');
      return f.length === 1 && done ? join(recordDir, f[0]!) : undefined;
    }, 10_000);
    const rec = probeFrames(file);
    expect(rec.stderr).toBe('');
    expect(rec.ok).toBe(true);
    expect(rec.video).toBe(published);
    expect(rec.audio).toBeGreaterThanOrEqual(170);
    expect((await app.api()).streams).toEqual([]);
  });

  it('serves Prometheus metrics with the traffic counted', async () => {
    const text = await (await fetch(`http://127.0.0.1:${app.httpPort}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    expect(value('rtmp_connections_total')).toBeGreaterThanOrEqual(3);
    expect(value('rtmp_bytes_in_total')).toBeGreaterThan(10_000);
    expect(value('rtmp_bytes_out_total')).toBeGreaterThan(10_000);
    expect(value('rtmp_recordings_total')).toBe(1);
    expect(value('rtmp_publishers')).toBe(0);
  });
});

describe.skipIf(!tools)('stream keys', () => {
  it('rejects a wrong key with our error and accepts the right one', async () => {
    const app = await startApp(['--keys', 'right1,right2']);
    try {
      const bad = await run('ffmpeg', ffmpegTestPatternArgs(`${app.url}/wrong`, 1), 20_000).done;
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('stream key not allowed');
      const good = await run('ffmpeg', ffmpegTestPatternArgs(`${app.url}/right2`, 1), 20_000).done;
      expect(good.code, good.stderr).toBe(0);
      expect(app.logs.some((l) => l.msg === 'publish started' && l.key === 'right2')).toBe(true);
    } finally {
      await app.stop();
    }
  });
});

describe.skipIf(!tools)('shutdown', () => {
  it('SIGTERM during a publish finalizes the recording and exits 0', async () => {
    const recordDir = await mkdtemp(join(tmpdir(), 'ingest-term-'));
    const app = await startApp(['--record-dir', recordDir]);
    const pub = run('ffmpeg', ffmpegTestPatternArgs(`${app.url}/term`, 30), 40_000);
    try {
      await waitFor(async () => {
        const s = (await app.api()).streams.find((x) => x.key === 'term');
        return s !== undefined && ((s.video as { frames: number }).frames ?? 0) > 30 ? true : undefined;
      }, 15_000);
      const player = run(
        'ffmpeg',
        ['-hide_banner', '-nostdin', '-i', `${app.url}/term`, '-c', 'copy', '-f', 'null', '-'],
        30_000,
      );
      await waitFor(async () => {
        const s = (await app.api()).streams.find((x) => x.key === 'term');
        return s !== undefined && (s.players as number) === 1 ? true : undefined;
      }, 10_000);
      app.proc.kill('SIGTERM');
      const exit = await Promise.race([app.exited, sleep(10_000).then(() => 'timeout' as const)]);
      expect(exit).toEqual({ code: 0, signal: null });
      // The player was told the stream ended (or at least disconnected) rather than left hanging.
      const pl = await player.done;
      expect(pl.timedOut).toBe(false);
      expect(app.logs.some((l) => l.msg === 'recording finalized')).toBe(true);
      const files = readdirSync(recordDir);
      expect(files).toHaveLength(1);
      const file = join(recordDir, files[0]!);
      expect(statSync(file).size).toBeGreaterThan(1000);
      const probe = probeFrames(file);
      expect(probe.stderr).toBe('');
      expect(probe.video).toBeGreaterThan(30);
      const p = await pub.done;
      expect(p.timedOut).toBe(false);
    } finally {
      pub.child.kill('SIGKILL');
      await app.stop();
    }
  });
});

describe('command line', () => {
  it('exits 2 with clear messages on invalid configuration', async () => {
    const { CLI } = await import('./helpers.js');
    const r = await run(
      process.execPath,
      [CLI, '--port', 'abc', '--keys', '@/nonexistent/keys.txt', '--wat'],
      10_000,
    ).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid configuration');
    expect(r.stderr).toContain('--port: "abc" is not a port');
    expect(r.stderr).toContain('cannot read keys file');
    expect(r.stderr).toContain('unknown option --wat');
  });

  it('prints --help and exits 0', async () => {
    const { CLI } = await import('./helpers.js');
    const r = await run(process.execPath, [CLI, '--help'], 10_000).done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--record-dir');
    expect(r.stdout).toContain('RTMP_INGEST_PORT');
  });

  it('has a shebang so the bin runs directly', async () => {
    const { CLI } = await import('./helpers.js');
    expect(existsSync(CLI)).toBe(true);
    const r = await run(CLI, ['--version'], 10_000).done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rtmp-ingest \d+\.\d+\.\d+/);
  });
});
