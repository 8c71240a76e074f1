import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  buildIfStale,
  ffmpegPublish,
  ffmpegTestPatternArgs,
  fixture,
  hasTool,
  probeTimedPackets,
  readOracle,
  run,
  sleep,
  waitFor,
} from '@rtmp/testing';
import * as HLS from 'hls-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { metric } from './flv-clients.js';
import { APP_DIR, type RunningApp, startApp } from './helpers.js';

HLS.setOptions({ strictMode: true });

/** hls-parser in strict mode: throws on what RFC 8216bis forbids (LL-HLS rules included). */
function parseMedia(text: string): HLS.types.MediaPlaylist {
  const playlist = HLS.parse(text);
  if (playlist.isMasterPlaylist) throw new Error('expected a media playlist');
  return playlist;
}

const hasFfmpeg = hasTool('ffmpeg') && hasTool('ffprobe');
const apps: RunningApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
});

async function app(extra: string[]): Promise<RunningApp & { base: string }> {
  const started = await startApp(extra);
  apps.push(started);
  return { ...started, base: `http://127.0.0.1:${started.httpPort}` };
}

/** FFmpeg decodes every segment of `playlist` without a word on stderr at level `error`. */
async function expectDecodes(playlist: string): Promise<void> {
  const decoded = await run('ffmpeg', ['-v', 'error', '-i', playlist, '-f', 'null', '-']).done;
  expect(decoded.code).toBe(0);
  expect(decoded.stderr).toBe('');
}

