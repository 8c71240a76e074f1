import { Buffer } from 'node:buffer';
import { encodeMessage } from '@rtmp/chunk';
import { ChunkStreams } from '@rtmp/connection';
import { FlvReader } from '@rtmp/flv-demux';
import { readFixture } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { LiveRelay } from '../src/index.js';
import {
  describeTag,
  expectedForJoiner,
  RecordingPlayer,
  type StreamSpec,
  syntheticStream,
  type Tag,
} from './helpers/relay-model.js';

// Publisher -> LiveRelay -> players, in process: players join at many points of a stream and must receive exactly
// what the relay's contract says (helpers/relay-model.ts), tag for tag: type, timestamp, packet type, FourCC, bytes.

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
const bytes = (...b: number[]) => Uint8Array.from(b);

// Config records: the relay never reads them, so only their bytes matter (two of each for resolution changes).
const AVCC = bytes(
  0x01,
  0x64,
  0x00,
  0x1f,
  0xff,
  0xe1,
  0x00,
  0x04,
  0x67,
  0x64,
  0x00,
  0x1f,
  0x01,
  0x00,
  0x02,
  0x68,
  0xef,
);
const AVCC_720 = bytes(
  0x01,
  0x64,
  0x00,
  0x28,
  0xff,
  0xe1,
  0x00,
  0x04,
  0x67,
  0x64,
  0x00,
  0x28,
  0x01,
  0x00,
  0x02,
  0x68,
  0xee,
);
const HVCC = bytes(
  0x01,
  0x01,
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
);
const HVCC_2 = bytes(
  0x01,
  0x01,
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
);
const VVCC = bytes(0xff, 0x00);
const VVCC_2 = bytes(0xff, 0x01);
const AV1C = bytes(0x81, 0x08, 0x0c, 0x00);
const AV1C_2 = bytes(0x81, 0x0d, 0x0c, 0x00, 0x0a, 0x0b);
const VPCC = bytes(0x01, 0, 0, 0, 0x00, 0x1f, 0x80, 0x01, 0x01, 0x01, 0, 0);
const VPCC_2 = bytes(0x01, 0, 0, 0, 0x00, 0x28, 0x80, 0x01, 0x01, 0x01, 0, 0);
const ASC = bytes(0x12, 0x10);
const OPUS_HEAD = bytes(...ascii('OpusHead'), 1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0);
const STREAMINFO = bytes(0x10, 0x00, 0x10, 0x00, 0, 0, 0, 0, 0, 0, 0x0a, 0xc4, 0x41, 0x70, 0, 0, 0, 0, 0);

/** Pushes `source` through a relay; a player joins after each count of tags in `joins` (0: before the first). */
function relayTo(source: readonly Tag[], joins: readonly number[]): Map<number, RecordingPlayer> {
  const relay = new LiveRelay({ maxGopBytes: 1 << 30 });
  const publisher = new RecordingPlayer().session;
  expect(relay.publish('live/k', publisher, 1)).toBe(true);
  const players = new Map<number, RecordingPlayer>();
  for (let i = 0; i <= source.length; i++) {
    if (joins.includes(i)) {
      const player = new RecordingPlayer();
      players.set(i, player);
      relay.play('live/k', player.session, 1);
    }
    const tag = source[i];
    if (tag)
      relay.push('live/k', publisher, {
        type: tag.type,
        streamId: 1,
        timestamp: tag.timestamp,
        payload: tag.body,
      });
  }
  return players;
}

/** Every player got what the contract says; returns the players. */
function check(
  source: readonly Tag[],
  joins: readonly number[] = source.map((_, i) => i).concat(source.length),
) {
  const players = relayTo(source, joins);
  for (const [at, player] of players) {
    expect(player.tags.map(describeTag), `player joined after ${at} tags`).toEqual(
      expectedForJoiner(source, at).map(describeTag),
    );
  }
  return players;
}

