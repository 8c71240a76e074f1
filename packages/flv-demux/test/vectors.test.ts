import { describe, expect, it } from 'vitest';
import {
  type DemuxEvent,
  FlvError,
  muxScriptData,
  parseAudioTag,
  parseVideoTag,
  StreamDemuxer,
} from '../src/index.js';
import { AVCC, ascii, HVCC, hex } from './helpers.js';

const AV1C = hex('81 08 0c 00');
const OPUS_HEAD = Uint8Array.from([...ascii('OpusHead'), 1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]);

const b = (...parts: (number | number[] | Uint8Array | string)[]): Uint8Array => {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') out.push(...ascii(p));
    else out.push(...p);
  }
  return Uint8Array.from(out);
};

const kinds = (events: DemuxEvent[]) => events.map((e) => e.kind);
const nals = (e: DemuxEvent | undefined) =>
  e?.kind === 'video' && Array.isArray(e.payload) ? e.payload.map((n) => Array.from(n)) : null;

describe('legacy video (FLV 10.1)', () => {
  it('AVC sequence header, NALUs with a negative composition time, end of sequence', () => {
    const d = new StreamDemuxer();
    const [codec] = d.push(9, 1000, b(0x17, 0, 0, 0, 0, AVCC));
    expect(codec).toMatchObject({
      kind: 'codec',
      codec: 'avc',
      initData: AVCC,
      info: { codecString: 'avc1.64000D' },
    });
    const [v] = d.push(9, 1040, b(0x27, 1, 0xff, 0xff, 0xd8, [0, 0, 0, 2, 0x41, 0x9a], [0, 0, 0, 1, 0x06]));
    expect(v).toMatchObject({ kind: 'video', dts: 1040, pts: 1000, keyframe: false, frameType: 2 });
    expect(nals(v)).toEqual([[0x41, 0x9a], [0x06]]);
    expect(d.push(9, 1080, b(0x17, 2, 0, 0, 0))).toMatchObject([{ kind: 'sequenceEnd', codec: 'avc' }]);
  });

  it('HEVC with the codec id 12 used by some Chinese encoders', () => {
    const d = new StreamDemuxer();
    const [codec] = d.push(9, 0, b(0x1c, 0, 0, 0, 0, HVCC));
    expect(codec).toMatchObject({ codec: 'hevc', info: { codecString: 'hvc1.1.6.L93.90', legacyId: 12 } });
    const [v] = d.push(9, 0, b(0x1c, 1, 0, 0, 0x28, [0, 0, 0, 1, 0x26]));
    expect(v).toMatchObject({ kind: 'video', codec: 'hevc', pts: 40, keyframe: true });
  });

  it.each([
    [0x22, 'h263'],
    [0x33, 'screen'],
    [0x14, 'vp6'],
    [0x25, 'vp6a'],
    [0x16, 'screen2'],
  ])('codec header byte %s is %s, announced with null init data', (byte, codec) => {
    const d = new StreamDemuxer();
    const events = d.push(9, 5, b(byte, 1, 2, 3));
    expect(events).toMatchObject([
      { kind: 'codec', codec, initData: null },
      { kind: 'video', codec, payload: Uint8Array.of(1, 2, 3), keyframe: byte >> 4 === 1 },
    ]);
  });

  it('command frame', () => {
    expect(new StreamDemuxer().push(9, 0, b(0x52, 1))).toEqual([
      { kind: 'videoCommand', command: 1, timestamp: 0 },
    ]);
    expect(new StreamDemuxer().push(9, 0, b(0x57, 0, 0, 0, 0))).toMatchObject([
      { kind: 'videoCommand', command: 0 },
    ]);
  });

  it('unknown legacy codec id is unsupported, not a crash', () => {
    expect(new StreamDemuxer().push(9, 0, b(0x1f, 1, 2))).toMatchObject([
      { kind: 'unsupported', code: 'ERR_FLV_UNKNOWN_CODEC' },
    ]);
  });

  it('AVC frames before the sequence header are counted and dropped', () => {
    const d = new StreamDemuxer();
    expect(d.push(9, 0, b(0x17, 1, 0, 0, 0, [0, 0, 0, 1, 0x65]))).toEqual([]);
    expect(d.stats.droppedBeforeSequenceHeader).toBe(1);
  });

  it('a NAL length running past the body is an error event', () => {
    const d = new StreamDemuxer();
    d.push(9, 0, b(0x17, 0, 0, 0, 0, AVCC));
    expect(d.push(9, 0, b(0x17, 1, 0, 0, 0, [0, 0, 0, 9, 0x65]))).toMatchObject([
      { kind: 'error', code: 'ERR_FLV_NAL_LENGTH' },
    ]);
  });
});

