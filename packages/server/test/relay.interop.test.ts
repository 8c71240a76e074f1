import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ffmpegPlay, ffmpegPublish, fixture, hasTool, probe, probePackets, run, until } from '@rtmp/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LiveRelay, RtmpServer } from '../src/index.js';

const haveTools = hasTool('ffmpeg') && hasTool('ffprobe');
const haveRtmpdump = hasTool('rtmpdump');

let server: RtmpServer | undefined;
let relay: LiveRelay;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtmp-relay-'));
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function startRelay(): Promise<number> {
  relay = new LiveRelay();
  server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: relay.handler() });
  return server.start();
}

describe.skipIf(!haveTools)('LiveRelay with real peers', () => {
  it('relays FFmpeg to an FFmpeg player and an rtmpdump player: same codecs and frame counts', async () => {
    const port = await startRelay();
    const url = `rtmp://127.0.0.1:${port}/live/relay1`;
    const ffOut = path.join(dir, 'ffmpeg.flv');
    const dumpOut = path.join(dir, 'rtmpdump.flv');
    const player = ffmpegPlay(url, ffOut);
    const dump = haveRtmpdump ? run('rtmpdump', ['-r', url, '--live', '-o', dumpOut], 30_000) : undefined;
    await until(() => relay.stats().some((s) => s.players === (dump ? 2 : 1)), 10_000, 'players');
    const publisher = ffmpegPublish(fixture('small_h264_aac.flv'), url, { realtime: true });
    const published = await publisher.done;
    expect(published.code, published.stderr).toBe(0);
    const played = await player.done;
    expect(played.code, played.stderr).toBe(0);
    const streams = await probe(ffOut);
    expect(streams.map((s) => [s.codec_type, s.codec_name, s.nb_read_packets])).toEqual([
      ['video', 'h264', '100'],
      ['audio', 'aac', '174'],
    ]);
    if (dump) {
      const dumped = await dump.done;
      expect(dumped.stderr).not.toMatch(/ERROR/);
      const dumpStreams = await probe(dumpOut);
      expect(dumpStreams.map((s) => [s.codec_type, s.codec_name, s.nb_read_packets]).sort()).toEqual([
        ['audio', 'aac', '174'],
        ['video', 'h264', '100'],
      ]);
    }
  });

  it('starts a mid-stream player on a keyframe from the GOP cache', async () => {
    const port = await startRelay();
    const url = `rtmp://127.0.0.1:${port}/live/relay2`;
    const publisher = ffmpegPublish(fixture('small_h264_aac.flv'), url, { realtime: true });
    await until(() => relay.isLive('live/relay2'), 10_000, 'publisher');
    await new Promise((r) => setTimeout(r, 1_300));
    const out = path.join(dir, 'mid.flv');
    const player = ffmpegPlay(url, out);
    expect((await publisher.done).code).toBe(0);
    const played = await player.done;
    expect(played.code, played.stderr).toBe(0);
    const packets = await probePackets(out);
    const video = packets.filter((p) => p.codec_type === 'video');
    expect(video.length).toBeGreaterThan(0);
    expect(video.length).toBeLessThanOrEqual(100);
    expect(video[0]!.flags.startsWith('K')).toBe(true);
    // GOP 50: the cached GOP starts at frame 0 or 50, so the player gets everything from that keyframe on.
    expect([50, 100]).toContain(video.length);
  });

  it('refuses a second publisher on a live key with NetStream.Publish.BadName', async () => {
    const port = await startRelay();
    const url = `rtmp://127.0.0.1:${port}/live/busy`;
    const first = ffmpegPublish(fixture('small_h264_aac.flv'), url, { realtime: true });
    await until(() => relay.isLive('live/busy'), 10_000, 'first publisher');
    const second = await ffmpegPublish(fixture('small_h264_aac.flv'), url).done;
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain('NetStream.Publish.BadName');
    first.child.kill('SIGKILL');
    await first.done;
  });

  it('SIGKILLed publisher: players get end-of-stream, and the key is publishable again at once', async () => {
    const port = await startRelay();
    const url = `rtmp://127.0.0.1:${port}/live/killed`;
    const disconnects: unknown[] = [];
    server!.on('disconnect', (_s, stats) => disconnects.push(stats.error));
    const publisher = ffmpegPublish(fixture('small_h264_aac.flv'), url, { realtime: true });
    await until(() => relay.isLive('live/killed'), 10_000, 'publisher');
    const out = path.join(dir, 'killed.flv');
    const player = ffmpegPlay(url, out);
    await until(
      () => relay.stats().some((s) => s.key === 'live/killed' && s.players === 1),
      10_000,
      'player',
    );
    await new Promise((r) => setTimeout(r, 500));
    publisher.child.kill('SIGKILL');
    await publisher.done;
    const played = await player.done;
    expect(played.code, played.stderr).toBe(0);
    await until(() => !relay.isLive('live/killed'), 5_000, 'unpublish');
    expect(disconnects.length).toBeGreaterThanOrEqual(1);
    const again = await ffmpegPublish(fixture('small_h264_aac.flv'), url).done;
    expect(again.code, again.stderr).toBe(0);
  });
});
