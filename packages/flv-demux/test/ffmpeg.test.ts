import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { hasFfmpegEncoder, hasTool, probePackets, readFixture } from '@rtmp/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  concatBytes,
  type DemuxEvent,
  FlvReader,
  FlvWriter,
  parseAvcSps,
  parseHevcSps,
  StreamDemuxer,
  StreamMuxer,
} from '../src/index.js';
import { demuxFile } from './helpers.js';

const hasFfmpeg = hasTool('ffmpeg') && hasTool('ffprobe');
const dir = hasFfmpeg ? mkdtempSync(path.join(tmpdir(), 'flv-demux-')) : '';
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: 'pipe' });
}

type Packet = { type: string; pts: number; dts: number; size: number; key: boolean };

async function ffprobePackets(file: string): Promise<Packet[]> {
  return (await probePackets(file)).map((p) => ({
    type: p.codec_type,
    pts: p.pts,
    dts: p.dts,
    size: p.size,
    key: p.flags.startsWith('K'),
  }));
}

function ourPackets(events: DemuxEvent[], nalPrefix = 4): Packet[] {
  const rows: Packet[] = [];
  for (const e of events) {
    if (e.kind === 'video') {
      const size = Array.isArray(e.payload)
        ? e.payload.reduce((n: number, nal: Uint8Array) => n + nal.length + nalPrefix, 0)
        : (e.payload as Uint8Array).length;
      rows.push({ type: 'video', pts: e.pts, dts: e.dts, size, key: e.keyframe });
    } else if (e.kind === 'audio') {
      rows.push({ type: 'audio', pts: e.timestamp, dts: e.timestamp, size: e.payload.length, key: true });
    }
  }
  return rows;
}

const byType = (rows: Packet[], type: string) =>
  rows
    .filter((r) => r.type === type)
    .map(({ type: _t, key, ...r }) => (type === 'audio' ? r : { ...r, key }));

const AUDIO_CASES: { enc: string; codec: string; args: string[] }[] = [
  { enc: 'aac', codec: 'aac', args: ['-c:a', 'aac', '-ar', '44100'] },
  { enc: 'libmp3lame', codec: 'mp3', args: ['-c:a', 'libmp3lame', '-ar', '44100'] },
  { enc: 'pcm_alaw', codec: 'g711a', args: ['-c:a', 'pcm_alaw', '-ar', '8000', '-ac', '1'] },
  { enc: 'pcm_mulaw', codec: 'g711u', args: ['-c:a', 'pcm_mulaw', '-ar', '8000', '-ac', '1'] },
  { enc: 'nellymoser', codec: 'nellymoser', args: ['-c:a', 'nellymoser', '-ar', '16000', '-ac', '1'] },
  { enc: 'libspeex', codec: 'speex', args: ['-c:a', 'libspeex', '-ar', '16000', '-ac', '1'] },
  { enc: 'adpcm_swf', codec: 'adpcm', args: ['-c:a', 'adpcm_swf', '-ar', '22050'] },
];

