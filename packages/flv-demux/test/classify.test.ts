import { readdirSync } from 'node:fs';
import { FIXTURES, readFixture } from '@rtmp/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AudioCodec,
  type AudioMuxTrack,
  classifyAudioTag,
  classifyTag,
  classifyVideoTag,
  concatBytes,
  FlvReader,
  muxAudioControl,
  muxAudioSample,
  muxVideoControl,
  muxVideoSample,
  parseAudioTag,
  parseVideoTag,
  StreamDemuxer,
  StreamMuxer,
  type TagKind,
  type VideoCodec,
  type VideoMuxTrack,
} from '../src/index.js';
import { AVCC, ascii, HVCC, hex } from './helpers.js';

/** What the classifier must say of a body, derived from the full parser. */
interface Expected {
  kind: TagKind;
  packetType?: number;
  enhanced?: boolean;
  multitrackType?: number | null;
  tracks: { track: number; codec: string | null }[];
}

function videoKind(packetType: number, frameType: number): TagKind {
  if (packetType === 0 || packetType === 5) return 'config';
  if (packetType === 2) return 'sequenceEnd';
  if (packetType === 4) return 'metadata';
  return frameType === 1 || frameType === 4 ? 'keyframe' : 'frame';
}

function fromParser(type: 8 | 9, body: Uint8Array): Expected {
  try {
    if (type === 9) {
      const tag = parseVideoTag(body);
      if (tag.command !== null) {
        return { kind: 'command', packetType: -1, enhanced: tag.enhanced, multitrackType: null, tracks: [] };
      }
      const packetType = tag.packets[0]!.packetType;
      return {
        kind: videoKind(packetType, tag.frameType),
        packetType,
        enhanced: tag.enhanced,
        multitrackType: tag.multitrackType,
        tracks: tag.packets.map((p) => ({ track: p.track, codec: p.codec })),
      };
    }
    const tag = parseAudioTag(body);
    const packetType = tag.packets[0]!.packetType;
    const kind: TagKind =
      packetType === 0 || packetType === 4 ? 'config' : packetType === 2 ? 'sequenceEnd' : 'frame';
    return {
      kind,
      packetType,
      enhanced: tag.enhanced,
      multitrackType: tag.multitrackType,
      tracks: tag.packets.map((p) => ({ track: p.track, codec: p.codec })),
    };
  } catch {
    return { kind: 'unknown', tracks: [] };
  }
}

function classified(type: 8 | 9, body: Uint8Array): Expected {
  const c = type === 9 ? classifyVideoTag(body) : classifyAudioTag(body);
  expect(c.media).toBe(type === 9 ? 'video' : 'audio');
  expect(Object.isFrozen(c) && Object.isFrozen(c.tracks)).toBe(true);
  const tracks = c.tracks.map((t) => ({ track: t.track, codec: t.codec }));
  if (c.kind === 'unknown') return { kind: 'unknown', tracks };
  return {
    kind: c.kind,
    packetType: c.packetType,
    enhanced: c.enhanced,
    multitrackType: c.multitrackType,
    tracks,
  };
}

function agrees(type: 8 | 9, body: Uint8Array): void {
  expect(
    classified(type, body),
    `type ${type} body ${Buffer.from(body.subarray(0, 24)).toString('hex')}`,
  ).toEqual(fromParser(type, body));
}

const flvFiles = [
  ...readdirSync(FIXTURES).filter((f) => f.endsWith('.flv')),
  ...readdirSync(`${FIXTURES}/enhanced`)
    .filter((f) => f.endsWith('.flv'))
    .map((f) => `enhanced/${f}`),
];

