import { describe, expect, it } from 'vitest';
import {
  aacInfo,
  av1Info,
  avcInfo,
  FlvError,
  flacInfo,
  hevcInfo,
  opusInfo,
  parseAudioSpecificConfig,
  parseAvcConfig,
  vp9Info,
} from '../src/index.js';
import { AVCC, ascii, HVCC, hex } from './helpers.js';

/** MSB-first bit writer for building AudioSpecificConfig vectors. */
function bits(fields: [number, number][]): Uint8Array {
  let s = '';
  for (const [value, width] of fields) s += value.toString(2).padStart(width, '0');
  while (s.length % 8) s += '0';
  return Uint8Array.from(s.match(/.{8}/g)!.map((x) => Number.parseInt(x, 2)));
}

describe('AudioSpecificConfig', () => {
  it('AAC-LC 44.1 kHz stereo (12 10)', () => {
    expect(aacInfo(hex('1210'))).toEqual({
      codecString: 'mp4a.40.2',
      profile: 2,
      sampleRate: 44100,
      channels: 2,
    });
  });

  it('explicit frequency (index 15, 24-bit rate)', () => {
    const asc = bits([
      [2, 5],
      [15, 4],
      [44056, 24],
      [1, 4],
    ]);
    expect(parseAudioSpecificConfig(asc)).toMatchObject({
      objectType: 2,
      sampleRate: 44056,
      channelConfig: 1,
    });
  });

  it('object type escape (31 -> 32 + 6 bits), e.g. USAC 42', () => {
    const asc = bits([
      [31, 5],
      [10, 6],
      [3, 4],
      [2, 4],
    ]);
    expect(aacInfo(asc)).toMatchObject({ codecString: 'mp4a.40.42', sampleRate: 48000, channels: 2 });
  });

  it('HE-AAC with explicit SBR signalling reports the output rate', () => {
    const asc = bits([
      [5, 5],
      [6, 4],
      [1, 4],
      [3, 4],
      [2, 5],
    ]);
    expect(aacInfo(asc)).toMatchObject({ codecString: 'mp4a.40.5', sampleRate: 48000, channels: 1 });
  });

  it('reserved frequency index and truncation are ERR_FLV_INVALID_CONFIG', () => {
    expect(() =>
      aacInfo(
        bits([
          [2, 5],
          [13, 4],
          [2, 4],
        ]),
      ),
    ).toThrow(expect.objectContaining({ code: 'ERR_FLV_INVALID_CONFIG' }));
    expect(() => aacInfo(hex('12'))).toThrow(FlvError);
  });
});

describe('avcC / hvcC / av1C / vpcC / OpusHead / STREAMINFO', () => {
  it('avcC with SPS summary', () => {
    expect(parseAvcConfig(AVCC)).toMatchObject({ profile: 100, level: 13, nalLengthSize: 4 });
    expect(avcInfo(AVCC)).toMatchObject({
      codecString: 'avc1.64000D',
      width: 320,
      height: 240,
      chromaFormat: 1,
    });
  });

  it('avcC errors', () => {
    expect(() => avcInfo(hex('02640028'))).toThrow(
      expect.objectContaining({ code: 'ERR_FLV_INVALID_CONFIG' }),
    );
    expect(() => avcInfo(AVCC.subarray(0, 12))).toThrow(
      expect.objectContaining({ code: 'ERR_FLV_INVALID_CONFIG' }),
    );
  });

  it('hvcC codec string', () => {
    expect(hevcInfo(HVCC)).toMatchObject({ codecString: 'hvc1.1.6.L93.90', nalLengthSize: 4, bitDepth: 8 });
    const main10High = hex('01 22 20000000 000000000000 99 f000 fc fd fa fa 0000 0f 00');
    expect(hevcInfo(main10High).codecString).toBe('hvc1.2.4.H153');
  });

  it('av1C: profile, level, tier, bit depth', () => {
    expect(av1Info(hex('81 0d 4c 00')).codecString).toBe('av01.0.13M.10');
    expect(av1Info(hex('81 48 8c 00')).codecString).toBe('av01.2.08H.08');
    expect(() => av1Info(hex('01 00 00 00'))).toThrow(
      expect.objectContaining({ code: 'ERR_FLV_INVALID_CONFIG' }),
    );
  });

  it('vpcC with and without the version/flags prefix', () => {
    expect(vp9Info(hex('01000000 02 28 a2 09 10 09 0000')).codecString).toBe('vp09.02.40.10');
    expect(vp9Info(hex('00 1f 80 01 01 01 0000')).codecString).toBe('vp09.00.31.08');
  });

  it('OpusHead and FLAC STREAMINFO', () => {
    const head = Uint8Array.from([...ascii('OpusHead'), 1, 6, 0, 0, 0x80, 0xbb, 0, 0, 0, 0, 1]);
    expect(opusInfo(head)).toEqual({ codecString: 'opus', channels: 6, sampleRate: 48000 });
    expect(() => opusInfo(Uint8Array.from(ascii('OpusTags')))).toThrow(
      expect.objectContaining({ code: 'ERR_FLV_INVALID_CONFIG' }),
    );
    const streaminfo = hex('1000 1000 000000 000000 0ac4 4170 0000000000 00000000000000000000000000000000');
    expect(flacInfo(streaminfo)).toEqual({
      codecString: 'flac',
      sampleRate: 44100,
      channels: 1,
      sampleSize: 24,
    });
    expect(() => flacInfo(streaminfo.subarray(0, 20))).toThrow(FlvError);
  });
});