const SINGLE: [string, StreamSpec][] = [
  [
    'legacy avc + aac',
    {
      video: [{ codec: 'avc', track: 0, init: AVCC, changed: AVCC_720 }],
      audio: [{ codec: 'aac', track: 0, init: ASC }],
      frames: 30,
      gop: 10,
      changeAt: 20,
    },
  ],
  [
    'hvc1 + Opus (colorInfo, MultichannelConfig)',
    {
      video: [{ codec: 'hevc', track: 0, init: HVCC, changed: HVCC_2, colorInfo: true }],
      audio: [{ codec: 'opus', track: 0, init: OPUS_HEAD, channelConfig: true }],
      frames: 30,
      gop: 10,
      changeAt: 20,
      nano: true,
    },
  ],
  [
    'vvc1 + fLaC',
    {
      video: [{ codec: 'vvc', track: 0, init: VVCC, changed: VVCC_2 }],
      audio: [{ codec: 'flac', track: 0, init: STREAMINFO }],
      frames: 30,
      gop: 10,
      changeAt: 10,
      endAt: 22,
    },
  ],
  [
    'av01 + ac-3 (colorInfo)',
    {
      video: [{ codec: 'av1', track: 0, init: AV1C, changed: AV1C_2, colorInfo: true }],
      audio: [{ codec: 'ac3', track: 0, init: null }],
      frames: 30,
      gop: 10,
      changeAt: 15,
      nano: true,
    },
  ],
  [
    'vp09 + ec-3',
    {
      video: [{ codec: 'vp9', track: 0, init: VPCC, changed: VPCC_2 }],
      audio: [{ codec: 'eac3', track: 0, init: null }],
      frames: 30,
      gop: 10,
      changeAt: 20,
      endAt: 25,
    },
  ],
  [
    'vp08 (no config) + .mp3',
    {
      video: [{ codec: 'vp8', track: 0, init: null }],
      audio: [{ codec: 'mp3', track: 0, init: null }],
      frames: 30,
      gop: 10,
      nano: true,
    },
  ],
  [
    'legacy HEVC (12) + legacy MP3 (2)',
    {
      video: [{ codec: 'hevc', track: 0, init: HVCC, changed: HVCC_2, legacyId: 12 }],
      audio: [{ codec: 'mp3', track: 0, init: null, legacyId: 2 }],
      frames: 30,
      gop: 10,
      changeAt: 20,
      endAt: 5,
    },
  ],
  [
    'legacy AV1 (13) + aac',
    {
      video: [{ codec: 'av1', track: 0, init: AV1C, changed: AV1C_2, legacyId: 13 }],
      audio: [{ codec: 'aac', track: 0, init: ASC }],
      frames: 30,
      gop: 10,
      changeAt: 20,
    },
  ],
];

describe('LiveRelay: single-track streams of every codec, players joining at every point', () => {
  it.each(SINGLE)('%s', (_name, spec) => {
    const source = syntheticStream(spec);
    const players = check(source);
    // The first player got the whole stream; a late one exactly one header per live track before its first frame.
    expect(players.get(0)!.tags.map(describeTag)).toEqual(
      source.map((t) => describeTag(t.type === 18 ? { ...t, timestamp: 0 } : t)),
    );
  });

  it('a late joiner after a resolution change gets the new header only, after an end of sequence none', () => {
    const spec = SINGLE[2]![1]; // vvc1: change at frame 10, end at 22, restart at 24
    const source = syntheticStream(spec);
    // Joining just before the first tag of frame `frame`.
    const at = (frame: number) => source.findIndex((t) => t.timestamp >= frame * 40 && t.type !== 18);
    // The video headers a player joining after `joinAt` tags gets at once (from the cache).
    const headersOf = (joinAt: number) =>
      relayTo(source.slice(0, joinAt), [joinAt])
        .get(joinAt)!
        .tags.filter((t) => t.type === 9 && (t.body[0]! & 0x0f) === 0)
        .map((t) => Buffer.from(t.body.subarray(5)));
    expect(headersOf(at(15))).toEqual([Buffer.from(VVCC_2)]);
    expect(headersOf(at(23))).toEqual([]);
    expect(headersOf(at(27))).toEqual([Buffer.from(VVCC)]);
  });
});