describe('classifyVideoTag / classifyAudioTag on every fixture', () => {
  it('finds the fixtures', () => {
    expect(flvFiles).toEqual(
      expect.arrayContaining([
        'small_h264_aac.flv',
        'enhanced/av1_opus_testsrc.flv',
        'enhanced/av1_opus_mptestsrc.flv',
      ]),
    );
  });

  it.each(flvFiles)('%s: agrees with the parsers on every tag, and with the demuxer on keyframes', (name) => {
    const tags = new FlvReader().push(readFixture(name));
    const demuxer = new StreamDemuxer();
    const kinds = new Map<string, number>();
    for (const tag of tags) {
      const events = demuxer.push(tag.type, tag.timestamp, tag.body);
      if (tag.type !== 8 && tag.type !== 9) continue;
      agrees(tag.type, tag.body);
      const c = classifyTag(tag.type, tag.body)!;
      kinds.set(`${c.media} ${c.kind}`, (kinds.get(`${c.media} ${c.kind}`) ?? 0) + 1);
      const sample = events.find((e) => e.kind === 'video');
      if (sample?.kind === 'video') expect(c.kind).toBe(sample.keyframe ? 'keyframe' : 'frame');
      if (events.some((e) => e.kind === 'codec' && e.initData !== null)) expect(c.kind).toBe('config');
    }
    expect(kinds.get('video unknown') ?? 0).toBe(0);
    expect(kinds.get('audio unknown') ?? 0).toBe(0);
    expect(kinds.get('video keyframe')).toBeGreaterThan(0);
  });

  it('the E-RTMP lab files: empty and real AV1 SequenceStart, colorInfo in a command-frame Metadata, Opus channel config', () => {
    const tags = new FlvReader().push(readFixture('enhanced/av1_opus_testsrc.flv'));
    const head = tags.slice(1, 8).map((t) => {
      const c = classifyTag(t.type, t.body)!;
      return [t.type, c.kind, c.packetType, c.tracks[0]?.codec];
    });
    expect(head).toEqual([
      [9, 'config', 0, 'av1'],
      [8, 'config', 0, 'opus'],
      [8, 'config', 4, 'opus'],
      [8, 'frame', 1, 'opus'],
      [9, 'config', 0, 'av1'],
      [9, 'metadata', 4, 'av1'],
      [9, 'keyframe', 1, 'av1'],
    ]);
  });
});

const OPUS_HEAD = Uint8Array.from([...ascii('OpusHead'), 1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]);
const AV1C = hex('81 08 0c 00');

const VIDEO: { codec: VideoCodec; init: Uint8Array | null; legacyId?: number; legacyOnly?: boolean }[] = [
  { codec: 'avc', init: AVCC },
  { codec: 'hevc', init: HVCC },
  { codec: 'hevc', init: HVCC, legacyId: 12 },
  { codec: 'vvc', init: hex('ff 00') },
  { codec: 'av1', init: AV1C },
  { codec: 'av1', init: AV1C, legacyId: 13 },
  { codec: 'vp9', init: hex('01000000 00 1f 80 01 01 01 0000') },
  { codec: 'vp8', init: null },
  { codec: 'h263', init: null, legacyOnly: true },
  { codec: 'screen', init: null, legacyOnly: true },
  { codec: 'vp6', init: null, legacyOnly: true },
  { codec: 'vp6a', init: null, legacyOnly: true },
  { codec: 'screen2', init: null, legacyOnly: true },
];

const AUDIO: { codec: AudioCodec; init: Uint8Array | null; legacyId?: number; legacyOnly?: boolean }[] = [
  { codec: 'aac', init: hex('1210') },
  { codec: 'opus', init: OPUS_HEAD },
  { codec: 'flac', init: hex('1000 1000 000000 000000 0ac4 4170 0000000000') },
  { codec: 'ac3', init: null },
  { codec: 'eac3', init: null },
  { codec: 'mp3', init: null },
  { codec: 'mp3', init: null, legacyId: 2 },
  { codec: 'pcm', init: null, legacyOnly: true },
  { codec: 'g711a', init: null, legacyOnly: true },
  { codec: 'speex', init: null, legacyOnly: true },
];

type Made = { type: 8 | 9; body: Uint8Array; kind: TagKind; track: number; codec: string };

