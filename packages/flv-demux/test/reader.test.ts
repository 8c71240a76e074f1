import { readFixture as fixture } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { concatBytes, FlvError, FlvReader, FlvWriter } from '../src/index.js';

function sample(): Uint8Array {
  const w = new FlvWriter({ audio: true, video: true });
  return concatBytes([
    w.header(),
    ...w.tag(9, 0, Uint8Array.of(0x17, 0, 0, 0, 0)),
    ...w.tag(8, 0x01020304, [Uint8Array.of(0xaf, 1), Uint8Array.of(5, 6)]),
    ...w.tag(18, 7, new Uint8Array(0), 0),
  ]);
}

describe('FlvReader', () => {
  it('reads header and tags with 32-bit timestamps', () => {
    const r = new FlvReader();
    const tags = r.push(sample());
    expect(r.header).toEqual({ version: 1, hasAudio: true, hasVideo: true, dataOffset: 9 });
    expect(tags.map((t) => [t.type, t.timestamp, Array.from(t.body)])).toEqual([
      [9, 0, [0x17, 0, 0, 0, 0]],
      [8, 0x01020304, [0xaf, 1, 5, 6]],
      [18, 7, []],
    ]);
    expect(tags.map((t) => t.offset)).toEqual([13, 33, 52]);
    expect(r.end()).toEqual({ truncated: false, pendingBytes: 0 });
  });

  it('survives every split of the input', () => {
    const bytes = sample();
    const whole = new FlvReader().push(bytes);
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (const cut2 of [cut, Math.min(bytes.length, cut + 3)]) {
        const r = new FlvReader();
        const tags = [
          ...r.push(bytes.subarray(0, cut)),
          ...r.push(bytes.subarray(cut, cut2)),
          ...r.push(bytes.subarray(cut2)),
        ];
        expect(tags).toEqual(whole);
      }
    }
  });

  it('bodies are views when they lie in one chunk', () => {
    const bytes = sample();
    for (const t of new FlvReader().push(bytes))
      if (t.body.length > 0) expect(t.body.buffer).toBe(bytes.buffer);
  });

  it('is tolerant of a truncated tail: end() reports it', () => {
    const bytes = sample();
    const r = new FlvReader();
    const tags = r.push(bytes.subarray(0, bytes.length - 6));
    expect(tags).toHaveLength(2);
    expect(r.end()).toEqual({ truncated: true, pendingBytes: 11 + 0 + 4 - 6 });
    const r2 = new FlvReader();
    r2.push(bytes.subarray(0, 5));
    expect(r2.end().truncated).toBe(true);
  });

  it('reads the real fixtures completely', () => {
    for (const name of ['small_h264_aac.flv', 'extended_ts_h264_aac.flv', 'enhanced/av1_opus_testsrc.flv']) {
      const r = new FlvReader();
      expect(r.push(fixture(name)).length).toBeGreaterThan(100);
      expect(r.end().truncated).toBe(false);
    }
  });

  it('validates PreviousTagSize, and stays failed', () => {
    const bytes = sample();
    bytes[32] = 99;
    const r = new FlvReader();
    expect(() => r.push(bytes)).toThrow(
      expect.objectContaining({ code: 'ERR_FLV_PREVIOUS_TAG_SIZE', offset: 29 }),
    );
    expect(() => r.push(new Uint8Array(1))).toThrow(
      expect.objectContaining({ code: 'ERR_FLV_PARSER_FAILED' }),
    );
    expect(new FlvReader({ previousTagSize: 'ignore' }).push(bytes)).toHaveLength(3);
  });

  it('rejects a bad signature, a bad data offset, and tags over the limit before buffering them', () => {
    expect(() => new FlvReader().push(Uint8Array.of(0x46, 0x4c, 0x57, 1, 5, 0, 0, 0, 9))).toThrow(
      expect.objectContaining({ code: 'ERR_FLV_BAD_SIGNATURE' }),
    );
    expect(() => new FlvReader().push(Uint8Array.of(0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 3))).toThrow(
      expect.objectContaining({ code: 'ERR_FLV_BAD_HEADER' }),
    );
    const r = new FlvReader({ maxTagSize: 1000 });
    const header = sample().subarray(0, 13);
    // Only the 11-byte tag header announcing 0xFFFFFF bytes: rejected without waiting for the body.
    expect(() =>
      r.push(concatBytes([header, Uint8Array.of(9, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0)])),
    ).toThrow(FlvError);
  });

  it('skips extra header bytes when the data offset is above 9', () => {
    const bytes = sample();
    const shifted = concatBytes([bytes.subarray(0, 9), Uint8Array.of(0xaa, 0xbb), bytes.subarray(9)]);
    shifted[8] = 11;
    expect(new FlvReader().push(shifted)).toHaveLength(3);
  });
});

describe('FlvWriter', () => {
  it('header flags, tag header layout and PreviousTagSize', () => {
    const w = new FlvWriter({ video: true });
    const pieces = w.tag(9, 0x12345678, Uint8Array.of(1, 2, 3), 0);
    expect(pieces).toHaveLength(4);
    expect(Array.from(pieces[0]!)).toEqual([0x46, 0x4c, 0x56, 1, 1, 0, 0, 0, 9, 0, 0, 0, 0]);
    expect(Array.from(pieces[1]!)).toEqual([9, 0, 0, 3, 0x34, 0x56, 0x78, 0x12, 0, 0, 0]);
    expect(Array.from(pieces[3]!)).toEqual([0, 0, 0, 14]);
    expect(() => w.tag(9, -1, new Uint8Array(0))).toThrow(
      expect.objectContaining({ code: 'ERR_FLV_INVALID_ARGUMENT' }),
    );
  });

  it('passes bodies through without copying', () => {
    const body = Uint8Array.of(1, 2, 3);
    const w = new FlvWriter({ audio: true });
    w.header();
    expect(w.tag(8, 0, body)[1]).toBe(body);
  });

  it('writes onMetaData that the demuxer reads back', () => {
    const w = new FlvWriter({ audio: true });
    const bytes = concatBytes([w.header(), ...w.metadata({ duration: 4 })]);
    const [tag] = new FlvReader().push(bytes);
    expect(tag?.type).toBe(18);
  });
});
