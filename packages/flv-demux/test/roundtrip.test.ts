import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AudioCodec,
  type AudioMuxTrack,
  concatBytes,
  type DemuxEvent,
  muxAudioControl,
  muxAudioSample,
  muxScriptData,
  muxVideoControl,
  muxVideoSample,
  StreamDemuxer,
  StreamMuxer,
  type VideoCodec,
  type VideoMuxTrack,
} from '../src/index.js';
import { AVCC, ascii, HVCC, hex } from './helpers.js';

const VIDEO: { codec: VideoCodec; init: Uint8Array | null; legacyOnly?: boolean; legacyId?: number }[] = [
  { codec: 'avc', init: AVCC },
  { codec: 'hevc', init: HVCC },
  { codec: 'hevc', init: HVCC, legacyId: 12 },
  { codec: 'vvc', init: hex('ff 00') },
  { codec: 'av1', init: hex('81 08 0c 00') },
  { codec: 'av1', init: hex('81 08 0c 00'), legacyId: 13 },
  { codec: 'vp9', init: hex('01000000 00 1f 80 01 01 01 0000') },
  { codec: 'vp9', init: null },
  { codec: 'vp8', init: null },
  { codec: 'h263', init: null, legacyOnly: true },
  { codec: 'screen', init: null, legacyOnly: true },
  { codec: 'vp6', init: null, legacyOnly: true },
  { codec: 'vp6a', init: null, legacyOnly: true },
  { codec: 'screen2', init: null, legacyOnly: true },
];

const OPUS_HEAD = Uint8Array.from([...ascii('OpusHead'), 1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]);
const STREAMINFO = hex('1000 1000 000000 000000 0ac4 4170 0000000000 00000000000000000000000000000000');

const AUDIO: {
  codec: AudioCodec;
  init: Uint8Array | null;
  legacyOnly?: boolean;
  legacyId?: number;
  legacyFlags?: number;
}[] = [
  { codec: 'aac', init: hex('1210') },
  { codec: 'aac', init: hex('1190'), legacyFlags: 0xe },
  { codec: 'opus', init: OPUS_HEAD },
  { codec: 'opus', init: null },
  { codec: 'flac', init: STREAMINFO },
  { codec: 'ac3', init: null },
  { codec: 'eac3', init: null },
  { codec: 'mp3', init: null },
  { codec: 'mp3', init: null, legacyId: 2, legacyFlags: 0xf },
  { codec: 'mp3', init: null, legacyId: 14, legacyFlags: 0x2 },
  { codec: 'pcm', init: null, legacyOnly: true, legacyId: 0, legacyFlags: 0x3 },
  { codec: 'adpcm', init: null, legacyOnly: true, legacyId: 1, legacyFlags: 0xe },
  { codec: 'pcm-le', init: null, legacyOnly: true, legacyId: 3, legacyFlags: 0xf },
  { codec: 'nellymoser', init: null, legacyOnly: true, legacyId: 4, legacyFlags: 0x6 },
  { codec: 'nellymoser', init: null, legacyOnly: true, legacyId: 6, legacyFlags: 0xe },
  { codec: 'g711a', init: null, legacyOnly: true, legacyId: 7, legacyFlags: 0x2 },
  { codec: 'g711u', init: null, legacyOnly: true, legacyId: 8, legacyFlags: 0x2 },
  { codec: 'speex', init: null, legacyOnly: true, legacyId: 11, legacyFlags: 0x6 },
  { codec: 'device', init: null, legacyOnly: true, legacyId: 15, legacyFlags: 0x0 },
];

const bytes = fc.uint8Array({ maxLength: 24 });
const nano = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999_999 }));
const ts = fc.integer({ min: 0, max: 2 ** 32 - 1 });

const videoCase = fc
  .record({
    kind: fc.integer({ min: 0, max: VIDEO.length - 1 }),
    track: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 255 })),
    samples: fc.array(
      fc.record({
        dts: ts,
        cts: fc.integer({ min: -0x800000, max: 0x7fffff }),
        frameType: fc.integer({ min: 1, max: 4 }),
        nalus: fc.array(bytes, { maxLength: 4 }),
        raw: bytes,
        nano,
      }),
      { maxLength: 6 },
    ),
  })
  .map(({ kind, track, samples }) => ({
    spec: VIDEO[kind]!,
    track: VIDEO[kind]!.legacyOnly ? 0 : track,
    samples,
  }));

const audioCase = fc
  .record({
    kind: fc.integer({ min: 0, max: AUDIO.length - 1 }),
    track: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 255 })),
    samples: fc.array(fc.record({ ts, payload: bytes, nano }), { maxLength: 6 }),
  })
  .map(({ kind, track, samples }) => ({
    spec: AUDIO[kind]!,
    track: AUDIO[kind]!.legacyOnly ? 0 : track,
    samples,
  }));

type Tag = { type: 8 | 9 | 18; timestamp: number; body: Uint8Array[] };

function demuxAll(tags: Tag[]): DemuxEvent[] {
  const d = new StreamDemuxer();
  return tags.flatMap((t) => d.push(t.type, t.timestamp, concatBytes(t.body)));
}

