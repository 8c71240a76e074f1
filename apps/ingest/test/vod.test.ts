import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtmpClient, type RtmpPlayer } from '@rtmp/client';
import type { RtmpStatus } from '@rtmp/connection';
import {
  fixture,
  hasFfmpegEncoder,
  hasTool,
  MEDIA_FILES,
  makeMediaFile,
  probeTimedPackets,
  relativePackets,
  run,
  type TimedPacket,
  until,
} from '@rtmp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, startApp } from './helpers.js';

const tools = hasTool('ffmpeg') && hasTool('ffprobe') && hasTool('rtmpdump');
const enhanced =
  tools &&
  [...MEDIA_FILES['hevc-aac.mp4'].encoders, ...MEDIA_FILES['av1-opus.mp4'].encoders].every(hasFfmpegEncoder);

/** Every sample of `source` in `received` (count, dts, pts, size, keyframe flag), on a common time origin. */
function expectEverySample(received: TimedPacket[], source: TimedPacket[]): void {
  for (const type of ['video', 'audio'] as const) {
    const want = relativePackets(source, type);
    expect(relativePackets(received, type), type).toEqual(want);
  }
}

/** The video packets from `from` on, their times relative to the first one's dts. */
function videoFrom(packets: TimedPacket[], from = 0): TimedPacket[] {
  const video = packets.filter((p) => p.type === 'video').slice(from);
  const origin = video[0]?.dts ?? 0;
  return video.map((p) => ({ ...p, dts: p.dts - origin, pts: p.pts - origin }));
}

/** Our client playing `name` on the vod app: what it received, as timed packets, and its statuses. */
async function play(port: number, name: string, start?: number) {
  const client = new RtmpClient({ url: `rtmp://127.0.0.1:${port}/vod`, streamName: name });
  await client.connect();
  const player: RtmpPlayer = await client.play(start === undefined ? {} : { start });
  const packets: TimedPacket[] = [];
  const statuses: { status: RtmpStatus; at: number }[] = [];
  let nalLengthSize = 4;
  player.on('codec', (e) => {
    if (e.mediaType === 'video') nalLengthSize = e.info.nalLengthSize ?? 4;
  });
  player.on('video', (e) => {
    const size = Array.isArray(e.payload)
      ? e.payload.reduce((n: number, nal: Uint8Array) => n + nal.length + nalLengthSize, 0)
      : (e.payload as Uint8Array).length;
    packets.push({ type: 'video', dts: e.dts, pts: e.pts, size, keyframe: e.keyframe });
  });
  player.on('audio', (e) => {
    packets.push({
      type: 'audio',
      dts: e.timestamp,
      pts: e.timestamp,
      size: e.payload.length,
      keyframe: true,
    });
  });
  player.on('status', (status) => statuses.push({ status, at: packets.length }));
  const metadata: Record<string, unknown>[] = [];
  player.on('metadata', (m) => metadata.push(m));
  const ended = new Promise<void>((resolve) => player.once('end', () => resolve()));
  return { client, player, packets, statuses, metadata, ended };
}

