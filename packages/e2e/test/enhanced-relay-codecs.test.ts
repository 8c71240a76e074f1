// Streams made by StreamMuxer for every codec the demuxer knows, publisher -> RtmpServer + LiveRelay -> players over
// TCP with @rtmp/client on both ends: single-track, multitrack (two video tracks of different codecs, two audio
// tracks), ModEx nanosecond offsets, a resolution change and an end of sequence; players at the start and at points
// chosen around each event.
import { parseAudioTag, parseVideoTag } from '@rtmp/flv-demux';
import { describe, expect, it } from 'vitest';
import {
  currentConfigs,
  describeTag,
  expectJoiner,
  relayToPlayers,
  roleOf,
  type Tag,
} from './helpers/relay-tags.js';
import { CONFIGS, handMadeMultitrack, type StreamSpec, syntheticStream } from './helpers/synthetic.js';

/** The first index of a tag at or after `ms` (media only), or the stream's length. */
function indexAt(source: readonly Tag[], ms: number): number {
  const i = source.findIndex((t) => t.type !== 18 && t.timestamp >= ms);
  return i < 0 ? source.length : i;
}

/**
 * Join points: the start, right after the headers, mid-GOP, and around each frame index in `frames` (just before
 * its first tag, and a couple of tags after it).
 */
function joinsAround(source: readonly Tag[], frames: readonly number[]): number[] {
  const firstFrame = source.findIndex((t) => roleOf(t).role === 'keyframe');
  const points = new Set([0, firstFrame, firstFrame + 1, indexAt(source, 5 * 40), indexAt(source, 13 * 40)]);
  for (const frame of frames) {
    const at = indexAt(source, frame * 40);
    for (const p of [at - 1, at, at + 1, at + 2, at + 4]) if (p >= 0 && p < source.length) points.add(p);
  }
  return [...points].sort((a, b) => a - b);
}

/** The FourCCs (or legacy ids) a stream's tags carry, for the test to show which forms it went through. */
function forms(source: readonly Tag[]): string[] {
  const seen = new Set<string>();
  for (const tag of source) {
    if (tag.type === 9)
      for (const p of parseVideoTag(tag.body).packets) seen.add(p.fourcc ?? `video ${p.legacyCodecId}`);
    if (tag.type === 8) {
      const a = parseAudioTag(tag.body);
      for (const p of a.packets) seen.add(p.fourcc ?? `audio ${a.soundFormat}`);
    }
  }
  return [...seen].sort();
}

async function relayAndCheck(source: readonly Tag[], joins: readonly number[]): Promise<Map<number, Tag[]>> {
  const { received } = await relayToPlayers(source, joins);
  expect([...received.keys()]).toEqual([...new Set(joins)].sort((a, b) => a - b));
  for (const [joinAt, tags] of received) expectJoiner(source, joinAt, tags);
  // The player from the start got every tag (the stream starts with a keyframe after its headers).
  expect(received.get(0)!.map(describeTag)).toEqual(source.map((t) => describeTag(t)));
  return received;
}