describe('demux(mux(samples)) === samples, for every codec', () => {
  it('video and audio, all codecs, tracks, composition times, ModEx nano offsets', () => {
    fc.assert(
      fc.property(videoCase, audioCase, (v, a) => {
        const tags: Tag[] = [
          { type: 18, timestamp: 0, body: [muxScriptData('onMetaData', [{ width: 2 }], true)] },
        ];
        const vt: VideoMuxTrack = { codec: v.spec.codec, track: v.track };
        if (v.spec.legacyId !== undefined) vt.legacyId = v.spec.legacyId;
        if (v.spec.init) tags.push({ type: 9, timestamp: 0, body: muxVideoControl(vt, 0, v.spec.init) });
        const nal = v.spec.codec === 'avc' || v.spec.codec === 'hevc' || v.spec.codec === 'vvc';
        for (const s of v.samples) {
          const legacyOnly = v.spec.legacyOnly === true;
          const body = muxVideoSample(vt, {
            dts: s.dts,
            pts: nal ? s.dts + s.cts : s.dts,
            keyframe: s.frameType === 1,
            frameType: s.frameType,
            payload: nal ? s.nalus : s.raw,
            timestampOffsetNano: legacyOnly ? 0 : s.nano,
          });
          tags.push({ type: 9, timestamp: s.dts, body });
        }
        const at: AudioMuxTrack = { codec: a.spec.codec, track: a.track };
        if (a.spec.legacyId !== undefined) at.legacyId = a.spec.legacyId;
        if (a.spec.legacyFlags !== undefined) at.legacyFlags = a.spec.legacyFlags;
        if (a.spec.init) tags.push({ type: 8, timestamp: 0, body: muxAudioControl(at, 0, a.spec.init) });
        for (const s of a.samples) {
          const n = a.spec.legacyOnly ? 0 : s.nano;
          tags.push({ type: 8, timestamp: s.ts, body: muxAudioSample(at, s.payload, n) });
        }

        const events = demuxAll(tags);
        expect(events.filter((e) => e.kind === 'error' || e.kind === 'unsupported')).toEqual([]);
        expect(events.filter((e) => e.kind === 'video')).toHaveLength(v.samples.length);
        expect(events.filter((e) => e.kind === 'audio')).toHaveLength(a.samples.length);

        const muxer = new StreamMuxer();
        const again = demuxAll(events.flatMap((e) => muxer.push(e)));
        expect(again).toEqual(events);
      }),
      { numRuns: 800 },
    );
  }, 60_000);

  it('an Enhanced RTMP avc1 + mp4a stream on track 0 survives being re-muxed to the legacy form', () => {
    const tags: Tag[] = [
      { type: 9, timestamp: 0, body: [Uint8Array.from([0x90, ...ascii('avc1')]), AVCC] },
      {
        type: 9,
        timestamp: 0,
        body: [Uint8Array.from([0x91, ...ascii('avc1'), 0, 0, 40, 0, 0, 0, 1, 0x65])],
      },
      { type: 8, timestamp: 0, body: [Uint8Array.from([0x90, ...ascii('mp4a'), 0x12, 0x10])] },
      { type: 8, timestamp: 5, body: [Uint8Array.from([0x91, ...ascii('mp4a'), 7])] },
    ];
    const events = demuxAll(tags);
    const muxer = new StreamMuxer();
    const muxed = events.flatMap((e) => muxer.push(e));
    expect(muxed.map((t) => t.body[0]![0])).toEqual([0x17, 0x17, 0xaf, 0xaf]);
    expect(demuxAll(muxed)).toEqual(events);
  });

  it('the muxer uses the legacy form for AVC/AAC on track 0 and Enhanced RTMP for the rest', () => {
    const avc = muxVideoSample({ codec: 'avc', track: 0 }, { dts: 0, pts: 40, keyframe: true, payload: [] });
    expect(Array.from(avc[0]!)).toEqual([0x17, 1, 0, 0, 40]);
    const hevc = muxVideoSample(
      { codec: 'hevc', track: 0 },
      { dts: 0, pts: 40, keyframe: true, payload: [] },
    );
    expect(Array.from(concatBytes(hevc))).toEqual([0x91, ...ascii('hvc1'), 0, 0, 40]);
    const hevcX = muxVideoSample(
      { codec: 'hevc', track: 0 },
      { dts: 0, pts: 0, keyframe: false, payload: [] },
    );
    expect(Array.from(concatBytes(hevcX))).toEqual([0xa3, ...ascii('hvc1')]);
    expect(Array.from(concatBytes(muxAudioSample({ codec: 'aac', track: 0 }, Uint8Array.of(9))))).toEqual([
      0xaf, 1, 9,
    ]);
    expect(Array.from(concatBytes(muxAudioSample({ codec: 'opus', track: 2 }, Uint8Array.of(9))))).toEqual([
      0x95,
      0x01,
      ...ascii('Opus'),
      2,
      9,
    ]);
  });

  it('NAL payloads are not copied by the muxer', () => {
    const nal = Uint8Array.of(0x65, 1, 2, 3);
    const pieces = muxVideoSample(
      { codec: 'avc', track: 0 },
      { dts: 0, pts: 0, keyframe: true, payload: [nal] },
    );
    expect(pieces).toContain(nal);
  });
});