/** Tags of every kind for one video track, made by the muxer functions. */
function videoTags(spec: (typeof VIDEO)[number], track: number, nano: number): Made[] {
  const t: VideoMuxTrack = { codec: spec.codec, track };
  if (spec.legacyId !== undefined) t.legacyId = spec.legacyId;
  const nal = spec.codec === 'avc' || spec.codec === 'hevc' || spec.codec === 'vvc';
  // The legacy AV1 (13) header carries a composition time, its Enhanced RTMP form none.
  const withCts = nal || (spec.legacyId === 13 && track === 0 && nano === 0);
  const sample = (frameType: number, cts: number) =>
    concatBytes(
      muxVideoSample(t, {
        dts: 100,
        pts: 100 + (withCts ? cts : 0),
        keyframe: frameType === 1,
        frameType,
        payload: nal ? [Uint8Array.of(0x65, 1, 2)] : Uint8Array.of(9, 9, 9),
        timestampOffsetNano: spec.legacyOnly ? 0 : nano,
      }),
    );
  const out: Made[] = [];
  const made = (body: Uint8Array, kind: TagKind) =>
    out.push({ type: 9, body, kind, track, codec: spec.codec });
  if (spec.init) made(concatBytes(muxVideoControl(t, 0, spec.init)), 'config');
  made(sample(1, 40), 'keyframe');
  made(sample(1, 0), 'keyframe'); // CodedFramesX for avc1/hvc1/vvc1
  made(sample(4, 0), 'keyframe');
  made(sample(2, 40), 'frame');
  made(sample(3, 0), 'frame');
  if (!spec.legacyOnly) {
    made(concatBytes(muxVideoControl(t, 2, null)), 'sequenceEnd');
    const muxer = new StreamMuxer();
    muxer.push({
      kind: 'codec',
      mediaType: 'video',
      codec: spec.codec,
      track,
      timestamp: 0,
      initData: null,
      info: { codecString: '' },
    });
    const [color] = muxer.push({
      kind: 'metadata',
      name: 'colorInfo',
      value: {},
      args: [{}],
      timestamp: 0,
      mediaType: 'video',
      track,
    });
    made(concatBytes(color!.body), 'metadata');
  }
  return out;
}

function audioTags(spec: (typeof AUDIO)[number], track: number, nano: number): Made[] {
  const t: AudioMuxTrack = { codec: spec.codec, track };
  if (spec.legacyId !== undefined) t.legacyId = spec.legacyId;
  const out: Made[] = [];
  const made = (body: Uint8Array, kind: TagKind) =>
    out.push({ type: 8, body, kind, track, codec: spec.codec });
  if (spec.init) made(concatBytes(muxAudioControl(t, 0, spec.init)), 'config');
  made(concatBytes(muxAudioSample(t, Uint8Array.of(1, 2, 3), spec.legacyOnly ? 0 : nano)), 'frame');
  if (!spec.legacyOnly && spec.legacyId === undefined) {
    made(concatBytes(muxAudioControl(t, 2, null)), 'sequenceEnd');
  }
  return out;
}