describe('Enhanced RTMP video', () => {
  it('SequenceStart, CodedFrames with CTS (avc1), CodedFramesX, SequenceEnd', () => {
    const d = new StreamDemuxer();
    expect(d.push(9, 0, b(0x90, 'avc1', AVCC))).toMatchObject([{ kind: 'codec', codec: 'avc', track: 0 }]);
    expect(parseVideoTag(b(0x90, 'avc1', AVCC)).packets[0]).toMatchObject({ packetType: 0, fourcc: 'avc1' });
    const [v1] = d.push(9, 100, b(0x91, 'avc1', 0, 0, 40, [0, 0, 0, 1, 0x65]));
    expect(v1).toMatchObject({ dts: 100, pts: 140, keyframe: true });
    const [v2] = d.push(9, 140, b(0xa3, 'avc1', [0, 0, 0, 1, 0x41]));
    expect(v2).toMatchObject({ dts: 140, pts: 140, keyframe: false });
    expect(nals(v2)).toEqual([[0x41]]);
    expect(parseVideoTag(b(0xa3, 'avc1', [0, 0, 0, 1, 0x41])).packets[0]?.packetType).toBe(3);
    expect(d.push(9, 200, b(0x92, 'avc1'))).toMatchObject([{ kind: 'sequenceEnd', codec: 'avc' }]);
  });

  it('CodedFrames carries no CTS for av01 / vp09 / vp08', () => {
    for (const fourcc of ['av01', 'vp09', 'vp08']) {
      const tag = parseVideoTag(b(0x91, fourcc, 1, 2, 3));
      expect(tag.packets[0]).toMatchObject({ compositionTime: 0, data: Uint8Array.of(1, 2, 3) });
    }
    const hvc = parseVideoTag(b(0x91, 'hvc1', 0xff, 0xff, 0xff, 9));
    expect(hvc.packets[0]).toMatchObject({ compositionTime: -1, data: Uint8Array.of(9) });
    const vvc = parseVideoTag(b(0x91, 'vvc1', 0, 0, 2, 9));
    expect(vvc.packets[0]).toMatchObject({ codec: 'vvc', compositionTime: 2 });
  });

  it('AV1 and VP9 configs give RFC 6381 strings', () => {
    const d = new StreamDemuxer();
    expect(d.push(9, 0, b(0x90, 'av01', AV1C))).toMatchObject([
      { kind: 'codec', codec: 'av1', info: { codecString: 'av01.0.08M.08' } },
    ]);
    const vpcc = hex('01000000 00 1f 80 01 01 01 0000');
    expect(d.push(9, 0, b(0x90, 'vp09', vpcc))).toMatchObject([
      { kind: 'codec', codec: 'vp9', info: { codecString: 'vp09.00.31.08', bitDepth: 8 } },
    ]);
  });

  it('Metadata (colorInfo) is a metadata event for the video track', () => {
    const amf = muxScriptData('colorInfo', [{ colorConfig: { bitDepth: 10, colorPrimaries: 9 } }]);
    const events = new StreamDemuxer().push(9, 0, b(0x94, 'av01', amf));
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e).toMatchObject({ kind: 'metadata', name: 'colorInfo', mediaType: 'video', track: 0 });
    expect(JSON.stringify(e.kind === 'metadata' && e.value)).toContain('"bitDepth":10');
  });

  it('MPEG2TSSequenceStart announces the codec with the descriptor as init data', () => {
    const desc = hex('80 04 81 08 0c 00');
    expect(new StreamDemuxer().push(9, 0, b(0x95, 'av01', desc))).toMatchObject([
      { kind: 'codec', codec: 'av1', initData: desc, mpeg2ts: true },
    ]);
  });

  it('command frame (frame type 5) carries a command byte and no FourCC', () => {
    expect(parseVideoTag(b(0xd1, 0))).toMatchObject({
      enhanced: true,
      frameType: 5,
      command: 0,
      packets: [],
    });
    // ...but with packet type Metadata the frame type is ignored.
    const amf = muxScriptData('colorInfo', [{}]);
    expect(parseVideoTag(b(0xd4, 'av01', amf)).packets).toHaveLength(1);
  });

  it('Multitrack OneTrack keeps the track id', () => {
    const d = new StreamDemuxer();
    expect(d.push(9, 0, b(0x96, 0x00, 'avc1', 3, AVCC))).toMatchObject([
      { kind: 'codec', codec: 'avc', track: 3 },
    ]);
    const [v] = d.push(9, 40, b(0x96, 0x01, 'avc1', 3, [0, 0, 10], [0, 0, 0, 1, 0x65]));
    expect(v).toMatchObject({ kind: 'video', track: 3, pts: 50 });
  });

  it('Multitrack ManyTracks: one FourCC, sized tracks', () => {
    const tag = parseVideoTag(b(0xa6, 0x11, 'vp09', 0, [0, 0, 2], [7, 8], 1, [0, 0, 1], [9]));
    expect(tag.multitrackType).toBe(1);
    expect(tag.packets.map((p) => [p.codec, p.track, Array.from(p.data)])).toEqual([
      ['vp9', 0, [7, 8]],
      ['vp9', 1, [9]],
    ]);
    const events = new StreamDemuxer().push(
      9,
      0,
      b(0xa6, 0x11, 'vp09', 0, [0, 0, 2], [7, 8], 1, [0, 0, 1], [9]),
    );
    expect(kinds(events)).toEqual(['codec', 'video', 'codec', 'video']);
  });

  it('Multitrack ManyTracksManyCodecs: a FourCC per track, unknown ones skipped by size', () => {
    const body = b(
      0x96,
      0x21,
      'vp09',
      0,
      [0, 0, 1],
      [1],
      'zzzz',
      1,
      [0, 0, 1],
      [2],
      'vp08',
      2,
      [0, 0, 1],
      [3],
    );
    const tag = parseVideoTag(body);
    expect(tag.packets.map((p) => [p.fourcc, p.codec, p.track])).toEqual([
      ['vp09', 'vp9', 0],
      ['zzzz', null, 1],
      ['vp08', 'vp8', 2],
    ]);
    const events = new StreamDemuxer().push(9, 0, body);
    expect(kinds(events)).toEqual(['codec', 'video', 'unsupported', 'codec', 'video']);
  });

  it('ModEx TimestampOffsetNano (8-bit size), then CodedFrames', () => {
    const tag = parseVideoTag(b(0x97, 0x02, [0x00, 0x00, 0x64], 0x01, 'vp09', 5));
    expect(tag).toMatchObject({ timestampOffsetNano: 100, packets: [{ packetType: 1, codec: 'vp9' }] });
    const [, v] = new StreamDemuxer().push(9, 3, b(0x97, 0x02, [0x0f, 0x42, 0x3f], 0x01, 'vp09', 5));
    expect(v).toMatchObject({ kind: 'video', dts: 3, timestampOffsetNano: 999_999 });
  });

  it('ModEx with a 16-bit size, then Multitrack', () => {
    const modEx = new Uint8Array(257);
    modEx.set([0, 0, 7]);
    const tag = parseVideoTag(b(0x97, 0xff, [0x01, 0x00], modEx, 0x06, 0x01, 'vp08', 4, [1, 2]));
    expect(tag).toMatchObject({
      timestampOffsetNano: 7,
      multitrackType: 0,
      packets: [{ track: 4, codec: 'vp8' }],
    });
  });

  it('unknown ModEx type is skipped', () => {
    const tag = parseVideoTag(b(0x97, 0x00, [0xaa], 0x51, 'vp08', 1));
    expect(tag).toMatchObject({ timestampOffsetNano: 0, packets: [{ packetType: 1 }] });
  });

  it.each([
    ['unknown packet type', b(0x98, 'avc1'), 'ERR_FLV_UNKNOWN_PACKET_TYPE', 'unsupported'],
    ['unknown multitrack type', b(0x96, 0x31, 'avc1'), 'ERR_FLV_UNKNOWN_MULTITRACK_TYPE', 'unsupported'],
    ['nested multitrack', b(0x96, 0x06, 'avc1'), 'ERR_FLV_NESTED_MULTITRACK', 'error'],
    ['truncated FourCC', b(0x91, 'av'), 'ERR_FLV_TRUNCATED', 'error'],
    ['truncated track size', b(0x96, 0x11, 'vp09', 0, [0, 0, 9], 1), 'ERR_FLV_TRUNCATED', 'error'],
    ['unknown FourCC', b(0x91, 'abcd', 1), 'ERR_FLV_UNKNOWN_CODEC', 'unsupported'],
  ])('%s -> %s', (_what, body, code, kind) => {
    if (code !== 'ERR_FLV_UNKNOWN_CODEC') {
      expect(() => parseVideoTag(body)).toThrow(expect.objectContaining({ code }));
    }
    expect(new StreamDemuxer().push(9, 0, body)).toMatchObject([{ kind, code, mediaType: 'video' }]);
  });
});

