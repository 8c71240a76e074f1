import { type DemuxEvent, FlvReader, StreamDemuxer, StreamMuxer } from '@rtmp/flv-demux';
import { run } from '@rtmp/testing';
import { type CmafFragment, CmafWriter, type CmafWriterOptions, concatChunks } from '../src/index.js';
import { type ReadSample, readFragmentedMp4 } from './cmaf-box-reader.js';

/** Every demuxer event of an FLV file. */
export function demuxFlv(bytes: Uint8Array): DemuxEvent[] {
  const reader = new FlvReader();
  const demuxer = new StreamDemuxer();
  const events = reader.push(bytes).flatMap((t) => demuxer.push(t.type, t.timestamp, t.body));
  reader.end();
  return events;
}

/** Events through StreamMuxer (FLV tag bodies, as RTMP carries them) and back through a StreamDemuxer. */
export function throughFlv(events: readonly DemuxEvent[]): DemuxEvent[] {
  const muxer = new StreamMuxer();
  const demuxer = new StreamDemuxer();
  const out: DemuxEvent[] = [];
  for (const e of events) {
    for (const tag of muxer.push(e))
      out.push(...demuxer.push(tag.type, tag.timestamp, concatChunks(tag.body)));
  }
  return out;
}

/**
 * Where fragments start: `'gop'` before every video keyframe; `{ partMs }` at the first sample of the reference
 * track (video, else audio) at or after each multiple of `partMs` from the first sample, keyframe or not;
 * `{ beforeSample }` before the sample events with those indexes (counted over video and audio events).
 */
export type CutPolicy = 'gop' | { partMs: number } | { beforeSample: ReadonlySet<number> };

export interface Muxed {
  file: Uint8Array;
  init: Uint8Array;
  fragments: CmafFragment[];
  writer: CmafWriter;
}

/** Writes `events` as init segment + fragments cut by `policy`, the last one flushed as final. */
export function muxEvents(
  events: readonly DemuxEvent[],
  policy: CutPolicy,
  options: CmafWriterOptions = {},
): Muxed {
  const writer = new CmafWriter(options);
  const fragments: CmafFragment[] = [];
  const hasVideo = events.some((e) => e.kind === 'video');
  let partStart: number | null = null;
  let index = 0;
  for (const e of events) {
    if (writer.push(e) === 'reconfigure') throw new Error('a configuration change after the first fragment');
    if (e.kind !== 'video' && e.kind !== 'audio') continue;
    const dts = e.kind === 'video' ? e.dts : e.timestamp;
    let cut = false;
    if (policy === 'gop') cut = e.kind === 'video' && e.keyframe;
    else if ('partMs' in policy) {
      if ((e.kind === 'video') === hasVideo) {
        partStart ??= dts;
        if (dts >= partStart + policy.partMs) {
          cut = true;
          partStart += Math.floor((dts - partStart) / policy.partMs) * policy.partMs;
        }
      }
    } else cut = policy.beforeSample.has(index);
    index++;
    if (cut) {
      const f = writer.flush({ before: dts });
      if (f !== null) fragments.push(f);
    }
  }
  const last = writer.flush({ final: true });
  if (last !== null) fragments.push(last);
  const init = writer.initSegment();
  const file = concatChunks([init, ...fragments.flatMap((f) => f.chunks)]);
  return { file, init, fragments, writer };
}

export interface ProbedPacket {
  type: 'video' | 'audio';
  stream: number;
  pts: number;
  dts: number;
  duration: number;
  size: number;
  keyframe: boolean;
}

export interface Probed {
  streams: {
    index: number;
    codec_type: string;
    codec_name: string;
    time_base: string;
    [k: string]: unknown;
  }[];
  packets: ProbedPacket[];
}

/** ffprobe's streams and packets (with durations) of a file. */
export async function ffprobe(file: string): Promise<Probed> {
  const r = await run('ffprobe', [
    ...['-v', 'error', '-show_entries'],
    'packet=codec_type,stream_index,pts,dts,duration,size,flags:stream',
    ...['-of', 'json', file],
  ]).done;
  if (r.code !== 0) throw new Error(`ffprobe failed: ${r.stderr}`);
  const parsed = JSON.parse(r.stdout) as {
    streams: Probed['streams'];
    packets: Record<string, string | number>[];
  };
  return {
    streams: parsed.streams,
    packets: parsed.packets.map((p) => ({
      type: p.codec_type === 'video' ? 'video' : 'audio',
      stream: Number(p.stream_index),
      pts: Number(p.pts),
      dts: Number(p.dts),
      duration: Number(p.duration),
      size: Number(p.size),
      keyframe: String(p.flags).startsWith('K'),
    })),
  };
}

/** Decodes a whole file with FFmpeg; returns its error output (empty when it decoded cleanly). */
export async function decodeErrors(file: string): Promise<string> {
  const r = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], 120_000).done;
  return r.code === 0 ? r.stderr.trim() : `exit ${r.code}: ${r.stderr}`;
}

/** The time base of a probed stream as a number of ticks per second. */
export function ticksPerSecond(timeBase: string): number {
  const [num, den] = timeBase.split('/').map(Number);
  return den! / num!;
}

/**
 * Per track, read back by the independent box reader: where a sample's decode time plus its duration is not the
 * next sample's decode time (across fragment boundaries too: each tfdt must continue the previous fragment).
 */
export function discontinuities(file: Uint8Array): string[] {
  const out: string[] = [];
  const { samples } = readFragmentedMp4(file);
  const last = new Map<number, ReadSample>();
  for (const s of samples) {
    const previous = last.get(s.trackId);
    if (previous !== undefined && previous.dts + previous.duration !== s.dts) {
      out.push(`track ${s.trackId}: ${previous.dts} + ${previous.duration} != ${s.dts}`);
    }
    last.set(s.trackId, s);
  }
  return out;
}