describe('StreamMuxer-made tags of every codec and mode', () => {
  const cases: Made[] = [];
  for (const spec of VIDEO) {
    for (const track of spec.legacyOnly ? [0] : [0, 3]) {
      for (const nano of spec.legacyOnly ? [0] : [0, 123_456]) cases.push(...videoTags(spec, track, nano));
    }
  }
  for (const spec of AUDIO) {
    for (const track of spec.legacyOnly || spec.legacyId !== undefined ? [0] : [0, 2]) {
      for (const nano of spec.legacyOnly ? [0] : [0, 999_999]) cases.push(...audioTags(spec, track, nano));
    }
  }

  it('says what each tag was made as, with its track and codec, and agrees with the parsers', () => {
    expect(cases.length).toBeGreaterThan(200);
    for (const m of cases) {
      const c = classifyTag(m.type, m.body)!;
      expect([c.kind, c.tracks], Buffer.from(m.body.subarray(0, 16)).toString('hex')).toEqual([
        m.kind,
        [{ track: m.track, codec: m.codec }],
      ]);
      agrees(m.type, m.body);
    }
  });

  it('covers legacy, single-track, ModEx and OneTrack forms', () => {
    const forms = new Set(
      cases.map((m) => {
        const c = classifyTag(m.type, m.body)!;
        const modEx = c.enhanced && (m.body[0]! & 0x0f) === 7;
        return `${c.enhanced ? 'enhanced' : 'legacy'}${c.multitrackType === null ? '' : ` multitrack ${c.multitrackType}`}${modEx ? ' modex' : ''}`;
      }),
    );
    expect([...forms].sort()).toEqual([
      'enhanced',
      'enhanced modex',
      'enhanced multitrack 0',
      'enhanced multitrack 0 modex',
      'legacy',
    ]);
  });

  it('a MultichannelConfig is audio config', () => {
    const body = Uint8Array.from([0x94, ...ascii('Opus'), 1, 2, 0, 0, 0, 3]);
    expect(classifyAudioTag(body)).toMatchObject({
      kind: 'config',
      packetType: 4,
      tracks: [{ codec: 'opus' }],
    });
    agrees(8, body);
  });

  it('an MPEG2TSSequenceStart is video config', () => {
    const body = Uint8Array.from([0x95, ...ascii('av01'), 0x80, 4, 1, 2, 3, 4]);
    expect(classifyVideoTag(body)).toMatchObject({
      kind: 'config',
      packetType: 5,
      tracks: [{ codec: 'av1' }],
    });
    agrees(9, body);
  });
});

const b = (...parts: (number | number[] | Uint8Array | string)[]): Uint8Array => {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') out.push(...ascii(p));
    else out.push(...p);
  }
  return Uint8Array.from(out);
};

describe('multitrack and ModEx chains', () => {
  it('ManyTracks: one FourCC, every track listed', () => {
    const body = b(0x96, 0x11, 'vp09', 0, [0, 0, 2], [7, 8], 1, [0, 0, 1], [9]);
    expect(classifyVideoTag(body)).toEqual({
      kind: 'keyframe',
      media: 'video',
      packetType: 1,
      enhanced: true,
      multitrackType: 1,
      tracks: [
        { track: 0, codec: 'vp9' },
        { track: 1, codec: 'vp9' },
      ],
    });
    agrees(9, body);
  });

  it('ManyTracksManyCodecs: a codec per track, unknown FourCCs as null', () => {
    const body = b(
      0x96,
      0x20,
      'avc1',
      0,
      [0, 0, 2],
      [1, 2],
      'zzzz',
      1,
      [0, 0, 1],
      [2],
      'hvc1',
      2,
      [0, 0, 1],
      [3],
    );
    expect(classifyVideoTag(body)).toMatchObject({
      kind: 'config',
      multitrackType: 2,
      tracks: [
        { track: 0, codec: 'avc' },
        { track: 1, codec: null },
        { track: 2, codec: 'hevc' },
      ],
    });
    agrees(9, body);
    const audio = b(0x95, 0x21, 'Opus', 0, [0, 0, 1], [1], 'mp4a', 1, [0, 0, 2], [1, 2]);
    expect(classifyAudioTag(audio)).toMatchObject({
      kind: 'frame',
      tracks: [
        { track: 0, codec: 'opus' },
        { track: 1, codec: 'aac' },
      ],
    });
    agrees(8, audio);
  });

  it('ModEx chains (8- and 16-bit sizes, unknown ModEx types) around a sequence header and multitrack', () => {
    const big = new Array<number>(300).fill(0);
    const cases: [8 | 9, Uint8Array, TagKind, number][] = [
      [9, b(0x97, 0x02, [0, 0, 5], 0x07, 0x00, [0xaa], 0x00, 'av01', AV1C), 'config', 0],
      [9, b(0x97, 0xff, [0x01, 0x2b], big, 0x06, 0x00, 'hvc1', 5, [1, 2]), 'config', 5],
      [9, b(0x97, 0x02, [0, 0, 5], 0x06, 0x02, 'vp09', 4), 'sequenceEnd', 4],
      [8, b(0x97, 0x02, [0, 0, 5], 0x57, 0x00, [1], 0x00, 'Opus', OPUS_HEAD), 'config', 0],
      [8, b(0x97, 0x02, [0, 0, 5], 0x05, 0x04, 'Opus', 1, [1, 2, 0, 0, 0, 3]), 'config', 1],
    ];
    for (const [type, body, kind, track] of cases) {
      expect(classifyTag(type, body)).toMatchObject({ kind, tracks: [{ track }] });
      agrees(type, body);
    }
  });

  it('shares results for legacy and single-track tags, allocates for multitrack', () => {
    expect(classifyVideoTag(b(0x17, 1, 0, 0, 0, 1))).toBe(classifyVideoTag(b(0x17, 1, 0, 0, 9, 2, 3)));
    expect(classifyAudioTag(b(0xaf, 1, 5))).toBe(classifyAudioTag(b(0xaf, 1, 6, 7)));
    expect(classifyVideoTag(b(0x91, 'av01', 1))).toBe(
      classifyVideoTag(b(0x97, 0x02, [0, 0, 5], 0x01, 'av01', 7)),
    );
    const mt = b(0x96, 0x01, 'vp09', 3, 1);
    expect(classifyVideoTag(mt)).not.toBe(classifyVideoTag(mt));
    expect(classifyVideoTag(mt)).toEqual(classifyVideoTag(mt));
  });
});