describe.skipIf(!hasFfmpeg)('HLS in the ingest app, read by FFmpeg and hls-parser', () => {
  it('--hls always: ffprobe reads every sample of an FFmpeg -re publish from the playlist, as the oracle says', async () => {
    const a = await app(['--hls', 'always']);
    const publish = ffmpegPublish(fixture('small_h264_aac.flv'), `${a.url}/fx`, { realtime: true });
    // While it is live: every playlist (plain, and blocking reloads for the next parts) parses in strict mode.
    const seen: HLS.types.MediaPlaylist[] = [];
    let query = '';
    for (let i = 0; i < 40; i++) {
      const response = await fetch(`${a.base}/live/fx/index.m3u8${query}`);
      if (response.status === 404) {
        await sleep(100);
        continue;
      }
      expect(response.status).toBe(200);
      const playlist = parseMedia(await response.text());
      seen.push(playlist);
      if (playlist.endlist) break;
      // Ask for the part after the newest one: the server holds the request until it exists.
      const last = playlist.segments.at(-1)!;
      const parts = last.parts.filter((p) => !p.hint).length;
      query = last.uri
        ? `?_HLS_msn=${last.mediaSequenceNumber + 1}&_HLS_part=0`
        : `?_HLS_msn=${last.mediaSequenceNumber}&_HLS_part=${parts}`;
    }
    expect((await publish.done).code).toBe(0);
    expect(seen.length).toBeGreaterThan(8);
    expect(seen.some((p) => p.partTargetDuration === 0.25 && p.lowLatencyCompatibility?.canBlockReload)).toBe(
      true,
    );

    const final = parseMedia(await (await fetch(`${a.base}/live/fx/index.m3u8`)).text());
    expect(final.endlist).toBe(true);
    const packets = await probeTimedPackets(`${a.base}/live/fx/index.m3u8`);
    const oracle = readOracle('small_h264_aac.packets.csv');
    for (const type of ['video', 'audio'] as const) {
      const got = packets
        .filter((p) => p.type === type)
        .map(({ dts, pts, size, keyframe }) => ({ dts, pts, size, keyframe }));
      const want = oracle
        .filter((p) => p.type === type)
        .map(({ dts, pts, size, keyframe }) => ({ dts, pts, size, keyframe }));
      expect(got).toEqual(want);
    }
    // And every segment decodes.
    await expectDecodes(`${a.base}/live/fx/index.m3u8`);
  });

  it('on demand: the first request waits for a segment, the muxer stops --hls-idle after the last request', async () => {
    const a = await app(['--hls-idle', '1', '--hls-segment', '1']);
    const publish = run('ffmpeg', ffmpegTestPatternArgs(`${a.url}/od`, 15), 30_000);
    try {
      // Not muxed while nobody asks.
      for (let i = 0; i < 100 && (await a.api()).streams.length === 0; i++) await sleep(50);
      await sleep(1500);
      expect(await metric(a.base, 'rtmp_hls_streams')).toBe(0);
      // The first request of a stream nobody watched starts its muxer and waits for a segment: 200, not 404.
      const first = await fetch(`${a.base}/live/od/index.m3u8`);
      expect(first.status).toBe(200);
      const playlist = parseMedia(await first.text());
      expect(playlist.segments.filter((s) => s.uri).length).toBeGreaterThan(0);
      expect(playlist.targetDuration).toBe(1);
      expect(await metric(a.base, 'rtmp_hls_streams')).toBe(1);
      expect(await metric(a.base, 'rtmp_hls_bytes')).toBeGreaterThan(0);
      // No request for longer than --hls-idle: stopped, while the publish goes on.
      await waitFor(
        async () => ((await metric(a.base, 'rtmp_hls_streams')) === 0 ? true : undefined),
        10_000,
      );
      expect((await a.api()).streams.length).toBe(1);
      // The log line travels on stdout, not with the metrics: it may come a moment later.
      await waitFor(() => a.logs.some((l) => l.msg === 'hls muxer stopped') || undefined, 5_000);
    } finally {
      publish.child.kill('SIGKILL');
      await publish.done;
    }
  });

  it('--hls off answers 404; --hls-dir writes segments and a playlist under <dir>/<app>/<key>', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ingest-hls-'));
    try {
      const off = await app(['--hls', 'off']);
      const withDir = await app(['--hls', 'always', '--hls-dir', dir]);
      const one = ffmpegPublish(fixture('small_h264_aac.flv'), `${off.url}/k`, { realtime: true });
      const two = ffmpegPublish(fixture('small_h264_aac.flv'), `${withDir.url}/k`, { realtime: true });
      await sleep(2500);
      expect((await fetch(`${off.base}/live/k/index.m3u8`)).status).toBe(404);
      await Promise.all([one.done, two.done]);
      const folder = join(dir, 'live', 'k');
      // The files are written one after the other, the playlist after its segments: the ended one (ENDLIST) comes
      // after the last segment, which the app cuts when it hears the publisher leave, after FFmpeg exits.
      const playlist = join(folder, 'index.m3u8');
      await waitFor(
        () =>
          (existsSync(playlist) && readFileSync(playlist, 'utf8').includes('#EXT-X-ENDLIST')) || undefined,
        15_000,
      );
      const files = readdirSync(folder);
      expect(files.filter((f) => f.endsWith('.m4s')).length).toBe(2);
      const packets = await probeTimedPackets(join(folder, 'index.m3u8'));
      expect(packets.length).toBe(readOracle('small_h264_aac.packets.csv').length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('HEVC + AAC (an MP4 published as Enhanced RTMP by rtmp-test-client): ffprobe reads every sample of the file from the playlist', async () => {
    const testClientDir = resolve(APP_DIR, '../test-client');
    buildIfStale(testClientDir, 'dist/cli.js');
    const dir = mkdtempSync(join(tmpdir(), 'hls-hevc-'));
    try {
      // 4 s of 320x240 HEVC (B-frames on, a keyframe a second) and 48 kHz AAC, made here by FFmpeg's libx265.
      const source = join(dir, 'hevc.mp4');
      const made = await run('ffmpeg', [
        ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'],
        ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '4'],
        ...[
          '-c:v',
          'libx265',
          '-x265-params',
          'keyint=25:min-keyint=25:log-level=error',
          '-pix_fmt',
          'yuv420p',
        ],
        ...['-tag:v', 'hvc1', '-c:a', 'aac', '-shortest', source],
      ]).done;
      expect(made.code, made.stderr).toBe(0);
      const a = await app(['--hls', 'always', '--hls-segment', '1']);
      const published = await run(process.execPath, [
        resolve(testClientDir, 'dist/cli.js'),
        ...['publish', source, `${a.url}/hevc`],
      ]).done;
      expect(published.code, published.stderr).toBe(0);
      let final: HLS.types.MediaPlaylist | undefined;
      for (let i = 0; i < 50 && final?.endlist !== true; i++) {
        const response = await fetch(`${a.base}/live/hevc/index.m3u8`);
        if (response.status === 200) final = parseMedia(await response.text());
        else await sleep(100);
      }
      expect(final?.endlist).toBe(true);
      const probed = await run('ffprobe', [
        ...['-v', 'error', '-show_entries', 'stream=codec_name,codec_tag_string', '-of', 'csv=p=0'],
        `${a.base}/live/hevc/index.m3u8`,
      ]).done;
      // (ffprobe lists the HLS program's streams again: one of each kind is what counts.)
      expect([...new Set(probed.stdout.split('\n').filter((l) => l !== ''))].sort()).toEqual([
        'aac,mp4a',
        'hevc,hvc1',
      ]);
      const got = await probeTimedPackets(`${a.base}/live/hevc/index.m3u8`);
      const want = await probeTimedPackets(source);
      for (const type of ['video', 'audio'] as const) {
        const of = (packets: typeof got) => packets.filter((p) => p.type === type);
        expect(of(got).map(({ size, keyframe }) => ({ size, keyframe }))).toEqual(
          of(want).map(({ size, keyframe }) => ({ size, keyframe })),
        );
        // FLV carries milliseconds: each timestamp within 1 ms of the file's, relative to the first.
        const start = (packets: typeof got) => of(packets)[0]!.dts;
        of(got).forEach((p, i) => {
          const w = of(want)[i]!;
          expect(Math.abs(p.dts - start(got) - (w.dts - start(want)))).toBeLessThanOrEqual(1);
          expect(Math.abs(p.pts - p.dts - (w.pts - w.dts))).toBeLessThanOrEqual(1);
        });
      }
      await expectDecodes(`${a.base}/live/hevc/index.m3u8`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