describe.skipIf(!tools)('video on demand: --vod-dir', () => {
  let app: RunningApp;
  let dir: string;
  let out: string;
  const source: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ingest-vod-'));
    out = mkdtempSync(join(tmpdir(), 'ingest-vod-out-'));
    mkdirSync(join(dir, 'films', 'sub'), { recursive: true });
    mkdirSync(join(dir, 'outside'));
    source.mp4 = await makeMediaFile('h264-aac.mp4');
    source.mov = await makeMediaFile('h264-aac.mov');
    copyFileSync(source.mp4, join(dir, 'films', 'movie.mp4'));
    copyFileSync(source.mov, join(dir, 'films', 'sub', 'trailer.mov'));
    copyFileSync(fixture('small_h264_aac.flv'), join(dir, 'films', 'sub', 'clip.flv'));
    if (enhanced) {
      copyFileSync(await makeMediaFile('hevc-aac.mp4'), join(dir, 'films', 'hevc.mp4'));
      copyFileSync(await makeMediaFile('av1-opus.mp4'), join(dir, 'films', 'av1.mp4'));
    }
    source.aac = await makeMediaFile('aac-only.mp4');
    copyFileSync(source.aac, join(dir, 'films', 'audio.m4a'));
    copyFileSync(fixture('small_h264_aac.flv'), join(dir, 'outside', 'secret.flv'));
    writeFileSync(join(dir, 'films', 'notes.txt'), 'not media');
    // A link inside the folder to a file outside it, and one to a file inside (served).
    symlinkSync(join(dir, 'outside', 'secret.flv'), join(dir, 'films', 'escape.flv'));
    symlinkSync(join(dir, 'films', 'movie.mp4'), join(dir, 'films', 'alias.mp4'));
    app = await startApp(['--vod-dir', join(dir, 'films')]);
  });
  afterAll(async () => {
    await app?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  const url = (path: string) => `rtmp://127.0.0.1:${app.rtmpPort}/vod/${path}`;

  it('FFmpeg plays an MP4 in real time: every packet of the file, onMetaData with its duration', async () => {
    const file = join(out, 'ffmpeg-mp4.flv');
    const began = performance.now();
    const r = await run(
      'ffmpeg',
      ['-hide_banner', '-nostdin', '-y', '-i', url('movie.mp4'), '-c', 'copy', file],
      30_000,
    ).done;
    expect(r.code, r.stderr).toBe(0);
    // A 4 s file, sent 1 s ahead of real time at most.
    expect(performance.now() - began).toBeGreaterThan(2_500);
    expect(r.stderr).toMatch(/Duration: 00:00:04\.00/);
    expectEverySample(await probeTimedPackets(file), await probeTimedPackets(source.mp4!));
  });

  it('FFmpeg and rtmpdump play FLV and MOV files in a subfolder, each URL form they send', async () => {
    const clipOracle = await probeTimedPackets(fixture('small_h264_aac.flv'));
    const movOracle = await probeTimedPackets(source.mov!);
    // FFmpeg: app vod/sub + "clip" (it drops .flv); rtmpdump: app vod/sub + "clip"; the MOV as "trailer.mov".
    const jobs = [
      { tool: 'ffmpeg', path: 'sub/clip.flv', oracle: clipOracle },
      { tool: 'rtmpdump', path: 'sub/clip.flv', oracle: clipOracle },
      { tool: 'ffmpeg', path: 'sub/trailer.mov', oracle: movOracle },
      { tool: 'rtmpdump', path: 'sub/trailer.mov', oracle: movOracle },
      // rtmpdump sends "mp4:movie" for movie.mp4 (prefix added, extension dropped).
      { tool: 'rtmpdump', path: 'alias.mp4', oracle: await probeTimedPackets(source.mp4!) },
    ];
    const results = await Promise.all(
      jobs.map(async (job, i) => {
        const file = join(out, `job${i}.flv`);
        const args =
          job.tool === 'ffmpeg'
            ? ['-hide_banner', '-nostdin', '-y', '-i', url(job.path), '-c', 'copy', file]
            : ['-r', url(job.path), '-o', file];
        return { job, file, result: await run(job.tool, args, 30_000).done };
      }),
    );
    for (const { job, file, result } of results) {
      // rtmpdump exits 2 ("may be incomplete") when the last timestamp is under 99.9 % of the duration, which a
      // 4 s file's last frame always is: the packets below are the proof.
      expect(result.timedOut, `${job.tool} ${job.path}`).toBe(false);
      expect([0, job.tool === 'rtmpdump' ? 2 : 0], `${job.tool} ${job.path}: ${result.stderr}`).toContain(
        result.code,
      );
      expectEverySample(await probeTimedPackets(file), job.oracle);
    }
  });

  it('rtmpdump --start: from the keyframe at or before the position, every frame after it', async () => {
    const file = join(out, 'rtmpdump-start.flv');
    const r = await run('rtmpdump', ['-r', url('movie.mp4'), '-A', '2', '-o', file], 30_000).done;
    expect(r.code, r.stderr).toBe(0);
    const oracle = await probeTimedPackets(source.mp4!);
    const keyframes = oracle.filter((p) => p.type === 'video' && p.keyframe);
    // Positions are on the stream's timeline (the file's, moved so that the first dts is 0).
    const origin = Math.min(...oracle.map((p) => p.dts));
    const key = keyframes.filter((k) => k.pts - origin <= 2000).at(-1)!;
    const from = oracle.filter((p) => p.type === 'video').indexOf(key);
    expect(from).toBeGreaterThan(0);
    // rtmpdump adds the start position to what it writes: compare from the first frame.
    expect(videoFrom(await probeTimedPackets(file))).toEqual(videoFrom(oracle, from));
    // An FLV file: its keyframes are at 0 and 2 s (decode time; 2.08 s presentation); from 2.5 s, the second.
    const flv = join(out, 'rtmpdump-start-flv.flv');
    const f = await run('rtmpdump', ['-r', url('sub/clip.flv'), '-A', '2.5', '-o', flv], 30_000).done;
    expect([0, 2], f.stderr).toContain(f.code);
    const clip = await probeTimedPackets(fixture('small_h264_aac.flv'));
    const clipKey = clip.filter((p) => p.type === 'video' && p.keyframe && p.pts <= 2500).at(-1)!;
    expect(clipKey.dts).toBe(2000);
    expect(videoFrom(await probeTimedPackets(flv))).toEqual(
      videoFrom(clip, clip.filter((p) => p.type === 'video').indexOf(clipKey)),
    );
  });

  it('our client: seek moves to the keyframe at or before the position, with Seek.Notify and the headers again', async () => {
    const p = await play(app.rtmpPort, 'movie.mp4');
    await until(() => p.packets.filter((x) => x.type === 'video').length >= 10);
    p.client.connection!.sendCommand('seek', 0, [null, 2500], p.player.streamId);
    await p.ended;
    const notify = p.statuses.find((s) => s.status.code === 'NetStream.Seek.Notify');
    expect(notify).toBeDefined();
    // onMetaData (with the duration) again for the new position.
    expect(p.metadata.map((m) => m.duration)).toEqual([4, 4]);
    const after = p.packets.slice(notify!.at).filter((x) => x.type === 'video');
    const oracle = await probeTimedPackets(source.mp4!);
    const origin = Math.min(...oracle.map((x) => x.dts));
    const video = oracle
      .filter((x) => x.type === 'video')
      .map((x) => ({ ...x, dts: x.dts - origin, pts: x.pts - origin }));
    const key = video.filter((k) => k.keyframe && k.pts <= 2500).at(-1)!;
    expect(after[0]).toEqual(key);
    expect(after).toEqual(video.slice(video.indexOf(key)));
    await p.client.close();
  });

  it('our client: pause holds the stream (nothing between Pause.Notify and Unpause.Notify), resume goes on with every sample', async () => {
    const p = await play(app.rtmpPort, 'sub/clip.flv');
    await until(() => p.packets.filter((x) => x.type === 'video').length >= 20);
    const connection = p.client.connection!;
    connection.sendCommand('pause', 0, [null, true, p.packets.at(-1)!.dts], p.player.streamId);
    await until(() => p.statuses.some((s) => s.status.code === 'NetStream.Pause.Notify'));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    connection.sendCommand('pause', 0, [null, false, p.packets.at(-1)!.dts], p.player.streamId);
    await p.ended;
    const paused = p.statuses.find((s) => s.status.code === 'NetStream.Pause.Notify')!;
    const resumed = p.statuses.find((s) => s.status.code === 'NetStream.Unpause.Notify')!;
    expect(resumed.at).toBe(paused.at);
    expectEverySample(p.packets, await probeTimedPackets(fixture('small_h264_aac.flv')));
    await p.client.close();
  });

  it('two players of one file, each from its own position', async () => {
    const [a, b] = await Promise.all([
      play(app.rtmpPort, 'movie.mp4'),
      play(app.rtmpPort, 'movie.mp4', 3000),
    ]);
    await Promise.all([a.ended, b.ended]);
    const oracle = await probeTimedPackets(source.mp4!);
    expectEverySample(a.packets, oracle);
    const video = oracle.filter((x) => x.type === 'video');
    const origin = Math.min(...oracle.map((x) => x.dts));
    const key = video.filter((k) => k.keyframe && k.pts - origin <= 3000).at(-1)!;
    expect(videoFrom(b.packets)).toEqual(videoFrom(oracle, video.indexOf(key)));
    await Promise.all([a.client.close(), b.client.close()]);
  });

  it('an audio-only MP4 (.m4a), from the start and from 1 s', async () => {
    const oracle = await probeTimedPackets(source.aac!);
    const whole = await play(app.rtmpPort, 'audio.m4a');
    await whole.ended;
    expectEverySample(whole.packets, oracle);
    const later = await play(app.rtmpPort, 'audio.m4a', 1000);
    await later.ended;
    const first = later.packets[0]!;
    // The audio frame at or before 1 s (on the stream's timeline, which starts at 0), then every one after it.
    const audio = relativePackets(whole.packets, 'audio', 0);
    const from = audio.findLastIndex((p) => p.dts <= 1000);
    expect(first.dts).toBe(audio[from]!.dts);
    expect(later.packets).toEqual(audio.slice(from));
    await Promise.all([whole.client.close(), later.client.close()]);
  });

  it.skipIf(!enhanced)('HEVC + AAC and AV1 + Opus as Enhanced RTMP to our client: every sample', async () => {
    for (const [name, media] of [
      ['hevc.mp4', 'hevc-aac.mp4'],
      ['av1.mp4', 'av1-opus.mp4'],
    ] as const) {
      const p = await play(app.rtmpPort, name);
      await p.ended;
      expectEverySample(p.packets, await probeTimedPackets(await makeMediaFile(media)));
      await p.client.close();
    }
  });

  it('refuses paths that leave the folder, and missing files, with NetStream.Play.StreamNotFound', async () => {
    const names = [
      '../outside/secret.flv',
      '%2e%2e/outside/secret.flv',
      '%2E%2E%2Foutside%2Fsecret.flv',
      'sub/../../outside/secret.flv',
      'mp4:../outside/secret',
      '/etc/passwd',
      `${dir}/outside/secret.flv`,
      'movie.mp4\0.txt',
      'escape.flv',
      'nope.mp4',
      'sub',
      'notes.txt',
      '..',
    ];
    for (const name of names) {
      const client = new RtmpClient({ url: `rtmp://127.0.0.1:${app.rtmpPort}/vod`, streamName: name });
      await client.connect();
      await expect(client.play(), name).rejects.toMatchObject({
        code: 'ERR_RTMP_PLAY_REJECTED',
        status: { code: 'NetStream.Play.StreamNotFound' },
      });
      client.destroy();
    }
    // Each for its own reason (the log says which), never by reaching the file system outside the folder.
    const logged = (name: string) =>
      app.logs.find((l) => l.name === name && String(l.msg).startsWith('vod play'));
    for (const name of names.slice(0, 9))
      expect(logged(name), name).toMatchObject({ msg: 'vod play refused' });
    expect(logged('escape.flv')).toMatchObject({ reason: 'a symbolic link that leads outside the folder' });
    expect(logged('%2e%2e/outside/secret.flv')).toMatchObject({ reason: '".." in the path' });
    expect(logged('nope.mp4')).toMatchObject({ msg: 'vod play: no such file' });
    expect(logged('notes.txt')).toMatchObject({ msg: 'vod play: not an FLV, MP4 or MOV file' });
    // The folder in the app (as librtmp splits URLs) is checked the same way.
    const viaApp = new RtmpClient({
      host: '127.0.0.1',
      port: app.rtmpPort,
      app: 'vod/..',
      streamName: 'outside/secret.flv',
    });
    await viaApp.connect();
    await expect(viaApp.play()).rejects.toMatchObject({ status: { code: 'NetStream.Play.StreamNotFound' } });
    viaApp.destroy();
    // Publishing to vod is refused; the server goes on serving.
    const publisher = new RtmpClient({ url: `rtmp://127.0.0.1:${app.rtmpPort}/vod/movie.mp4` });
    await publisher.connect();
    await expect(publisher.publish()).rejects.toMatchObject({ code: 'ERR_RTMP_PUBLISH_REJECTED' });
    publisher.destroy();
    const p = await play(app.rtmpPort, 'sub/clip.flv', 3000);
    await p.ended;
    expect(p.packets.length).toBeGreaterThan(0);
    await p.client.close();
  });
});