const SINGLE: [string, StreamSpec, string[]][] = [
  [
    'hvc1 + Opus, colorInfo, ModEx nano offsets, resolution change',
    {
      video: [{ codec: 'hevc', track: 0, init: CONFIGS.hevc[0], changed: CONFIGS.hevc[1], colorInfo: true }],
      audio: [{ codec: 'opus', track: 0, init: CONFIGS.opus[0] }],
      frames: 30,
      gop: 10,
      changeAt: 20,
      nano: true,
    },
    ['Opus', 'hvc1'],
  ],
  [
    'vvc1 + fLaC, resolution change and end of sequence',
    {
      video: [{ codec: 'vvc', track: 0, init: CONFIGS.vvc[0], changed: CONFIGS.vvc[1] }],
      audio: [{ codec: 'flac', track: 0, init: CONFIGS.flac[0] }],
      frames: 40,
      gop: 10,
      changeAt: 10,
      endAt: 22,
    },
    ['fLaC', 'vvc1'],
  ],
  [
    'av01 + ac-3, colorInfo, nano offsets, resolution change mid-GOP',
    {
      video: [{ codec: 'av1', track: 0, init: CONFIGS.av1[0], changed: CONFIGS.av1[1], colorInfo: true }],
      audio: [{ codec: 'ac3', track: 0, init: null }],
      frames: 30,
      gop: 10,
      changeAt: 15,
      nano: true,
    },
    ['ac-3', 'av01'],
  ],
  [
    'vp09 + ec-3, resolution change, end of sequence',
    {
      video: [{ codec: 'vp9', track: 0, init: CONFIGS.vp9[0], changed: CONFIGS.vp9[1] }],
      audio: [{ codec: 'eac3', track: 0, init: null }],
      frames: 40,
      gop: 10,
      changeAt: 20,
      endAt: 25,
    },
    ['ec-3', 'vp09'],
  ],
  [
    'vp08 (no config) + .mp3, nano offsets',
    {
      video: [{ codec: 'vp8', track: 0, init: null }],
      audio: [{ codec: 'mp3', track: 0, init: null }],
      frames: 30,
      gop: 10,
      nano: true,
    },
    ['.mp3', 'vp08'],
  ],
  [
    'avc1 + mp4a (E-RTMP frames through ModEx nano offsets, legacy headers), resolution change, end of sequence',
    {
      video: [{ codec: 'avc', track: 0, init: CONFIGS.avc[0], changed: CONFIGS.avc[1] }],
      audio: [{ codec: 'aac', track: 0, init: CONFIGS.aac[0] }],
      frames: 30,
      gop: 10,
      changeAt: 10,
      endAt: 17,
      nano: true,
    },
    ['audio 10', 'avc1', 'mp4a', 'video 7'],
  ],
];

describe('StreamMuxer streams of every codec through the relay', () => {
  it.each(SINGLE)('%s', async (_name, spec, fourccs) => {
    const source = syntheticStream(spec);
    expect(forms(source)).toEqual(fourccs);
    const events = [spec.changeAt, spec.endAt, spec.endAt === undefined ? undefined : spec.endAt + 2].filter(
      (f): f is number => f !== undefined,
    );
    const received = await relayAndCheck(source, joinsAround(source, events));
    if (spec.changeAt !== undefined) {
      // A player joining after the resolution change got the new header only.
      const after = indexAt(source, spec.changeAt * 40) + 2;
      const videoConfigs = received
        .get(after)!
        .filter((t) => t.type === 9 && roleOf(t).role === 'config')
        .map(describeTag);
      const changed = spec.video[0]!.changed!;
      expect(videoConfigs.length).toBeGreaterThanOrEqual(1);
      expect(videoConfigs[0]).toBe(
        describeTag(source.find((t) => t.type === 9 && Buffer.from(t.body).includes(Buffer.from(changed)))!),
      );
    }
    if (spec.endAt !== undefined) {
      // A player joining right after the end of sequence gets no video header: none is current until the track
      // starts again, whose header it then gets in order before the next keyframe.
      const ended = indexAt(source, spec.endAt * 40) + 1;
      expect(roleOf(source[ended - 1]!)).toEqual({ role: 'end', tracks: [0] });
      expect(currentConfigs(source, ended).filter((i) => source[i]!.type === 9)).toEqual([]);
      const joined = received.get(ended)!;
      const firstFrame = joined.findIndex((t) => roleOf(t).role === 'keyframe');
      expect(firstFrame).toBeGreaterThan(0);
      const videoHeaders = joined.slice(0, firstFrame).filter((t) => t.type === 9);
      expect(videoHeaders.map(describeTag)).toEqual(
        [
          source.findLast(
            (t, i) =>
              i < indexAt(source, (spec.endAt! + 3) * 40) && roleOf(t).role === 'config' && t.type === 9,
          )!,
        ].map(describeTag),
      );
    }
  });
});