describe('garbage', () => {
  it('is unknown, never an exception, for what the parsers reject', () => {
    const bad: [8 | 9, Uint8Array][] = [
      [9, new Uint8Array(0)],
      [9, b(0x17, 1, 0, 0)], // AVC header cut short
      [9, b(0x17, 3, 0, 0, 0)], // AVC packet type 3
      [9, b(0x1d, 4, 0, 0, 0)], // AV1 (13) packet type 4
      [9, b(0x90, 'av')], // FourCC cut short
      [9, b(0x98, 'avc1')], // packet type 8
      [9, b(0x96, 0x31, 'avc1')], // multitrack type 3
      [9, b(0x96, 0x06, 'avc1')], // nested multitrack
      [9, b(0x96, 0x11, 'vp09', 0, [0, 0, 9], 1)], // track size past the end
      [9, b(0x91, 'avc1', 0, 0)], // CTS cut short
      [9, b(0x97, 0x05, 1)], // ModEx past the end
      [9, b(0x52)], // command frame without its byte
      [8, new Uint8Array(0)],
      [8, b(0xaf)],
      [8, b(0xaf, 2)],
      [8, b(0x93, 'Opus')], // audio packet type 3
      [8, b(0x95, 0x05, 'Opus')], // nested
    ];
    for (const [type, body] of bad) {
      expect(classifyTag(type, body)!.kind).toBe('unknown');
      agrees(type, body);
    }
    expect(classifyTag(18, b(2, 0, 1, 65))).toBeNull();
  });
});

describe('legacy codec id 13 (AV1, Tencent Cloud / SRS)', () => {
  it('is parsed, demuxed and muxed like the HEVC id 12 variant', () => {
    const d = new StreamDemuxer();
    const [codec] = d.push(9, 0, b(0x1d, 0, 0, 0, 0, [...AV1C]));
    expect(codec).toMatchObject({ kind: 'codec', codec: 'av1', info: { legacyId: 13 } });
    const [frame] = d.push(9, 40, b(0x1d, 1, 0, 0, 40, [0x12, 0]));
    expect(frame).toMatchObject({ kind: 'video', codec: 'av1', dts: 40, pts: 80, keyframe: true });
    const again = new StreamMuxer();
    expect(concatBytes(again.push(codec!)[0]!.body)).toEqual(b(0x1d, 0, 0, 0, 0, [...AV1C]));
    expect(concatBytes(again.push(frame!)[0]!.body)).toEqual(b(0x1d, 1, 0, 0, 40, [0x12, 0]));
  });
});

