import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FlvReader, StreamDemuxer } from '@rtmp/flv-demux';
import type { RtmpServer } from '@rtmp/server';
import {
  ffmpegPlay,
  hasFfmpegEncoder,
  hasTool,
  MEDIA_FILES,
  type MediaFileName,
  makeMediaFile,
  probeTimedPackets,
  relativePackets,
  type TimedPacket,
} from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, startServer } from './helpers.js';

let server: RtmpServer | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await server?.stop();
  server = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-cli-mp4-'));
  dirs.push(dir);
  return dir;
}

const haveTools = hasTool('ffmpeg') && hasTool('ffprobe');
const usable = (name: MediaFileName) => haveTools && MEDIA_FILES[name].encoders.every(hasFfmpegEncoder);

/** The media packets of an FLV file as a player demuxes them (our demuxer: it reads Enhanced RTMP). */
function flvPackets(file: string): TimedPacket[] {
  const reader = new FlvReader();
  const demuxer = new StreamDemuxer();
  const packets: TimedPacket[] = [];
  let nalLengthSize = 4;
  for (const tag of reader.push(readFileSync(file))) {
    if (tag.type !== 8 && tag.type !== 9 && tag.type !== 18) continue;
    for (const event of demuxer.push(tag.type, tag.timestamp, tag.body)) {
      if (event.kind === 'codec' && event.mediaType === 'video')
        nalLengthSize = event.info.nalLengthSize ?? 4;
      if (event.kind === 'video') {
        const size =
          event.payload instanceof Uint8Array
            ? event.payload.length
            : event.payload.reduce((n, nal) => n + nal.length + nalLengthSize, 0);
        packets.push({ type: 'video', dts: event.dts, pts: event.pts, size, keyframe: event.keyframe });
      } else if (event.kind === 'audio') {
        const t = event.timestamp;
        packets.push({ type: 'audio', dts: t, pts: t, size: event.payload.length, keyframe: true });
      }
    }
  }
  return packets;
}

/** Every sample of `source` is in `received`: count, dts, pts, size and keyframe flag, on a common time origin. */
function expectEverySample(received: TimedPacket[], source: TimedPacket[]): void {
  for (const type of ['video', 'audio'] as const) {
    const want = relativePackets(source, type);
    const got = relativePackets(received, type);
    expect(got.length, `${type} packets`).toBe(want.length);
    expect(got, type).toEqual(want);
  }
}

describe('publish an MP4/MOV file', () => {
  // H.264 + AAC go as legacy FLV: FFmpeg plays them from the relay.
  it.each([
    ['h264-aac.mp4', 'realtime'],
    ['h264-aac.mov', 'fast'],
    ['h264-aac-frag.mp4', 'fast'],
  ] as const)('%s (%s): an FFmpeg player gets every sample of the file', async (name, mode) => {
    if (!usable(name)) return;
    const source = await makeMediaFile(name);
    // By content, not extension: the file goes under a name that says nothing.
    const file = path.join(tempDir(), 'movie.bin');
    copyFileSync(source, file);
    const started = await startServer();
    server = started.server;
    const url = `${started.url}/${name.replace(/\W/g, '')}`;
    const out = path.join(tempDir(), 'out.flv');
    const playing = new Promise((resolve) => started.server.once('play', resolve));
    const player = ffmpegPlay(url, out, 30_000);
    await playing;
    const began = performance.now();
    const publisher = await cli(['publish', file, url, '--json', ...(mode === 'fast' ? ['--fast'] : [])]);
    expect(publisher.code, publisher.stderr).toBe(0);
    const want = await probeTimedPackets(source);
    expect(publisher.json).toMatchObject({
      ok: true,
      videoFrames: want.filter((p) => p.type === 'video').length,
      audioFrames: want.filter((p) => p.type === 'audio').length,
      keyframes: want.filter((p) => p.type === 'video' && p.keyframe).length,
    });
    expect(publisher.json.source).toMatch(/^(mp4|mov) file .*movie\.bin \(avc1\.\w+ \+ mp4a\.40\.2\)$/);
    if (mode === 'realtime') expect(performance.now() - began).toBeGreaterThan(2_500);
    const played = await player.done;
    expect(played.code, played.stderr).toBe(0);
    expectEverySample(await probeTimedPackets(out), want);
  });

  // HEVC, AV1 and Opus go as Enhanced RTMP, which Debian's FFmpeg 5.1 does not read: our client plays them.
  it.each([
    ['hevc-aac.mp4', 'hvc1', 'mp4a.40.2'],
    ['av1-opus.mp4', 'av01', 'opus'],
  ] as const)(
    '%s: Enhanced RTMP, our client player gets every sample of the file',
    async (name, video, audio) => {
      if (!usable(name)) return;
      const source = await makeMediaFile(name);
      const started = await startServer();
      server = started.server;
      const url = `${started.url}/${name.replace(/\W/g, '')}`;
      const out = path.join(tempDir(), 'out.flv');
      const playing = new Promise((resolve) => started.server.once('play', resolve));
      const player = cli(['play', url, '-o', out, '--json', '--duration', '20']);
      await playing;
      const publisher = await cli(['publish', source, url, '--fast', '--json']);
      expect(publisher.code, publisher.stderr).toBe(0);
      const played = await player;
      expect(played.code, played.stderr).toBe(0);
      const codecs = played.json.codecs.map((c: { codecString: string }) => c.codecString.split('.')[0]);
      expect(codecs.sort()).toEqual([audio.split('.')[0], video].sort());
      expectEverySample(flvPackets(out), await probeTimedPackets(source));
    },
  );

  it('a file that is neither FLV nor MP4 is a usage error', async () => {
    const file = path.join(tempDir(), 'movie.mp4');
    copyFileSync(new URL('../package.json', import.meta.url), file);
    const result = await cli(['publish', file, 'rtmp://127.0.0.1:1/live/x', '--json']);
    expect(result.code).toBe(2);
    expect(result.json.error.message).toMatch(/cannot read .*movie\.mp4/);
  });
});