describe('LiveRelay: multitrack streams', () => {
  it('two video tracks of different codecs and two audio tracks (legacy track 0, OneTrack track 1), ModEx nano offsets, a resolution change and an end of sequence', () => {
    const source = syntheticStream({
      video: [
        { codec: 'avc', track: 0, init: AVCC, changed: AVCC_720 },
        { codec: 'hevc', track: 1, init: HVCC, changed: HVCC_2, colorInfo: true },
      ],
      audio: [
        { codec: 'aac', track: 0, init: ASC },
        { codec: 'opus', track: 1, init: OPUS_HEAD, channelConfig: true },
      ],
      frames: 40,
      gop: 10,
      nano: true,
      changeAt: 20,
      endAt: 33,
    });
    const players = check(source);
    // Joining right after the resolution change: each track's current header once, in the contract's order.
    const afterChange = source.findIndex((t) => t.timestamp === 20 * 40 && t.type === 9) + 2;
    const joined = relayTo(source.slice(0, afterChange), [afterChange]).get(afterChange)!;
    expect(joined.tags.slice(0, 6).map(describeTag)).toEqual(
      [
        source[0]!,
        ...source.filter((t) => t.timestamp === 800 && t.type === 9 && kindOfBody(t) === 'config'),
        source.find((t) => t.type === 9 && kindOfBody(t) === 'metadata')!,
        source.find((t) => t.type === 8 && t.body[0] === 0xaf && t.body[1] === 0)!,
        source.find((t) => t.type === 8 && t.body[0] === 0x95 && t.body[1] === 0x00)!,
      ].map(describeTag),
    );
    expect(players.size).toBe(source.length + 1);
  });

  it('ManyTracks and ManyTracksManyCodecs, a ModEx-wrapped SequenceStart, one track of a combined header replaced, a multitrack end of sequence', () => {
    const u24 = (n: number) => [(n >> 16) & 255, (n >> 8) & 255, n & 255];
    const sized = (track: number, data: readonly number[]) => [track, ...u24(data.length), ...data];
    const tag = (type: 8 | 9, timestamp: number, ...body: (number | readonly number[])[]): Tag => ({
      type,
      timestamp,
      body: Uint8Array.from(body.flatMap((b) => (typeof b === 'number' ? [b] : [...b]))),
    });
    const hvc1 = ascii('hvc1');
    const av01 = ascii('av01');
    const vp09 = ascii('vp09');
    const opus = ascii('Opus');
    const source: Tag[] = [
      { type: 18, timestamp: 0, body: bytes(2, 0, 10, ...ascii('onMetaData'), 5) },
      // Video tracks 1 (hvc1) and 2 (av01) configured by one ManyTracksManyCodecs SequenceStart.
      tag(9, 0, 0x96, 0x20, hvc1, sized(1, [...HVCC]), av01, sized(2, [...AV1C])),
      // Audio tracks 1 and 2 (Opus) by one ManyTracks SequenceStart, then their MultichannelConfigs.
      tag(8, 0, 0x95, 0x10, opus, sized(1, [...OPUS_HEAD]), sized(2, [...OPUS_HEAD])),
      tag(8, 0, 0x95, 0x14, opus, sized(1, [1, 2, 0, 0, 0, 3]), sized(2, [1, 1, 0, 0, 0, 4])),
      // colorInfo of track 2.
      tag(9, 0, 0x96, 0x04, av01, 2, 2, 0, 9, ascii('colorInfo'), 5),
      // Track 3 (vp09) configured through ModEx (TimestampOffsetNano) + Multitrack OneTrack.
      tag(9, 0, 0x97, 0x02, 0x00, 0x10, 0x00, 0x06, 0x00, vp09, 3, [...VPCC]),
    ];
    for (let i = 0; i < 36; i++) {
      const ts = i * 40;
      const key = i % 12 === 0;
      const first = key ? 0x90 : 0xa0;
      if (i === 18) source.push(tag(9, ts, 0x96, 0x00, av01, 2, [...AV1C_2])); // track 2's resolution change
      if (i === 30) source.push(tag(9, ts, 0x96, 0x12, hvc1, sized(1, []))); // track 1 ends (ManyTracks form)
      if (i < 30)
        source.push(
          tag(9, ts, first | 6, 0x21, hvc1, sized(1, [0, 0, 40, 0, 0, 0, 1, i]), av01, sized(2, [i])),
        );
      else source.push(tag(9, ts, first | 6, 0x01, av01, 2, i));
      source.push(tag(9, ts, first | 7, 0x02, ...u24(i * 1000), 0x06, 0x01, vp09, 3, i)); // ModEx + OneTrack frame
      source.push(tag(8, ts + 20, 0x95, 0x11, opus, sized(1, [i, 1]), sized(2, [i, 2])));
    }
    const players = check(source);
    // After track 2's change a late joiner gets the combined header (still track 1's current one), track 3's, then
    // track 2's new one (sent later, so it wins), then colorInfo. After track 1's end the combined header is nobody's
    // current config any more: it is not replayed.
    const changed = source.findIndex((t) => t.timestamp === 18 * 40) + 1;
    const ended = source.findIndex((t) => t.timestamp === 30 * 40) + 1;
    const videoConfigsAt = (joinAt: number) =>
      relayTo(source.slice(0, joinAt), [joinAt])
        .get(joinAt)!
        .tags.filter((t) => t.type === 9)
        .map(describeTag);
    expect(videoConfigsAt(changed)).toEqual(
      [source[1]!, source[5]!, source[changed - 1]!, source[4]!].map(describeTag),
    );
    expect(videoConfigsAt(ended)).toEqual([source[5]!, source[changed - 1]!, source[4]!].map(describeTag));
    expect(players.get(0)!.tags.length).toBe(source.length);
  });
});

