import { readFileSync } from 'node:fs';
import type {
  AudioCodecEvent,
  DemuxEvent,
  NalVideoSampleEvent,
  VideoCodecEvent,
  VideoSampleEvent,
} from '@rtmp/flv-demux';
import { readFixture } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { aacFrameLength, opusPacketDuration, parseVp9Keyframe } from '../src/cmaf/codecs.js';
import {
  CmafWriter,
  cmafTrack,
  concatChunks,
  encodeFragment,
  encodeInitSegment,
  MP4_ERROR_CODES,
  Mp4Error,
  SAMPLE_FLAGS_DISPOSABLE,
  SAMPLE_FLAGS_NON_SYNC,
  SAMPLE_FLAGS_SYNC,
} from '../src/index.js';
import { ascFromEsds, opusHeadFromDops, readFragmentedMp4 } from './cmaf-box-reader.js';
import { demuxFlv } from './cmaf-helpers.js';

const h264 = demuxFlv(readFixture('small_h264_aac.flv'));
const av1 = demuxFlv(readFixture('enhanced/av1_opus_testsrc.flv'));
const videoConfig = h264.find((e): e is VideoCodecEvent => e.kind === 'codec' && e.mediaType === 'video')!;
const audioConfig = h264.find((e): e is AudioCodecEvent => e.kind === 'codec' && e.mediaType === 'audio')!;
const firstVideo = h264.find(
  (e): e is NalVideoSampleEvent => e.kind === 'video' && Array.isArray(e.payload),
)!;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Mp4Error);
    return (e as Mp4Error).code;
  }
  return undefined;
}

function videoSample(dts: number, over: Partial<VideoSampleEvent> = {}): VideoSampleEvent {
  return {
    kind: 'video',
    codec: 'avc',
    track: 0,
    dts,
    pts: dts,
    keyframe: true,
    frameType: 1,
    timestampOffsetNano: 0,
    payload: [Uint8Array.of(0x65, 1, 2, 3)],
    ...over,
  } as VideoSampleEvent;
}

