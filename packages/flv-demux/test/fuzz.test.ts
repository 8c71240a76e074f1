import { readFixture as fixture } from '@rtmp/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aacInfo,
  av1Info,
  avcInfo,
  FlvError,
  FlvReader,
  flacInfo,
  hevcInfo,
  opusInfo,
  parseAudioTag,
  parseAvcSps,
  parseHevcSps,
  parseScriptData,
  parseVideoTag,
  StreamDemuxer,
  vp9Info,
} from '../src/index.js';
import { AVCC } from './helpers.js';

const onlyFlvError = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof FlvError)) throw e;
  }
};

/** Bytes biased towards the interesting header values. */
const body = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc
    .tuple(
      fc.constantFrom(0x90, 0x91, 0x94, 0x95, 0x96, 0x97, 0xa3, 0x17, 0x27, 0x1c, 0xaf),
      fc.uint8Array({ maxLength: 64 }),
    )
    .map(([h, rest]) => Uint8Array.of(h, ...rest)),
);

describe('arbitrary bytes never throw anything but FlvError', () => {
  it('tag parsers and config parsers', () => {
    const parsers = [
      parseVideoTag,
      parseAudioTag,
      parseScriptData,
      avcInfo,
      hevcInfo,
      av1Info,
      vp9Info,
      aacInfo,
      opusInfo,
      flacInfo,
      parseAvcSps,
      parseHevcSps,
    ];
    fc.assert(
      fc.property(body, (bytes) => {
        for (const p of parsers) onlyFlvError(() => p(bytes));
      }),
      { numRuns: 3000 },
    );
  }, 60_000);

  it('StreamDemuxer.push never throws, whatever the type and body', () => {
    const d = new StreamDemuxer();
    d.push(9, 0, Uint8Array.of(0x17, 0, 0, 0, 0, ...AVCC));
    fc.assert(
      fc.property(
        fc.constantFrom(8, 9, 15, 18, 20, 22),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        body,
        (t, ts, b) => {
          const events = d.push(t, ts, b);
          for (const e of events) if (e.kind === 'error') expect(e.message).not.toMatch(/^internal/);
        },
      ),
      { numRuns: 5000 },
    );
  }, 60_000);

  it('mutated real tags demux to events only', () => {
    const tags = new FlvReader().push(fixture('enhanced/av1_opus_testsrc.flv')).slice(0, 40);
    const small = new FlvReader().push(fixture('small_h264_aac.flv')).slice(0, 40);
    const all = [...tags, ...small];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: all.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        (i, flips, cut) => {
          const tag = all[i]!;
          const b = tag.body.slice(0, Math.max(1, tag.body.length - (cut % 8)));
          for (const [pos, v] of flips) b[pos % b.length] = v;
          const d = new StreamDemuxer();
          for (const t of [...tags.slice(0, 6), ...small.slice(0, 3)]) d.push(t.type, t.timestamp, t.body);
          for (const e of d.push(tag.type, tag.timestamp, b)) {
            if (e.kind === 'error') expect(e.message).not.toMatch(/^internal/);
          }
        },
      ),
      { numRuns: 3000 },
    );
  }, 60_000);

  it('FlvReader on arbitrary and mutated files', () => {
    const file = fixture('small_h264_aac.flv').subarray(0, 4000);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.integer({ min: 1, max: 600 }),
        (flips, split) => {
          const b = file.slice();
          for (const [pos, v] of flips) b[pos % b.length] = v;
          const r = new FlvReader({ maxTagSize: 1 << 20 });
          onlyFlvError(() => {
            for (let i = 0; i < b.length; i += split) r.push(b.subarray(i, i + split));
          });
          r.end();
        },
      ),
      { numRuns: 500 },
    );
  }, 60_000);
});