/**
 * Enhanced RTMP headers built by the grammar (ModEx chains, multitrack in every mode, FourCCs, sized tracks), with
 * random packet types, sizes a little off and bodies cut anywhere: the deep paths, valid or nearly so.
 */
const FOURCCS = [
  'avc1',
  'hvc1',
  'vvc1',
  'av01',
  'vp09',
  'vp08',
  'mp4a',
  'Opus',
  'fLaC',
  'ac-3',
  'ec-3',
  '.mp3',
  'zzzz',
];
const small = fc.integer({ min: 0, max: 15 });
const modExBlock = fc
  .record({ size: fc.oneof(fc.nat(4), fc.constant(255)), type: small })
  .map(({ size, type }) => ({ size, type }));
const trackBlock = fc.record({
  fourcc: fc.constantFrom(...FOURCCS),
  id: fc.nat(255),
  length: fc.nat(5),
  skew: fc.constantFrom(0, 0, 0, -1, 1),
});
const structured = fc
  .record({
    frameType: fc.nat(7),
    audio: fc.boolean(),
    packetType: small,
    modEx: fc.array(modExBlock, { maxLength: 3 }),
    multitrack: fc.option(fc.record({ mode: fc.constantFrom(0, 1, 2, 2, 3), inner: small })),
    tracks: fc.array(trackBlock, { minLength: 1, maxLength: 3 }),
    cut: fc.option(fc.nat(12)),
  })
  .map(({ frameType, audio, packetType, modEx, multitrack, tracks, cut }) => {
    const out: number[] = [];
    const pt = multitrack ? (audio ? 5 : 6) : packetType;
    out.push(
      audio ? 0x90 | (modEx.length > 0 ? 7 : pt) : 0x80 | (frameType << 4) | (modEx.length > 0 ? 7 : pt),
    );
    modEx.forEach((m, i) => {
      if (m.size === 255) out.push(255, 0, 1, ...new Array<number>(2).fill(0));
      else out.push(m.size, ...new Array<number>(m.size + 1).fill(0));
      out.push((m.type << 4) | (i === modEx.length - 1 ? pt : 7));
    });
    if (multitrack) out.push((multitrack.mode << 4) | multitrack.inner);
    const mode = multitrack?.mode ?? null;
    if (mode !== 2) out.push(...ascii(tracks[0]!.fourcc));
    for (const t of mode === null || mode === 0 ? tracks.slice(0, 1) : tracks) {
      if (mode === 2) out.push(...ascii(t.fourcc));
      if (mode !== null) out.push(t.id);
      if (mode !== null && mode !== 0) out.push(0, 0, Math.max(0, t.length + t.skew));
      out.push(...new Array<number>(t.length).fill(7));
    }
    const body = Uint8Array.from(out);
    return { type: audio ? (8 as const) : (9 as const), body: cut === null ? body : body.subarray(0, cut) };
  });

describe('property: agrees with parseVideoTag / parseAudioTag', () => {
  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.constantFrom<8 | 9>(8, 9), fc.uint8Array({ maxLength: 40 }), (type, body) =>
        agrees(type, body),
      ),
      { numRuns: 3000 },
    );
  });

  it('on structured headers (ModEx, multitrack, FourCCs)', () => {
    fc.assert(
      fc.property(structured, ({ type, body }) => agrees(type, body)),
      { numRuns: 20_000 },
    );
  });

  it('on mutated and cut real tags', () => {
    const tags = flvFiles.flatMap((f) =>
      new FlvReader()
        .push(readFixture(f))
        .filter((t): t is typeof t & { type: 8 | 9 } => t.type === 8 || t.type === 9)
        .slice(0, 60),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...tags),
        fc.nat(24),
        fc.integer({ min: 0, max: 255 }),
        fc.nat(40),
        (tag, at, value, cut) => {
          const body = tag.body.slice(0, Math.max(0, tag.body.length - cut));
          if (at < body.length) body[at] = value;
          agrees(tag.type, body);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
