import type { DemuxEvent } from '@rtmp/flv-demux';
import { readFixture } from '@rtmp/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readFragmentedMp4 } from './cmaf-box-reader.js';
import { demuxFlv, muxEvents } from './cmaf-helpers.js';

interface Expected {
  kind: 'video' | 'audio';
  dts: number;
  pts: number;
  sync: boolean;
  data: number[];
}

/** What the samples of `events` must read back as, worked out from the events alone (ticks at 90 kHz / the rate). */
function expectedSamples(events: readonly DemuxEvent[]): Expected[][] {
  const tracks = new Map<string, { rate: number; samples: Expected[] }>();
  for (const e of events) {
    if (e.kind === 'codec') {
      const rate = e.mediaType === 'video' ? 90_000 : e.codec === 'opus' ? 48_000 : e.info.sampleRate!;
      tracks.set(`${e.mediaType}${e.track}`, { rate, samples: [] });
    } else if (e.kind === 'video' || e.kind === 'audio') {
      const t = tracks.get(`${e.kind}${e.track}`)!;
      const ticks = (ms: number) => Math.round((ms * t.rate) / 1000);
      if (e.kind === 'video') {
        let data: number[];
        if (Array.isArray(e.payload)) {
          data = e.payload.flatMap((nal) => [...[24, 16, 8, 0].map((s) => (nal.length >>> s) & 255), ...nal]);
        } else {
          const f = e.payload as Uint8Array;
          data = [...(e.codec === 'av1' && f[0] === 0x12 && f[1] === 0 ? f.subarray(2) : f)];
        }
        t.samples.push({ kind: 'video', dts: ticks(e.dts), pts: ticks(e.pts), sync: e.keyframe, data });
      } else {
        t.samples.push({
          kind: 'audio',
          dts: ticks(e.timestamp),
          pts: ticks(e.timestamp),
          sync: true,
          data: [...e.payload],
        });
      }
    }
  }
  return [...tracks.values()].map((t) => t.samples);
}

function readBack(file: Uint8Array): Expected[][] {
  const mp4 = readFragmentedMp4(file);
  const ids = [...mp4.tracks.keys()].sort((a, b) => a - b);
  return ids.map((id) => {
    const samples = mp4.samples.filter((s) => s.trackId === id);
    // Durations: each sample's is the next one's decode time minus its own (checked across fragments).
    for (let i = 0; i + 1 < samples.length; i++)
      expect(samples[i]!.dts + samples[i]!.duration).toBe(samples[i + 1]!.dts);
    const kind = mp4.tracks.get(id)!.handler === 'vide' ? ('video' as const) : ('audio' as const);
    return samples.map((s) => ({ kind, dts: s.dts, pts: s.pts, sync: s.sync, data: [...s.data] }));
  });
}

function checkSplit(events: readonly DemuxEvent[], cuts: Set<number>): void {
  const { file, fragments } = muxEvents(events, { beforeSample: cuts });
  expect(readBack(file)).toEqual(expectedSamples(events));
  expect(fragments.map((f) => f.sequenceNumber)).toEqual(fragments.map((_, i) => i + 1));
  expect(readFragmentedMp4(file).fragments).toBe(fragments.length);
}

const FIXTURES = ['small_h264_aac.flv', 'enhanced/av1_opus_testsrc.flv'];

describe('any split of a sample sequence into fragments reads back as the same samples', () => {
  for (const name of FIXTURES) {
    const events = demuxFlv(readFixture(name));
    const samples = events.filter((e) => e.kind === 'video' || e.kind === 'audio');
    const count = samples.length;
    // Boundaries start after the last configuration: a fragment fixes the track set (see 'reconfigure').
    const lastConfig = events.findLastIndex((e) => e.kind === 'codec');
    const first = samples.findIndex((s) => events.indexOf(s) > lastConfig);
    it(`${name}: random fragment boundaries`, () => {
      fc.assert(
        fc.property(fc.uniqueArray(fc.integer({ min: first, max: count - 1 }), { maxLength: 60 }), (cuts) => {
          checkSplit(events, new Set(cuts));
        }),
        { numRuns: 40 },
      );
    });
    it(`${name}: a fragment before every sample, and one fragment for everything`, () => {
      checkSplit(events, new Set(Array.from({ length: count - first }, (_, i) => first + i)));
      checkSplit(events, new Set());
    });
  }

  it('synthetic AVC + AAC streams: random sizes, timestamps, composition offsets and boundaries', () => {
    const fixture = demuxFlv(readFixture('small_h264_aac.flv'));
    const configs = fixture.filter((e) => e.kind === 'codec');
    const sample = fc.record({
      video: fc.boolean(),
      gap: fc.integer({ min: 0, max: 70 }),
      cto: fc.integer({ min: -40, max: 200 }),
      nalSizes: fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 4 }),
      keyframe: fc.boolean(),
      cut: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.array(sample, { minLength: 1, maxLength: 80 }),
        (start, list) => {
          const events: DemuxEvent[] = [...configs];
          const cuts = new Set<number>();
          let video = start;
          let audio = start;
          let fill = 0;
          list.forEach((s, i) => {
            const bytes = (n: number) => Uint8Array.from({ length: n }, () => fill++ & 255);
            if (s.cut) cuts.add(i);
            if (s.video) {
              video += s.gap;
              events.push({
                kind: 'video',
                codec: 'avc',
                track: 0,
                dts: video,
                pts: video + s.cto,
                keyframe: s.keyframe,
                frameType: s.keyframe ? 1 : 2,
                timestampOffsetNano: 0,
                payload: s.nalSizes.map(bytes),
              });
            } else {
              audio += s.gap;
              events.push({
                kind: 'audio',
                codec: 'aac',
                track: 0,
                timestamp: audio,
                timestampOffsetNano: 0,
                payload: bytes(s.nalSizes[0]!),
              });
            }
          });
          checkSplit(events, cuts);
        },
      ),
      { numRuns: 150 },
    );
  });
});
