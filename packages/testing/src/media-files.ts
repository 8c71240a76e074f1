import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { run } from './tools.js';

/** The MP4/MOV files the file-reading tests make with FFmpeg, by name. */
export const MEDIA_FILES = {
  /** H.264 High with 3 B-frames (pyramid) + AAC-LC 44.1 kHz stereo, 4 s, GOP 1 s. */
  'h264-aac.mp4': {
    encoders: ['libx264', 'aac'],
    args: [
      ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
      ...['-t', '4', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3', '-g', '25'],
      ...['-c:a', 'aac', '-ac', '2', '-b:a', '96k'],
    ],
  },
  /** The same as a QuickTime file. */
  'h264-aac.mov': {
    encoders: ['libx264', 'aac'],
    args: [
      ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000'],
      ...['-t', '3', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '2', '-g', '30'],
      ...['-c:a', 'aac', '-b:a', '64k'],
    ],
  },
  /** H.264 + AAC as a fragmented MP4 (a fragment per keyframe, as recorders and CMAF write). */
  'h264-aac-frag.mp4': {
    encoders: ['libx264', 'aac'],
    args: [
      ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=550:sample_rate=48000'],
      ...['-t', '3', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '2', '-g', '25'],
      ...['-c:a', 'aac', '-b:a', '64k', '-movflags', 'frag_keyframe+empty_moov+default_base_moof'],
    ],
  },
  /** HEVC Main (x265, 4 B-frames) in an hvc1 sample entry + AAC, 3 s. */
  'hevc-aac.mp4': {
    encoders: ['libx265', 'aac'],
    args: [
      ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...['-t', '3', '-pix_fmt', 'yuv420p', '-c:v', 'libx265', '-preset', 'veryfast'],
      ...['-x265-params', 'log-level=error:bframes=4:keyint=25:min-keyint=25', '-tag:v', 'hvc1'],
      ...['-c:a', 'aac', '-b:a', '64k'],
    ],
  },
  /** AV1 (SVT-AV1) + Opus 48 kHz stereo, 2 s. */
  'av1-opus.mp4': {
    encoders: ['libsvtav1', 'libopus'],
    args: [
      ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...['-t', '2', '-pix_fmt', 'yuv420p', '-c:v', 'libsvtav1', '-preset', '12', '-g', '25'],
      ...['-svtav1-params', 'verbose=0', '-c:a', 'libopus', '-ac', '2', '-b:a', '64k'],
    ],
  },
  /** 100 MB of H.264 (noise at a low QP, 10 s 640x360) + AAC: for memory bounds while reading. */
  'big-h264-aac.mp4': {
    encoders: ['libx264', 'aac'],
    args: [
      ...['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30,noise=alls=60:allf=t'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...[
        '-t',
        '10',
        '-pix_fmt',
        'yuv420p',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-qp',
        '10',
        '-g',
        '30',
      ],
      ...['-c:a', 'aac'],
    ],
  },
  /** AAC alone, 2 s. */
  'aac-only.mp4': {
    encoders: ['aac'],
    args: [...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'], ...['-t', '2', '-c:a', 'aac']],
  },
  /** H.264 + MP3 (an audio codec the reader does not send), 1 s. */
  'h264-mp3.mp4': {
    encoders: ['libx264', 'libmp3lame'],
    args: [
      ...['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
      ...['-t', '1', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-c:a', 'libmp3lame'],
    ],
  },
  /** MPEG-4 Part 2 video alone (no codec the reader sends), 1 s. */
  'mpeg4-only.mp4': {
    encoders: ['mpeg4'],
    args: [...['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25'], ...['-t', '1', '-c:v', 'mpeg4']],
  },
} as const satisfies Record<string, { encoders: readonly string[]; args: readonly string[] }>;

/** A file name of {@link MEDIA_FILES}. */
export type MediaFileName = keyof typeof MEDIA_FILES;

/**
 * Makes one of {@link MEDIA_FILES} with FFmpeg, once per machine (cached in the temp folder under a hash of its
 * arguments; written to a temporary name, then renamed, so parallel test files never read half a file). Returns its
 * path. Check `hasFfmpegEncoder` for its encoders first.
 */
export async function makeMediaFile(name: MediaFileName): Promise<string> {
  const { args } = MEDIA_FILES[name];
  const hash = createHash('sha256').update(JSON.stringify(args)).digest('hex').slice(0, 12);
  const dir = path.join(tmpdir(), 'rtmp-media-files');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${hash}-${name}`);
  if (existsSync(file)) return file;
  const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.part`;
  // The container from the name's extension (the partial file's own extension says nothing).
  const format = ['-f', path.extname(name).slice(1)];
  const result = await run(
    'ffmpeg',
    ['-hide_banner', '-v', 'error', '-nostdin', '-y', ...args, ...format, partial],
    120_000,
  ).done;
  if (result.code !== 0) throw new Error(`ffmpeg could not make ${name}: ${result.stderr}`);
  renameSync(partial, file);
  return file;
}

/** A media packet with its times in ms (rounded half away from zero from the stream's own ticks). */
export interface TimedPacket {
  type: 'video' | 'audio';
  dts: number;
  pts: number;
  size: number;
  keyframe: boolean;
}

function ms(ticks: number, num: number, den: number): number {
  const value = (ticks * num * 1000) / den;
  return value < 0 ? -Math.round(-value) : Math.round(value);
}

/**
 * ffprobe's video and audio packets of a file (the first stream of each type) in file order, times in ms from each
 * stream's time base. The oracle of "every sample of the file".
 */
export async function probeTimedPackets(file: string): Promise<TimedPacket[]> {
  const { stdout, stderr, code } = await run(
    'ffprobe',
    [
      ...['-v', 'error', '-show_entries', 'stream=index,codec_type,time_base'],
      ...['-show_entries', 'packet=stream_index,pts,dts,size,flags', '-of', 'json', file],
    ],
    120_000,
  ).done;
  if (code !== 0) throw new Error(`ffprobe failed on ${file}: ${stderr}`);
  const parsed = JSON.parse(stdout) as {
    streams: { index: number; codec_type: string; time_base: string }[];
    packets: { stream_index: number; pts?: number; dts?: number; size: string; flags: string }[];
  };
  const chosen = new Map<number, { type: 'video' | 'audio'; num: number; den: number }>();
  for (const type of ['video', 'audio'] as const) {
    const stream = parsed.streams.find((s) => s.codec_type === type);
    if (stream === undefined) continue;
    const [num, den] = stream.time_base.split('/').map(Number) as [number, number];
    chosen.set(stream.index, { type, num, den });
  }
  const packets: TimedPacket[] = [];
  for (const p of parsed.packets ?? []) {
    const stream = chosen.get(p.stream_index);
    if (stream === undefined) continue;
    const dts = p.dts ?? p.pts ?? 0;
    const pts = p.pts ?? dts;
    packets.push({
      type: stream.type,
      dts: ms(dts, stream.num, stream.den),
      pts: ms(pts, stream.num, stream.den),
      size: Number(p.size),
      keyframe: p.flags.startsWith('K'),
    });
  }
  return packets;
}

/**
 * The packets of one media type with their times made relative to `origin` (the first dts of the whole file, audio
 * and video together, by default): two recordings of the same samples compare equal whatever constant shift a
 * muxer applied to the timeline.
 */
export function relativePackets(
  packets: readonly TimedPacket[],
  type: 'video' | 'audio',
  origin = Math.min(...packets.map((p) => p.dts)),
): TimedPacket[] {
  return packets
    .filter((p) => p.type === type)
    .map((p) => ({ ...p, dts: p.dts - origin, pts: p.pts - origin }));
}