function kindOfBody(t: Tag): string {
  const b0 = t.body[0]!;
  const pt = b0 & 0x80 ? ((b0 & 0x0f) === 6 ? t.body[1]! & 0x0f : b0 & 0x0f) : t.body[1]!;
  return pt === 0 ? 'config' : pt === 4 ? 'metadata' : 'other';
}

/** Tags of an FLV fixture as a publisher sends them. */
function fixtureTags(name: string): Tag[] {
  return new FlvReader()
    .push(readFixture(name))
    .filter((t): t is typeof t & { type: 8 | 9 | 18 } => t.type === 8 || t.type === 9 || t.type === 18)
    .map((t) => ({ type: t.type, timestamp: t.timestamp, body: t.body }));
}

const every = (n: number, source: readonly Tag[]) =>
  source
    .map((_, i) => i)
    .filter((i) => i < 12 || i % n === 0)
    .concat(source.length);

describe('LiveRelay: recorded streams', () => {
  it.each(['enhanced/av1_opus_testsrc.flv', 'enhanced/av1_opus_mptestsrc.flv'])(
    'the E-RTMP lab AV1 + Opus file %s: players at the start and mid-stream get the current av1C, colorInfo, OpusHead and channel config',
    (name) => {
      const source = fixtureTags(name);
      const players = check(source, every(9, source));
      const late = [...players.values()].at(-2)!;
      // The empty AV1 SequenceStart of tag 1 was replaced by the real one: a late joiner never sees it.
      const head = late.tags.slice(0, 5).map((t) => [t.type, t.timestamp, t.body.byteLength]);
      expect(head).toEqual([
        [18, 0, source[0]!.body.byteLength],
        [9, 7, source[5]!.body.byteLength],
        [9, 7, source[6]!.body.byteLength],
        [8, 0, source[2]!.body.byteLength],
        [8, 0, source[3]!.body.byteLength],
      ]);
    },
  );

  it.each(['small_h264_aac.flv', 'extended_ts_h264_aac.flv'])(
    'legacy H.264 + AAC (%s): the same messages and the same wire bytes as before (one encodeMessage per message)',
    (name) => {
      const source = fixtureTags(name);
      const players = check(source, every(7, source));
      const csid = { 8: ChunkStreams.Audio, 9: ChunkStreams.Video, 18: ChunkStreams.Data };
      for (const [at, player] of players) {
        const expected = expectedForJoiner(source, at).map((t) =>
          Buffer.concat(
            encodeMessage(
              { type: t.type, streamId: 1, timestamp: t.timestamp, payload: t.body },
              csid[t.type],
              4096,
            ),
          ),
        );
        expect(player.writes.length, `player joined after ${at} tags`).toBe(expected.length);
        for (const [i, w] of player.writes.entries()) expect(w.equals(expected[i]!)).toBe(true);
      }
      // Before the first frame a late joiner gets onMetaData, the AVC header, the AAC header: nothing else. (The file
      // ends with an AVC end of sequence: a player joining after it gets no AVC header.)
      const eos = source.findLastIndex((t) => t.type === 9 && t.body[1] === 2);
      const late = players.get(Math.max(...[...players.keys()].filter((at) => at <= eos)))!;
      expect(late.tags.slice(0, 3).map((t) => [t.type, t.body[0], t.body[1]])).toEqual([
        [18, 2, 0],
        [9, 0x17, 0],
        [8, 0xaf, 0],
      ]);
    },
  );
});