describe.skipIf(!hasFfmpeg)('files made by FFmpeg, compared with ffprobe', () => {
  for (const c of AUDIO_CASES) {
    // Every audio case encodes its video with libx264 too.
    it.skipIf(!(hasFfmpegEncoder('libx264') && hasFfmpegEncoder(c.enc)))(`libx264 + ${c.enc}`, async () => {
      const file = path.join(dir, `${c.enc}.flv`);
      ffmpeg([
        ...['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-f', 'lavfi', '-i', 'sine', '-t', '2'],
        ...['-c:v', 'libx264', '-bf', '2', '-g', '25', ...c.args, file],
      ]);
      const { events, demuxer } = demuxFile(new Uint8Array(readFileSync(file)));
      expect(events.filter((e) => e.kind === 'error' || e.kind === 'unsupported')).toEqual([]);
      expect(demuxer.stats.droppedBeforeSequenceHeader).toBe(0);
      const audioCodec = events.find((e) => e.kind === 'codec' && e.mediaType === 'audio');
      expect(audioCodec?.kind === 'codec' && audioCodec.codec).toBe(c.codec);
      const probe = await ffprobePackets(file);
      const ours = ourPackets(events);
      expect(byType(ours, 'video')).toEqual(byType(probe, 'video'));
      expect(byType(ours, 'audio')).toEqual(byType(probe, 'audio'));
    });
  }

  it('a file rewritten by StreamMuxer + FlvWriter gives ffprobe the same packets', async () => {
    const { events } = demuxFile(readFixture('small_h264_aac.flv'));
    const muxer = new StreamMuxer();
    const writer = FlvWriter.forEvents(events);
    const pieces: Uint8Array[] = [writer.header()];
    for (const e of events) {
      if (e.kind === 'metadata') pieces.push(...writer.metadata(e.value, e.timestamp));
      else for (const t of muxer.push(e)) pieces.push(...writer.tag(t.type, t.timestamp, t.body));
    }
    const out = path.join(dir, 'rewritten.flv');
    writeFileSync(out, concatBytes(pieces));
    const original = path.join(dir, 'original.flv');
    writeFileSync(original, readFixture('small_h264_aac.flv'));
    expect(await ffprobePackets(out)).toEqual(await ffprobePackets(original));
    // And our own reader accepts it, PreviousTagSize included.
    const reader = new FlvReader();
    const demuxer = new StreamDemuxer();
    const again = reader.push(concatBytes(pieces)).flatMap((t) => demuxer.push(t.type, t.timestamp, t.body));
    expect(reader.end().truncated).toBe(false);
    expect(ourPackets(again)).toEqual(ourPackets(events));
  });

  function spsOf(annexB: Uint8Array, type: (b: number) => boolean): Uint8Array {
    const starts: number[] = [];
    for (let i = 0; i + 3 < annexB.length; i++) {
      if (annexB[i] === 0 && annexB[i + 1] === 0 && annexB[i + 2] === 1) starts.push(i + 3);
    }
    for (let k = 0; k < starts.length; k++) {
      const s = starts[k]!;
      if (type(annexB[s]!)) {
        let end = k + 1 < starts.length ? starts[k + 1]! - 3 : annexB.length;
        while (end > s && annexB[end - 1] === 0) end--;
        return annexB.subarray(s, end);
      }
    }
    throw new Error('no SPS');
  }

  it.skipIf(!hasFfmpegEncoder('libx264'))(
    'H.264 SPS: 4:4:4 with scaling lists and cropping (322x242)',
    () => {
      const file = path.join(dir, 'x444.h264');
      ffmpeg([
        ...['-f', 'lavfi', '-i', 'testsrc=size=322x242:rate=25', '-frames:v', '1', '-pix_fmt', 'yuv444p'],
        ...['-c:v', 'libx264', '-x264-params', 'cqm=jvt', '-f', 'h264', file],
      ]);
      const sps = spsOf(new Uint8Array(readFileSync(file)), (b) => (b & 31) === 7);
      expect(parseAvcSps(sps)).toMatchObject({ profile: 244, chromaFormat: 3, width: 322, height: 242 });
    },
  );

  it.skipIf(!hasFfmpegEncoder('libx264'))('H.264 SPS: interlaced 4:2:0 10-bit 720x576', () => {
    const file = path.join(dir, 'x10.h264');
    ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc=size=720x576:rate=25', '-frames:v', '1', '-pix_fmt', 'yuv420p10le'],
      ...['-c:v', 'libx264', '-flags', '+ildct', '-f', 'h264', file],
    ]);
    const sps = spsOf(new Uint8Array(readFileSync(file)), (b) => (b & 31) === 7);
    expect(parseAvcSps(sps)).toMatchObject({ profile: 110, bitDepth: 10, width: 720, height: 576 });
  });

  it.skipIf(!hasFfmpegEncoder('libx265'))('H.265 SPS: conformance window (322x242)', () => {
    const file = path.join(dir, 'x.hevc');
    ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc=size=322x242:rate=25', '-frames:v', '1', '-pix_fmt', 'yuv420p'],
      ...['-c:v', 'libx265', '-x265-params', 'log-level=none', '-f', 'hevc', file],
    ]);
    const sps = spsOf(new Uint8Array(readFileSync(file)), (b) => ((b >> 1) & 63) === 33);
    expect(parseHevcSps(sps)).toMatchObject({ width: 322, height: 242, chromaFormat: 1 });
  });
});