describe('legacy audio (every sound format)', () => {
  it.each([
    [0, 'pcm'],
    [1, 'adpcm'],
    [2, 'mp3'],
    [3, 'pcm-le'],
    [4, 'nellymoser'],
    [5, 'nellymoser'],
    [6, 'nellymoser'],
    [7, 'g711a'],
    [8, 'g711u'],
    [11, 'speex'],
    [14, 'mp3'],
    [15, 'device'],
  ])('sound format %i is %s, raw frame after one byte', (format, codec) => {
    const events = new StreamDemuxer().push(8, 20, b((format << 4) | 0xe, 1, 2));
    expect(events).toMatchObject([
      { kind: 'codec', mediaType: 'audio', codec, initData: null, info: { legacyId: format } },
      { kind: 'audio', codec, timestamp: 20, payload: Uint8Array.of(1, 2) },
    ]);
  });

  it('header summary: rates, sizes, channels and the fixed-rate formats', () => {
    const info = (byte: number) => {
      const [c] = new StreamDemuxer().push(8, 0, b(byte, 0));
      return c?.kind === 'codec' ? c.info : null;
    };
    expect(info(0x2f)).toMatchObject({ sampleRate: 44100, sampleSize: 16, channels: 2 });
    expect(info(0x20)).toMatchObject({ sampleRate: 5512, sampleSize: 8, channels: 1, codecString: 'mp3' });
    expect(info(0x08)).toMatchObject({ codecString: 'pcm-u8', sampleSize: 8 });
    expect(info(0x42)).toMatchObject({ sampleRate: 16000, channels: 1 });
    expect(info(0x52)).toMatchObject({ sampleRate: 8000, channels: 1 });
    expect(info(0xb6)).toMatchObject({ sampleRate: 16000, channels: 1, codecString: 'speex' });
    expect(info(0xe2)).toMatchObject({ sampleRate: 8000 });
  });

  it('a changed legacy header re-announces the codec', () => {
    const d = new StreamDemuxer();
    d.push(8, 0, b(0x2e, 1));
    expect(kinds(d.push(8, 1, b(0x2e, 1)))).toEqual(['audio']);
    expect(kinds(d.push(8, 2, b(0x2f, 1)))).toEqual(['codec', 'audio']);
  });

  it('AAC: AudioSpecificConfig, raw frames; frames before it are dropped', () => {
    const d = new StreamDemuxer();
    expect(d.push(8, 0, b(0xaf, 1, 0x21))).toEqual([]);
    expect(d.stats.droppedBeforeSequenceHeader).toBe(1);
    expect(d.push(8, 0, b(0xaf, 0, 0x12, 0x10))).toMatchObject([
      { kind: 'codec', codec: 'aac', info: { codecString: 'mp4a.40.2', sampleRate: 44100, channels: 2 } },
    ]);
    expect(d.push(8, 0, b(0xaf, 0, 0x12, 0x10))).toEqual([]);
    expect(d.push(8, 23, b(0xaf, 1, 0x21, 0x22))).toMatchObject([
      { kind: 'audio', payload: Uint8Array.of(0x21, 0x22) },
    ]);
    expect(d.push(8, 0, b(0xaf, 0, 0x13, 0x90))).toMatchObject([
      { kind: 'codec', info: { sampleRate: 22050 } },
    ]);
  });

  it('unknown AAC packet type is unsupported', () => {
    expect(new StreamDemuxer().push(8, 0, b(0xaf, 5))).toMatchObject([
      { kind: 'unsupported', code: 'ERR_FLV_UNKNOWN_PACKET_TYPE' },
    ]);
  });
});