describe('init segment', () => {
  it('H.264 + AAC: ftyp brands, one trak per track with its sample entry, configuration and trex', () => {
    const w = new CmafWriter();
    expect(w.push(videoConfig)).toBe('config');
    expect(w.push(audioConfig)).toBe('config');
    const init = readFragmentedMp4(w.initSegment());
    // The major brand, then the compatible ones.
    expect(init.brands).toEqual(['iso6', 'iso6', 'cmfc', 'isom', 'mp41']);
    expect([...init.tracks.values()]).toMatchObject([
      {
        id: 1,
        timescale: 90_000,
        handler: 'vide',
        entry: 'avc1',
        width: 320,
        height: 240,
        configType: 'avcC',
      },
      {
        id: 2,
        timescale: 44_100,
        handler: 'soun',
        entry: 'mp4a',
        channels: 1,
        sampleRate: 44_100,
        configType: 'esds',
      },
    ]);
    expect(init.tracks.get(1)!.config).toEqual(videoConfig.initData);
    expect(ascFromEsds(init.tracks.get(2)!.config)).toEqual(audioConfig.initData);
    expect(w.tracks.map((t) => t.codecString)).toEqual(['avc1.64000D', 'mp4a.40.2']);
  });

  it('AV1 + Opus: av01 + av1C, Opus + dOps (the OpusHead in big-endian order)', () => {
    const w = new CmafWriter();
    for (const e of av1) if (e.kind === 'codec') w.push(e);
    const init = readFragmentedMp4(w.initSegment());
    const opus = av1.find((e): e is AudioCodecEvent => e.kind === 'codec' && e.mediaType === 'audio')!;
    const [audio, video] = [...init.tracks.values()];
    expect(audio).toMatchObject({ entry: 'Opus', timescale: 48_000, channels: 1, configType: 'dOps' });
    expect(opusHeadFromDops(audio!.config)).toEqual(opus.initData);
    expect(video).toMatchObject({ entry: 'av01', width: 980, height: 540, configType: 'av1C' });
  });

  it('the same init segment until a configuration change, which needs the buffer flushed first', () => {
    const w = new CmafWriter();
    w.push(videoConfig);
    w.push(videoSample(0));
    w.push(videoSample(40));
    expect(w.flush()).not.toBeNull();
    const first = w.initSegment();
    expect(w.initSegment()).toBe(first);
    expect(w.push(videoConfig)).toBe('ignored');
    const changed = { ...videoConfig, initData: Uint8Array.from([...videoConfig.initData!]) };
    changed.initData[3] = 0x1f;
    expect(w.push(changed)).toBe('reconfigure');
    // A new track is a change too.
    expect(w.push(audioConfig)).toBe('reconfigure');
    expect(w.initVersion).toBe(0);
    const last = w.flush({ final: true })!;
    expect(last.initVersion).toBe(0);
    expect(w.push(changed)).toBe('config');
    expect(w.push(audioConfig)).toBe('config');
    expect(w.initVersion).toBe(1);
    const second = readFragmentedMp4(w.initSegment());
    expect(second.tracks.get(1)!.config[3]).toBe(0x1f);
    expect(second.tracks.size).toBe(2);
  });

  it('rejects what it cannot describe with typed errors', () => {
    expect(codeOf(() => encodeInitSegment([]))).toBe('ERR_MP4_INVALID_ARGUMENT');
    expect(codeOf(() => new CmafWriter().initSegment())).toBe('ERR_MP4_INVALID_STATE');
    const track = cmafTrack(videoConfig, 1);
    expect(codeOf(() => encodeInitSegment([track, track]))).toBe('ERR_MP4_INVALID_ARGUMENT');
    expect(codeOf(() => cmafTrack(videoConfig, 0))).toBe('ERR_MP4_INVALID_ARGUMENT');
    expect(codeOf(() => cmafTrack(videoConfig, 1, { videoTimescale: 0 }))).toBe('ERR_MP4_INVALID_ARGUMENT');
    expect(codeOf(() => cmafTrack({ ...videoConfig, initData: Uint8Array.of(1, 2) }, 1))).toBe(
      'ERR_MP4_INVALID_CONFIG',
    );
    expect(codeOf(() => cmafTrack({ ...videoConfig, codec: 'vp6' }, 1))).toBe('ERR_MP4_UNSUPPORTED_CODEC');
    expect(codeOf(() => cmafTrack({ ...audioConfig, codec: 'mp3' }, 1))).toBe('ERR_MP4_UNSUPPORTED_CODEC');
    expect(codeOf(() => cmafTrack({ ...audioConfig, initData: null }, 1))).toBe('ERR_MP4_INVALID_CONFIG');
    expect(codeOf(() => cmafTrack({ ...audioConfig, codec: 'opus', initData: Uint8Array.of(1) }, 1))).toBe(
      'ERR_MP4_INVALID_CONFIG',
    );
  });
});