describe('multitrack streams through the relay', () => {
  it('two video tracks of different codecs (avc 0, hvc1 1) and two audio tracks (aac 0, Opus 1), nano offsets, a resolution change and an end of sequence', async () => {
    const source = syntheticStream({
      video: [
        { codec: 'avc', track: 0, init: CONFIGS.avc[0], changed: CONFIGS.avc[1] },
        { codec: 'hevc', track: 1, init: CONFIGS.hevc[0], changed: CONFIGS.hevc[1], colorInfo: true },
      ],
      audio: [
        { codec: 'aac', track: 0, init: CONFIGS.aac[0] },
        { codec: 'opus', track: 1, init: CONFIGS.opus[0] },
      ],
      frames: 50,
      gop: 10,
      nano: true,
      changeAt: 20,
      endAt: 33,
    });
    expect(forms(source)).toEqual(['Opus', 'audio 10', 'avc1', 'hvc1', 'mp4a', 'video 7']);
    const received = await relayAndCheck(source, joinsAround(source, [20, 33, 35]));
    // Right after the change: both video tracks' new headers, track 1's colorInfo, both audio headers.
    const after = indexAt(source, 20 * 40) + 2;
    expect(currentConfigs(source, after).map((i) => roleOf(source[i]!))).toEqual([
      { role: 'extra', tracks: [1] },
      { role: 'config', tracks: [0] },
      { role: 'config', tracks: [1] },
      { role: 'config', tracks: [0] },
      { role: 'config', tracks: [1] },
    ]);
    expect(received.has(after)).toBe(true);
  });

  it('hvc1 0 and avc1 2 (OneTrack), Opus 0 and mp4a 1, ModEx nano offsets', async () => {
    const source = syntheticStream({
      video: [
        { codec: 'hevc', track: 0, init: CONFIGS.hevc[0] },
        { codec: 'avc', track: 2, init: CONFIGS.avc[0], changed: CONFIGS.avc[1] },
      ],
      audio: [
        { codec: 'opus', track: 0, init: CONFIGS.opus[0] },
        { codec: 'aac', track: 1, init: CONFIGS.aac[0] },
      ],
      frames: 30,
      gop: 10,
      nano: true,
      changeAt: 12,
    });
    expect(forms(source)).toEqual(['Opus', 'avc1', 'hvc1', 'mp4a']);
    await relayAndCheck(source, joinsAround(source, [12, 20]));
  });

  it('ManyTracks and ManyTracksManyCodecs headers and frames, a ModEx-wrapped SequenceStart, one track of a combined header replaced, a multitrack end of sequence', async () => {
    const source = handMadeMultitrack();
    expect(forms(source)).toEqual(['Opus', 'av01', 'hvc1', 'vp09']);
    const changed = source.findIndex((t) => t.timestamp === 18 * 40) + 1;
    const ended = source.findIndex((t) => t.timestamp === 30 * 40) + 1;
    const received = await relayAndCheck(source, [0, 2, 5, 6, 20, changed, changed + 3, ended, ended + 2]);
    // After track 2's change: the combined header (still track 1's), track 3's ModEx one, track 2's new one and its
    // colorInfo; after track 1's end the combined header is nobody's current config.
    expect(currentConfigs(source, changed).filter((i) => source[i]!.type === 9)).toEqual([
      1,
      4,
      5,
      changed - 1,
    ]);
    expect(currentConfigs(source, ended).filter((i) => source[i]!.type === 9)).toEqual([4, 5, changed - 1]);
    const late = received.get(ended)!;
    expect(
      late
        .filter((t) => t.type === 9 && roleOf(t).role === 'config')
        .map(describeTag)
        .sort(),
    ).toEqual([source[5]!, source[changed - 1]!].map(describeTag).sort());
  });
});