describe('Enhanced RTMP audio', () => {
  it('SequenceStart for mp4a / Opus, CodedFrames, SequenceEnd', () => {
    const d = new StreamDemuxer();
    expect(d.push(8, 0, b(0x90, 'mp4a', 0x12, 0x10))).toMatchObject([
      { codec: 'aac', info: { channels: 2 } },
    ]);
    expect(d.push(8, 0, b(0x90, 'Opus', OPUS_HEAD))).toMatchObject([
      { kind: 'codec', codec: 'opus', info: { codecString: 'opus', channels: 2, sampleRate: 48000 } },
    ]);
    expect(d.push(8, 20, b(0x91, 'Opus', 0xfc))).toMatchObject([
      { kind: 'audio', codec: 'opus', timestamp: 20 },
    ]);
    expect(d.push(8, 40, b(0x92, 'Opus'))).toMatchObject([{ kind: 'sequenceEnd', codec: 'opus' }]);
  });

  it.each([
    ['ac-3', 'ac3'],
    ['ec-3', 'eac3'],
    ['.mp3', 'mp3'],
    ['Opus', 'opus'],
  ])('%s frames without a sequence header announce %s with null init data', (fourcc, codec) => {
    expect(new StreamDemuxer().push(8, 0, b(0x91, fourcc, 1))).toMatchObject([
      { kind: 'codec', codec, initData: null },
      { kind: 'audio', codec, payload: Uint8Array.of(1) },
    ]);
  });

  it('FLAC STREAMINFO (with the fLaC marker and block header)', () => {
    const streaminfo = hex('1000 1000 000000 000000 0bb8 0170 0000000000 00000000000000000000000000000000');
    const d = new StreamDemuxer();
    const [c] = d.push(8, 0, b(0x90, 'fLaC', 'fLaC', [0x80, 0, 0, 34], streaminfo));
    expect(c).toMatchObject({
      codec: 'flac',
      info: { codecString: 'flac', sampleRate: 48000, channels: 1, sampleSize: 24 },
    });
  });

  it('MultichannelConfig: native order with flags, custom order with a map', () => {
    const d = new StreamDemuxer();
    expect(d.push(8, 0, b(0x94, 'Opus', 1, 2, [0, 0, 0, 3]))).toEqual([
      {
        kind: 'channelConfig',
        codec: 'opus',
        track: 0,
        timestamp: 0,
        channelOrder: 1,
        channelCount: 2,
        mapping: null,
        flags: 3,
      },
    ]);
    expect(d.push(8, 0, b(0x94, 'ac-3', 2, 3, [1, 0, 2]))).toMatchObject([
      { mapping: [1, 0, 2], flags: null },
    ]);
    expect(d.push(8, 0, b(0x94, 'ac-3', 0, 6))).toMatchObject([{ channelOrder: 0, channelCount: 6 }]);
  });

  it('Multitrack in all three modes keeps track ids', () => {
    expect(parseAudioTag(b(0x95, 0x01, 'Opus', 2, [7, 7])).packets).toMatchObject([
      { track: 2, codec: 'opus' },
    ]);
    const many = parseAudioTag(b(0x95, 0x11, 'Opus', 0, [0, 0, 2], [1, 1], 1, [0, 0, 1], [2]));
    expect(many.packets.map((p) => [p.track, Array.from(p.data)])).toEqual([
      [0, [1, 1]],
      [1, [2]],
    ]);
    const manyCodecs = parseAudioTag(b(0x95, 0x21, 'Opus', 0, [0, 0, 1], [1], '.mp3', 1, [0, 0, 1], [2]));
    expect(manyCodecs.packets.map((p) => [p.codec, p.track])).toEqual([
      ['opus', 0],
      ['mp3', 1],
    ]);
    const events = new StreamDemuxer().push(
      8,
      0,
      b(0x95, 0x21, 'Opus', 0, [0, 0, 1], [1], '.mp3', 1, [0, 0, 1], [2]),
    );
    expect(events.filter((e) => e.kind === 'audio').map((e) => e.kind === 'audio' && e.track)).toEqual([
      0, 1,
    ]);
  });

  it('ModEx TimestampOffsetNano then CodedFrames', () => {
    const d = new StreamDemuxer();
    d.push(8, 0, b(0x90, 'mp4a', 0x12, 0x10));
    expect(d.push(8, 123, b(0x97, 2, [0, 0, 0x64], 0x01, 'mp4a', 'frame'))).toMatchObject([
      { kind: 'audio', timestamp: 123, timestampOffsetNano: 100, payload: Uint8Array.from(ascii('frame')) },
    ]);
  });

  it.each([
    ['reserved packet type 3', b(0x93, 'Opus'), 'ERR_FLV_UNKNOWN_PACKET_TYPE'],
    ['nested multitrack', b(0x95, 0x05, 'Opus'), 'ERR_FLV_NESTED_MULTITRACK'],
    ['multitrack type 4', b(0x95, 0x41, 'Opus'), 'ERR_FLV_UNKNOWN_MULTITRACK_TYPE'],
    ['truncated ModEx', b(0x97, 5, 1), 'ERR_FLV_TRUNCATED'],
  ])('%s -> %s', (_what, body, code) => {
    expect(() => parseAudioTag(body)).toThrow(FlvError);
    expect(() => parseAudioTag(body)).toThrow(expect.objectContaining({ code }));
  });
});

