import { createAmfObject, EcmaArray } from '@rtmp/amf';
import { describe, expect, it } from 'vitest';
import {
  CapsEx,
  FourCcInfo,
  fourCcFlags,
  MAX_FOURCC_ENTRIES,
  negotiated,
  readCapabilities,
  writeCapabilities,
} from '../src/index.js';

describe('Enhanced RTMP capabilities', () => {
  it('reads the four properties of a command object; none gives undefined', () => {
    expect(readCapabilities({ app: 'live' })).toBeUndefined();
    expect(readCapabilities(undefined)).toBeUndefined();
    expect(readCapabilities(null)).toBeUndefined();
    expect(
      readCapabilities({
        fourCcList: ['av01', 'Opus'],
        videoFourCcInfoMap: { '*': 4, av01: 3 },
        audioFourCcInfoMap: new EcmaArray(Object.assign(createAmfObject(), { Opus: 1 })),
        capsEx: 15,
      }),
    ).toEqual({
      fourCcList: ['av01', 'Opus'],
      videoFourCcInfoMap: { '*': 4, av01: 3 },
      audioFourCcInfoMap: { Opus: 1 },
      capsEx: 15,
    });
  });

  it('is lenient: wrong types count as absent, entries that are no FourCC are left out, lists are bounded', () => {
    expect(readCapabilities({ fourCcList: 'av01', capsEx: 1.5, videoFourCcInfoMap: [1] })).toBeUndefined();
    expect(readCapabilities({ capsEx: -1 })).toBeUndefined();
    expect(
      readCapabilities({
        fourCcList: ['av01', 3, 'av1', null, '*'],
        videoFourCcInfoMap: { av01: -1, hvc1: 2, vp09: 'x', '*': 4, toolong: 1 },
      }),
    ).toEqual({ fourCcList: ['av01', '*'], videoFourCcInfoMap: { hvc1: 2, '*': 4 } });
    const many = Array.from({ length: 200 }, (_, i) => String(1000 + i));
    const read = readCapabilities({
      fourCcList: many,
      audioFourCcInfoMap: Object.fromEntries(many.map((f) => [f, 1])),
    });
    expect(read?.fourCcList).toHaveLength(MAX_FOURCC_ENTRIES);
    expect(Object.keys(read?.audioFourCcInfoMap ?? {})).toHaveLength(MAX_FOURCC_ENTRIES);
  });

  it('reads maps into null-prototype records', () => {
    const read = readCapabilities({ videoFourCcInfoMap: { av01: 1 } });
    expect(Object.getPrototypeOf(read?.videoFourCcInfoMap)).toBeNull();
  });

  it('writes what is present, in the spec order, as copies', () => {
    const object = createAmfObject();
    const list = ['av01'];
    writeCapabilities(object, { capsEx: 2, fourCcList: list, audioFourCcInfoMap: { Opus: 4 } });
    expect(Object.keys(object)).toEqual(['fourCcList', 'audioFourCcInfoMap', 'capsEx']);
    expect(object.fourCcList).not.toBe(list);
    expect(readCapabilities(object)).toEqual({
      fourCcList: ['av01'],
      audioFourCcInfoMap: { Opus: 4 },
      capsEx: 2,
    });
  });

  it('negotiated: the capsEx bits both stated', () => {
    expect(negotiated({ capsEx: 0xffffffff }, { capsEx: 0x80000001 }).capsEx).toBe(0x80000001);
    expect(negotiated({ capsEx: CapsEx.Multitrack | CapsEx.ModEx }, undefined)).toEqual({
      client: { capsEx: 6 },
      server: undefined,
      capsEx: 0,
    });
  });

  it('fourCcFlags: a codec own entry with the wildcard flags added', () => {
    const map = { '*': FourCcInfo.CanForward, vp09: FourCcInfo.CanDecode | FourCcInfo.CanEncode };
    expect(fourCcFlags(map, 'vp09')).toBe(7);
    expect(fourCcFlags(map, 'av01')).toBe(4);
    expect(fourCcFlags({ av01: 1 }, 'hvc1')).toBe(0);
    expect(fourCcFlags(undefined, 'av01')).toBe(0);
    expect(fourCcFlags({}, 'constructor')).toBe(0);
  });
});