describe('samples', () => {
  it('an FLV AVC payload goes into the mdat as the very bytes of the tag body (a view, not a copy)', () => {
    const w = new CmafWriter();
    w.push(videoConfig);
    w.push(firstVideo);
    const f = w.flush({ final: true })!;
    expect(f.chunks).toHaveLength(2);
    const data = f.chunks[1]!;
    expect(data.buffer).toBe(firstVideo.payload[0]!.buffer);
    expect(data.byteOffset).toBe(firstVideo.payload[0]!.byteOffset - 4);
  });

  it('NAL units from elsewhere get length prefixes of the configured size without copying them', () => {
    const w = new CmafWriter();
    w.push(videoConfig);
    const a = Uint8Array.of(0x65, 9, 9);
    const b = Uint8Array.of(0x06, 7);
    w.push(videoSample(0, { payload: [a, b] }));
    const f = w.flush({ final: true })!;
    expect(f.chunks.slice(1)).toEqual([Uint8Array.of(0, 0, 0, 3), a, Uint8Array.of(0, 0, 0, 2), b]);
    expect(f.chunks[2]).toBe(a);
    const read = readFragmentedMp4(concatChunks([w.initSegment(), ...f.chunks]));
    expect([...read.samples[0]!.data]).toEqual([0, 0, 0, 3, 0x65, 9, 9, 0, 0, 0, 2, 6, 7]);
  });

  it('a NAL unit longer than a 1-byte length prefix allows is ERR_MP4_NAL_LENGTH', () => {
    const config = { ...videoConfig, initData: Uint8Array.from([...videoConfig.initData!]) };
    config.initData[4] = 0xfc; // lengthSizeMinusOne 0
    const w = new CmafWriter();
    w.push(config);
    expect(w.tracks[0]).toMatchObject({ nalLengthSize: 1 });
    expect(codeOf(() => w.push(videoSample(0, { payload: [new Uint8Array(256)] })))).toBe(
      'ERR_MP4_NAL_LENGTH',
    );
    expect(w.push(videoSample(0, { payload: [new Uint8Array(255)] }))).toBe('sample');
  });

  it('sync, non-sync and disposable flags, signed composition offsets', () => {
    const w = new CmafWriter();
    w.push(videoConfig);
    w.push(videoSample(0, { pts: 80 }));
    w.push(videoSample(40, { keyframe: false, frameType: 2, pts: 20, payload: [Uint8Array.of(0x41, 1)] }));
    // nal_ref_idc 0: nothing refers to this picture.
    w.push(videoSample(80, { keyframe: false, frameType: 2, pts: 120, payload: [Uint8Array.of(0x01, 1)] }));
    const f = w.flush({ final: true })!;
    const s = readFragmentedMp4(concatChunks([w.initSegment(), ...f.chunks])).samples;
    expect(s.map((x) => x.flags)).toEqual([
      SAMPLE_FLAGS_SYNC,
      SAMPLE_FLAGS_NON_SYNC,
      SAMPLE_FLAGS_NON_SYNC | SAMPLE_FLAGS_DISPOSABLE,
    ]);
    expect(s.map((x) => x.pts - x.dts)).toEqual([80 * 90, -20 * 90, 40 * 90]);
  });

  it('a sample of a track with no configuration is ERR_MP4_TRACK_NOT_CONFIGURED; unsupported tracks are ignored', () => {
    const w = new CmafWriter();
    expect(codeOf(() => w.push(firstVideo))).toBe('ERR_MP4_TRACK_NOT_CONFIGURED');
    w.push(videoConfig);
    expect(codeOf(() => w.push({ ...firstVideo, track: 1 }))).toBe('ERR_MP4_TRACK_NOT_CONFIGURED');
    expect(codeOf(() => w.push({ ...firstVideo, codec: 'hevc' }))).toBe('ERR_MP4_TRACK_NOT_CONFIGURED');
    const mp3: DemuxEvent = { ...audioConfig, codec: 'mp3', initData: null };
    expect(w.push(mp3)).toBe('ignored');
    expect(
      w.push({
        kind: 'audio',
        codec: 'mp3',
        track: 0,
        timestamp: 0,
        payload: Uint8Array.of(1),
        timestampOffsetNano: 0,
      }),
    ).toBe('ignored');
    expect(w.stats.ignoredSamples).toBe(1);
    expect(w.push({ kind: 'metadata', name: 'onMetaData', value: null, args: [], timestamp: 0 })).toBe(
      'ignored',
    );
  });

  it('a malformed configuration is ERR_MP4_INVALID_CONFIG once; the track is then ignored', () => {
    const w = new CmafWriter();
    expect(codeOf(() => w.push({ ...videoConfig, initData: Uint8Array.of(1) }))).toBe(
      'ERR_MP4_INVALID_CONFIG',
    );
    expect(w.push(firstVideo)).toBe('ignored');
  });

  it('selectTrack leaves tracks out', () => {
    const w = new CmafWriter({ selectTrack: (media) => media === 'video' });
    expect(w.push(audioConfig)).toBe('ignored');
    expect(w.push(videoConfig)).toBe('config');
    expect(w.tracks.map((t) => t.kind)).toEqual(['video']);
  });

  it('limits: sample size, buffered bytes and samples; a rejected sample changes nothing', () => {
    const w = new CmafWriter({ maxSampleBytes: 100, maxBufferedBytes: 150, maxBufferedSamples: 3 });
    w.push(videoConfig);
    expect(codeOf(() => w.push(videoSample(0, { payload: [new Uint8Array(97)] })))).toBe(
      'ERR_MP4_SAMPLE_TOO_LARGE',
    );
    w.push(videoSample(0, { payload: [new Uint8Array(96)] }));
    expect(codeOf(() => w.push(videoSample(40, { payload: [new Uint8Array(60)] })))).toBe(
      'ERR_MP4_BUFFER_LIMIT',
    );
    expect(w.buffered).toBe(100);
    w.push(videoSample(40, { payload: [new Uint8Array(1)] }));
    w.push(videoSample(80, { payload: [new Uint8Array(1)] }));
    expect(codeOf(() => w.push(videoSample(120, { payload: [new Uint8Array(1)] })))).toBe(
      'ERR_MP4_BUFFER_LIMIT',
    );
    expect(w.flush({ final: true })!.tracks[0]!.sampleCount).toBe(3);
    expect(w.buffered).toBe(0);
    expect(codeOf(() => new CmafWriter({ maxBufferedBytes: 0 }))).toBe('ERR_MP4_INVALID_ARGUMENT');
    expect(codeOf(() => new CmafWriter({ timestampOffset: Number.NaN }))).toBe('ERR_MP4_INVALID_ARGUMENT');
  });

  it('decode times never go backwards (clamped, presentation kept); a jump over 32 bits is ERR_MP4_TIMESTAMP_RANGE', () => {
    const w = new CmafWriter({ videoTimescale: 1000 });
    w.push(videoConfig);
    w.push(videoSample(100));
    w.push(videoSample(90, { pts: 90 }));
    expect(w.stats.clampedTimestamps).toBe(1);
    expect(codeOf(() => w.push(videoSample(100 + 2 ** 32)))).toBe('ERR_MP4_TIMESTAMP_RANGE');
    const f = w.flush({ final: true })!;
    const s = readFragmentedMp4(concatChunks([w.initSegment(), ...f.chunks])).samples;
    expect(s.map((x) => [x.dts, x.pts, x.duration])).toEqual([
      [100, 100, 0],
      // The last duration is estimated: the previous one is 0, so 1/30 s.
      [100, 90, 33],
    ]);
  });

  it('timestampOffset and ModEx nanosecond offsets', () => {
    const w = new CmafWriter({ timestampOffset: -1000 });
    w.push(videoConfig);
    w.push(videoSample(1000, { timestampOffsetNano: 500_000 }));
    w.push(videoSample(1040));
    const f = w.flush({ final: true })!;
    expect(f.tracks[0]).toMatchObject({ baseMediaDecodeTime: 45, duration: 3555 + 3555 });
  });
});

