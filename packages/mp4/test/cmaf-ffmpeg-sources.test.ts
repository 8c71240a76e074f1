import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { aacInfo, type DemuxEvent, hevcInfo, opusInfo, splitNalUnits, vp9Info } from '@rtmp/flv-demux';
import { hasFfmpegEncoder, hasTool } from '@rtmp/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { ascFromEsds, opusHeadFromDops, readFragmentedMp4 } from './cmaf-box-reader.js';
import {
  decodeErrors,
  discontinuities,
  ffprobe,
  muxEvents,
  throughFlv,
  ticksPerSecond,
} from './cmaf-helpers.js';

// HEVC and VP9 have no FLV fixture FFmpeg 5.1 can write, so FFmpeg encodes them into a fragmented MP4; the
// independent test box reader takes the samples out of it, StreamMuxer turns them into E-RTMP tag bodies (as a
// publisher sends them), StreamDemuxer demuxes those, and the writer writes them. ffprobe of FFmpeg's own file
// is the oracle for every sample of ours.

const hasFfmpeg = hasTool('ffmpeg') && hasTool('ffprobe');
const dir = hasFfmpeg ? mkdtempSync(path.join(tmpdir(), 'mp4-sources-')) : '';
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: 'pipe' });
}

/** The samples of FFmpeg's fragmented MP4 as demuxer events (ms timestamps), in decode order across tracks. */
function eventsOf(file: string): DemuxEvent[] {
  const mp4 = readFragmentedMp4(new Uint8Array(readFileSync(file)));
  const events: DemuxEvent[] = [];
  const samples: { ms: number; event: DemuxEvent }[] = [];
  for (const t of mp4.tracks.values()) {
    const ms = (ticks: number) => Math.round((ticks * 1000) / t.timescale);
    if (t.entry === 'hev1' || t.entry === 'hvc1') {
      events.push({
        kind: 'codec',
        mediaType: 'video',
        codec: 'hevc',
        track: 0,
        timestamp: 0,
        initData: t.config,
        info: hevcInfo(t.config),
      });
    } else if (t.entry === 'vp09') {
      events.push({
        kind: 'codec',
        mediaType: 'video',
        codec: 'vp9',
        track: 0,
        timestamp: 0,
        initData: t.config,
        info: vp9Info(t.config),
      });
    } else if (t.entry === 'mp4a') {
      const asc = ascFromEsds(t.config);
      events.push({
        kind: 'codec',
        mediaType: 'audio',
        codec: 'aac',
        track: 0,
        timestamp: 0,
        initData: asc,
        info: aacInfo(asc),
      });
    } else if (t.entry === 'Opus') {
      const head = opusHeadFromDops(t.config);
      events.push({
        kind: 'codec',
        mediaType: 'audio',
        codec: 'opus',
        track: 0,
        timestamp: 0,
        initData: head,
        info: opusInfo(head),
      });
    } else throw new Error(`unexpected sample entry ${t.entry}`);
    for (const s of mp4.samples.filter((x) => x.trackId === t.id)) {
      const base = { track: 0, timestampOffsetNano: 0 };
      if (t.handler === 'vide') {
        const video = {
          ...base,
          kind: 'video' as const,
          dts: ms(s.dts),
          pts: ms(s.pts),
          keyframe: s.sync,
          frameType: s.sync ? 1 : 2,
        };
        samples.push({
          ms: ms(s.dts),
          event:
            t.entry === 'vp09'
              ? { ...video, codec: 'vp9', payload: s.data }
              : { ...video, codec: 'hevc', payload: splitNalUnits(s.data, 4) },
        });
      } else {
        const codec = t.entry === 'Opus' ? ('opus' as const) : ('aac' as const);
        samples.push({
          ms: ms(s.dts),
          event: { ...base, kind: 'audio', codec, timestamp: ms(s.dts), payload: s.data },
        });
      }
    }
  }
  samples.sort((a, b) => a.ms - b.ms);
  return [...events, ...samples.map((s) => s.event)];
}

type Row = { type: string; dts: number; pts: number; size: number; keyframe: boolean };

