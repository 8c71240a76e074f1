// Streams made by @rtmp/flv-demux's StreamMuxer for the relay tests: every codec the demuxer knows, single-track or
// multitrack, with ModEx nanosecond offsets, a resolution change and an end of sequence where asked. Payloads are
// small and numbered (frame index, track), so every tag body is distinct.
import {
  type AudioCodec,
  concatBytes,
  type DemuxEvent,
  isNalCodec,
  StreamMuxer,
  type VideoCodec,
} from '@rtmp/flv-demux';
import type { Tag } from './relay-tags.js';

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/** Configuration records, two of each codec that has one (the second stands for a resolution change). */
export const CONFIGS = {
  avc: [
    Uint8Array.of(1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 2, 0x68, 0xef),
    Uint8Array.of(1, 0x64, 0, 0x28, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x28, 1, 0, 2, 0x68, 0xee),
  ],
  hevc: [
    Uint8Array.of(
      1,
      1,
      0x60,
      0,
      0,
      0,
      0x90,
      0,
      0,
      0,
      0,
      0,
      0x5d,
      0xf0,
      0,
      0xfc,
      0xfd,
      0xf8,
      0xf8,
      0,
      0,
      0x0f,
      0,
    ),
    Uint8Array.of(
      1,
      1,
      0x60,
      0,
      0,
      0,
      0x90,
      0,
      0,
      0,
      0,
      0,
      0x78,
      0xf0,
      0,
      0xfc,
      0xfd,
      0xf8,
      0xf8,
      0,
      0,
      0x0f,
      0,
    ),
  ],
  vvc: [Uint8Array.of(0xff, 0x00), Uint8Array.of(0xff, 0x01)],
  av1: [Uint8Array.of(0x81, 0x08, 0x0c, 0x00), Uint8Array.of(0x81, 0x0d, 0x0c, 0x00, 0x0a, 0x0b)],
  vp9: [
    Uint8Array.of(1, 0, 0, 0, 0, 0x1f, 0x80, 1, 1, 1, 0, 0),
    Uint8Array.of(1, 0, 0, 0, 0, 0x28, 0x80, 1, 1, 1, 0, 0),
  ],
  aac: [Uint8Array.of(0x12, 0x10)],
  opus: [Uint8Array.of(...ascii('OpusHead'), 1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0)],
  flac: [Uint8Array.of(0x10, 0x00, 0x10, 0x00, 0, 0, 0, 0, 0, 0, 0x0a, 0xc4, 0x41, 0x70, 0, 0, 0, 0, 0)],
} as const;

/** A video track of a synthetic stream. */
export interface VideoTrack {
  codec: VideoCodec;
  track: number;
  /** Config record (null: a codec sent without one, e.g. vp08). */
  init: Uint8Array | null;
  /** Another config record, sent before the keyframe at `changeAt`. */
  changed?: Uint8Array;
  /** A colorInfo Metadata packet after the config. */
  colorInfo?: boolean;
}

/** An audio track of a synthetic stream. */
export interface AudioTrack {
  codec: AudioCodec;
  track: number;
  init: Uint8Array | null;
}

/** What {@link syntheticStream} makes. */
export interface StreamSpec {
  video: VideoTrack[];
  audio: AudioTrack[];
  frames: number;
  /** Frames per GOP. */
  gop: number;
  /** Give frames a ModEx TimestampOffsetNano. */
  nano?: boolean;
  /** Frame index of the resolution change of the tracks with `changed`. */
  changeAt?: number;
  /** Frame index at which the last video track ends (SequenceEnd); it starts again, same config, 2 frames later. */
  endAt?: number;
}