describe('fragments', () => {
  it('flush({ before }) cuts at a decode time; the last sample of each track waits for its successor', () => {
    const w = new CmafWriter();
    w.push(videoConfig);
    w.push(audioConfig);
    expect(w.flush()).toBeNull();
    w.push(videoSample(0));
    w.push({
      kind: 'audio',
      codec: 'aac',
      track: 0,
      timestamp: 0,
      payload: Uint8Array.of(1),
      timestampOffsetNano: 0,
    });
    w.push(videoSample(40, { keyframe: false }));
    w.push({
      kind: 'audio',
      codec: 'aac',
      track: 0,
      timestamp: 23,
      payload: Uint8Array.of(2),
      timestampOffsetNano: 0,
    });
    w.push(videoSample(80, { keyframe: false }));
    // Video 0 and 40 have durations; audio 0 has one (23 ms), audio 23 waits.
    const a = w.flush({ before: 40 })!;
    expect(a.tracks.map((t) => [t.kind, t.sampleCount])).toEqual([
      ['video', 1],
      ['audio', 1],
    ]);
    expect(a).toMatchObject({ sequenceNumber: 1, startTime: 0, duration: 0.04, independent: true });
    const b = w.flush()!;
    expect(b.tracks.map((t) => [t.kind, t.sampleCount, t.startsWithSync])).toEqual([['video', 1, false]]);
    expect(b).toMatchObject({ sequenceNumber: 2, independent: false });
    const c = w.flush({ final: true })!;
    // The last samples' durations are estimated: the previous video duration, one AAC frame.
    expect(c.tracks.map((t) => [t.kind, t.sampleCount, t.duration])).toEqual([
      ['video', 1, 3600],
      ['audio', 1, 1024],
    ]);
    expect(w.flush({ final: true })).toBeNull();
  });

  it('encodeFragment checks its input', () => {
    const sample = { duration: 1, size: 1, flags: 0, compositionOffset: 0, data: Uint8Array.of(1) };
    expect(codeOf(() => encodeFragment(1, []))).toBe('ERR_MP4_INVALID_ARGUMENT');
    expect(codeOf(() => encodeFragment(1, [{ trackId: 1, baseMediaDecodeTime: 0, samples: [] }]))).toBe(
      'ERR_MP4_INVALID_ARGUMENT',
    );
    expect(
      codeOf(() =>
        encodeFragment(1, [{ trackId: 1, baseMediaDecodeTime: 0, samples: [{ ...sample, size: 2 }] }]),
      ),
    ).toBe('ERR_MP4_INVALID_ARGUMENT');
    expect(
      codeOf(() => encodeFragment(1, [{ trackId: 1, baseMediaDecodeTime: -1, samples: [sample] }])),
    ).toBe('ERR_MP4_TIMESTAMP_RANGE');
    expect(
      codeOf(() =>
        encodeFragment(1, [
          { trackId: 1, baseMediaDecodeTime: 0, samples: [{ ...sample, duration: 2 ** 32 }] },
        ]),
      ),
    ).toBe('ERR_MP4_TIMESTAMP_RANGE');
    expect(
      codeOf(() => encodeFragment(2 ** 32, [{ trackId: 1, baseMediaDecodeTime: 0, samples: [sample] }])),
    ).toBe('ERR_MP4_INVALID_ARGUMENT');
    const big = encodeFragment(7, [{ trackId: 3, baseMediaDecodeTime: 2 ** 40, samples: [sample] }]);
    expect(big.byteLength).toBe(big.chunks.reduce((n, c) => n + c.length, 0));
  });
});