describe('data messages', () => {
  it('onMetaData with and without @setDataFrame, other names passed on', () => {
    const d = new StreamDemuxer();
    const meta = { width: 640, height: 360 };
    expect(d.push(18, 0, muxScriptData('onMetaData', [meta], true))).toMatchObject([
      { kind: 'metadata', name: 'onMetaData', value: meta },
    ]);
    expect(d.push(18, 0, muxScriptData('onMetaData', [meta]))).toMatchObject([
      { name: 'onMetaData', value: meta },
    ]);
    expect(d.push(18, 5, muxScriptData('onCuePoint', ['a', 1]))).toMatchObject([
      { name: 'onCuePoint', value: 'a', args: ['a', 1], timestamp: 5 },
    ]);
    expect(d.push(15, 0, b(0, muxScriptData('onTextData', [{ text: 'hi' }])))).toMatchObject([
      { name: 'onTextData' },
    ]);
  });

  it('bad AMF and non-media message types become events', () => {
    const d = new StreamDemuxer();
    expect(d.push(18, 0, b(0x02, 0, 9, 'x'))).toMatchObject([{ kind: 'error', code: 'ERR_FLV_SCRIPT_DATA' }]);
    expect(d.push(18, 0, b(0x00, 0, 0, 0, 0, 0, 0, 0, 0))).toMatchObject([{ code: 'ERR_FLV_SCRIPT_DATA' }]);
    expect(d.push(20, 0, b(1))).toMatchObject([{ kind: 'unsupported', code: 'ERR_FLV_UNKNOWN_TAG_TYPE' }]);
  });
});