/** Metadata, configs, then interleaved frames of every track, 25 fps. */
export function syntheticStream(spec: StreamSpec): Tag[] {
  const muxer = new StreamMuxer();
  const tags: Tag[] = [];
  const push = (event: DemuxEvent) => {
    for (const t of muxer.push(event))
      tags.push({ type: t.type, timestamp: t.timestamp, body: concatBytes(t.body) });
  };
  const configure = (v: VideoTrack, timestamp: number, initData: Uint8Array | null) =>
    push({
      kind: 'codec',
      mediaType: 'video',
      codec: v.codec,
      track: v.track,
      timestamp,
      initData,
      info: isNalCodec(v.codec) ? { codecString: v.codec, nalLengthSize: 4 } : { codecString: v.codec },
    });
  const metadata = { width: 320, height: 240, framerate: 25 };
  push({ kind: 'metadata', name: 'onMetaData', value: metadata, args: [metadata], timestamp: 0 });
  for (const v of spec.video) {
    configure(v, 0, v.init);
    if (v.colorInfo) {
      const colorInfo = { colorConfig: { bitDepth: 10, colorPrimaries: 9 } };
      push({
        kind: 'metadata',
        name: 'colorInfo',
        value: colorInfo,
        args: [colorInfo],
        timestamp: 0,
        mediaType: 'video',
        track: v.track,
      });
    }
  }
  for (const a of spec.audio) {
    push({
      kind: 'codec',
      mediaType: 'audio',
      codec: a.codec,
      track: a.track,
      timestamp: 0,
      initData: a.init,
      info: { codecString: a.codec },
    });
  }
  const last = spec.video.at(-1);
  for (let i = 0; i < spec.frames; i++) {
    const ts = i * 40;
    const keyframe = i % spec.gop === 0;
    if (i === spec.changeAt) for (const v of spec.video) if (v.changed) configure(v, ts, v.changed);
    const ending = last !== undefined && spec.endAt !== undefined;
    if (ending && i === spec.endAt) {
      push({ kind: 'sequenceEnd', mediaType: 'video', codec: last.codec, track: last.track, timestamp: ts });
    }
    if (ending && i === spec.endAt! + 2) configure(last, ts, last.init);
    for (const v of spec.video) {
      if (ending && v === last && i >= spec.endAt! && i < spec.endAt! + 2) continue;
      const base = {
        kind: 'video',
        track: v.track,
        dts: ts,
        keyframe,
        frameType: keyframe ? 1 : 2,
        timestampOffsetNano: spec.nano ? (i * 7919 + v.track) % 1_000_000 : 0,
      } as const;
      const codec = v.codec;
      // NAL codecs carry NAL units and a composition time; the others a raw frame with pts = dts.
      push(
        isNalCodec(codec)
          ? {
              ...base,
              codec,
              pts: ts + 80,
              payload: [Uint8Array.of(keyframe ? 0x65 : 0x41, i & 255, v.track)],
            }
          : { ...base, codec, pts: ts, payload: Uint8Array.of(i & 255, v.track, 1) },
      );
    }
    for (const a of spec.audio) {
      push({
        kind: 'audio',
        codec: a.codec,
        track: a.track,
        timestamp: ts + 20,
        payload: Uint8Array.of(0x21, i & 255, a.track),
        timestampOffsetNano: spec.nano ? (i * 104_729 + a.track) % 1_000_000 : 0,
      });
    }
  }
  return tags;
}

const u24 = (n: number) => [(n >> 16) & 255, (n >> 8) & 255, n & 255];
/** A ManyTracks / ManyTracksManyCodecs track entry: id, u24 size, data. */
const sized = (track: number, data: readonly number[]) => [track, ...u24(data.length), ...data];
const tag = (type: 8 | 9, timestamp: number, ...parts: (number | readonly number[])[]): Tag => ({
  type,
  timestamp,
  body: Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...p]))),
});

/**
 * A multitrack stream written by hand in the forms StreamMuxer does not make: video tracks 1 (hvc1) and 2 (av01)
 * configured by one ManyTracksManyCodecs SequenceStart and sent in ManyTracksManyCodecs frames; audio tracks 1 and 2
 * (Opus) by ManyTracks (SequenceStart, MultichannelConfig, frames); track 2's colorInfo; track 3 (vp09) configured
 * and sent through ModEx (TimestampOffsetNano) around a OneTrack header; track 2's resolution change at frame 18 and
 * track 1's end of sequence (ManyTracks form) at frame 30; keyframes every 12 frames, 40 frames.
 */
export function handMadeMultitrack(): Tag[] {
  const hvc1 = ascii('hvc1');
  const av01 = ascii('av01');
  const vp09 = ascii('vp09');
  const opus = ascii('Opus');
  const hvcc = [...CONFIGS.hevc[0]];
  const av1c = [...CONFIGS.av1[0]];
  const opusHead = [...CONFIGS.opus[0]];
  const source: Tag[] = [
    { type: 18, timestamp: 0, body: Uint8Array.of(2, 0, 10, ...ascii('onMetaData'), 5) },
    tag(9, 0, 0x96, 0x20, hvc1, sized(1, hvcc), av01, sized(2, av1c)),
    tag(8, 0, 0x95, 0x10, opus, sized(1, opusHead), sized(2, opusHead)),
    tag(8, 0, 0x95, 0x14, opus, sized(1, [1, 2, 0, 0, 0, 3]), sized(2, [1, 1, 0, 0, 0, 4])),
    tag(9, 0, 0x96, 0x04, av01, 2, 2, 0, 9, ascii('colorInfo'), 5),
    tag(9, 0, 0x97, 0x02, 0x00, 0x10, 0x00, 0x06, 0x00, vp09, 3, [...CONFIGS.vp9[0]]),
  ];
  for (let i = 0; i < 40; i++) {
    const ts = i * 40;
    const first = i % 12 === 0 ? 0x90 : 0xa0;
    if (i === 18) source.push(tag(9, ts, 0x96, 0x00, av01, 2, [...CONFIGS.av1[1]]));
    if (i === 30) source.push(tag(9, ts, 0x96, 0x12, hvc1, sized(1, [])));
    if (i < 30) {
      source.push(
        tag(9, ts, first | 6, 0x21, hvc1, sized(1, [0, 0, 40, 0, 0, 0, 1, i]), av01, sized(2, [i])),
      );
    } else source.push(tag(9, ts, first | 6, 0x01, av01, 2, i));
    source.push(tag(9, ts, first | 7, 0x02, ...u24(i * 1000), 0x06, 0x01, vp09, 3, i));
    source.push(tag(8, ts + 20, 0x95, 0x11, opus, sized(1, [i, 1]), sized(2, [i, 2])));
  }
  return source;
}