async function rowsMs(file: string): Promise<Row[]> {
  const probed = await ffprobe(file);
  const scale = new Map(probed.streams.map((s) => [s.index, ticksPerSecond(s.time_base) / 1000]));
  return probed.packets
    .map((p) => ({
      type: p.type,
      dts: Math.round(p.dts / scale.get(p.stream)!),
      pts: Math.round(p.pts / scale.get(p.stream)!),
      size: p.size,
      keyframe: p.keyframe,
    }))
    .sort((a, b) => (a.type === b.type ? 0 : a.type < b.type ? -1 : 1));
}

const CASES = [
  {
    name: 'HEVC (libx265, B-frames) + AAC',
    encoders: ['libx265', 'aac'],
    codecs: ['aac', 'hevc'],
    args: ['-c:v', 'libx265', '-x265-params', 'log-level=none:keyint=25:bframes=3', '-c:a', 'aac'],
  },
  {
    // testsrc is RGB, so libvpx picks 4:4:4 (profile 1): a vpcC beyond the common 4:2:0 case.
    name: 'VP9 (libvpx-vp9, profile 1) + Opus',
    encoders: ['libvpx-vp9', 'libopus'],
    codecs: ['opus', 'vp9'],
    args: ['-c:v', 'libvpx-vp9', '-g', '25', '-deadline', 'realtime', '-c:a', 'libopus'],
  },
];

describe.skipIf(!hasFfmpeg)(
  'HEVC and VP9 streams made by FFmpeg, through StreamMuxer, read back by FFmpeg',
  () => {
    for (const c of CASES) {
      it.skipIf(!c.encoders.every((e) => hasFfmpegEncoder(e)))(c.name, async () => {
        const source = path.join(dir, `${c.encoders[0]}.mp4`);
        ffmpeg([
          ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'],
          ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '3'],
          ...c.args,
          ...['-video_track_timescale', '1000', '-movflags', '+frag_keyframe+empty_moov+default_base_moof'],
          ...['-f', 'mp4', source],
        ]);
        const events = throughFlv(eventsOf(source));
        expect(events.filter((e) => e.kind === 'error' || e.kind === 'unsupported')).toEqual([]);
        for (const policy of ['gop', { partMs: 250 }] as const) {
          const muxed = muxEvents(events, policy);
          const out = path.join(dir, `${c.encoders[0]}-out.mp4`);
          writeFileSync(out, muxed.file);
          const probed = await ffprobe(out);
          expect(probed.streams.map((s) => s.codec_name).sort()).toEqual(c.codecs);
          const video = probed.streams.find((s) => s.codec_type === 'video')!;
          expect([video.width, video.height]).toEqual([320, 240]);
          // Audio timestamps went through FLV's milliseconds, so both sides are compared in ms.
          const expected = await rowsMs(source);
          expect(expected.length).toBeGreaterThan(100);
          expect(await rowsMs(out)).toEqual(expected);
          expect(discontinuities(muxed.file)).toEqual([]);
          expect(await decodeErrors(out)).toBe('');
        }
      });
    }

    it.skipIf(!hasFfmpegEncoder('libvpx-vp9'))(
      'VP9 sent without a vpcC: the writer makes one from the first keyframe',
      async () => {
        const source = path.join(dir, 'vp9-only.mp4');
        ffmpeg([
          ...['-f', 'lavfi', '-i', 'testsrc=size=352x288:rate=25', '-t', '2'],
          ...['-c:v', 'libvpx-vp9', '-pix_fmt', 'yuv420p', '-g', '25', '-deadline', 'realtime'],
          ...['-video_track_timescale', '1000'],
          ...['-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4', source],
        ]);
        // Without a sequence header, StreamMuxer sends none and the demuxer announces VP9 with initData null.
        const events = throughFlv(
          eventsOf(source).map((e) => (e.kind === 'codec' ? { ...e, initData: null } : e)),
        );
        expect(events.find((e) => e.kind === 'codec')).toMatchObject({ codec: 'vp9', initData: null });
        const muxed = muxEvents(events, 'gop');
        expect(muxed.writer.tracks[0]).toMatchObject({
          width: 352,
          height: 288,
          codecString: 'vp09.00.20.08',
        });
        const out = path.join(dir, 'vp9-only-out.mp4');
        writeFileSync(out, muxed.file);
        const probed = await ffprobe(out);
        expect(probed.streams[0]).toMatchObject({
          codec_name: 'vp9',
          width: 352,
          height: 288,
          profile: 'Profile 0',
        });
        expect(await rowsMs(out)).toEqual(await rowsMs(source));
        expect(await decodeErrors(out)).toBe('');
      },
    );
  },
);