describe('codec details', () => {
  it('AAC frame length from the AudioSpecificConfig', () => {
    expect(aacFrameLength(Uint8Array.of(0x12, 0x08))).toBe(1024); // AAC-LC 44.1 kHz mono
    expect(aacFrameLength(Uint8Array.of(0x12, 0x0c))).toBe(960); // frameLengthFlag
    expect(aacFrameLength(Uint8Array.of(0x2b, 0x92, 0x08, 0x00))).toBe(2048); // explicit SBR, 24 -> 48 kHz
    expect(aacFrameLength(Uint8Array.of(0x12))).toBeNull();
  });

  it('Opus packet durations from the TOC byte', () => {
    expect(opusPacketDuration(Uint8Array.of(0xf8))).toBe(960); // CELT 20 ms, one frame
    expect(opusPacketDuration(Uint8Array.of(0x09))).toBe(1920); // SILK 20 ms, two frames
    expect(opusPacketDuration(Uint8Array.of(0xe3, 3))).toBe(360); // CELT 2.5 ms x 3
    expect(opusPacketDuration(new Uint8Array(0))).toBeNull();
  });

  it('VP9: only keyframes are read; garbage is null, never an exception', () => {
    expect(parseVp9Keyframe(Uint8Array.of(0x86, 0))).toBeNull();
    expect(parseVp9Keyframe(Uint8Array.of(0x82, 0x49, 0x83))).toBeNull();
    expect(parseVp9Keyframe(new Uint8Array(0))).toBeNull();
  });
});

describe('Mp4Error', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  it.each(MP4_ERROR_CODES)('%s is documented in the README', (code) => {
    expect(readme).toContain(`\`${code}\``);
  });

  it('carries code, offset and cause; instanceof works across copies', () => {
    const cause = new Error('under');
    const e = new Mp4Error('ERR_MP4_INVALID_CONFIG', 'x', { offset: 3, cause });
    expect(e).toMatchObject({ name: 'Mp4Error', code: 'ERR_MP4_INVALID_CONFIG', offset: 3, cause });
    expect(new Mp4Error('ERR_MP4_INVALID_CONFIG', 'x')).not.toHaveProperty('cause');
    expect(Object.create(Object.getPrototypeOf(e)) instanceof Mp4Error).toBe(true);
    expect(new Error('x') instanceof Mp4Error).toBe(false);
  });
});
