import { decodeAmf0, EcmaArray, encodeAmf0 } from '@rtmp/amf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { muxScriptData, parseScriptData, stripSetDataFrame, wrapSetDataFrame } from '../src/index.js';

describe('wrapSetDataFrame / stripSetDataFrame', () => {
  it('wraps name + args as publishers send metadata, and strips back to the bare message as a view', () => {
    const metadata = new EcmaArray({ width: 320, height: 240 });
    const wrapped = wrapSetDataFrame('onMetaData', [metadata]);
    expect(decodeAmf0(wrapped)).toEqual(['@setDataFrame', 'onMetaData', metadata]);
    expect(wrapped).toEqual(muxScriptData('onMetaData', [metadata], true));
    const bare = stripSetDataFrame(wrapped);
    expect(bare).toEqual(encodeAmf0(['onMetaData', metadata]));
    expect(bare.buffer).toBe(wrapped.buffer);
    expect(bare.byteOffset).toBe(wrapped.byteOffset + 16);
    expect(parseScriptData(wrapped)).toMatchObject({ name: 'onMetaData', setDataFrame: true });
    expect(parseScriptData(bare)).toMatchObject({ name: 'onMetaData', setDataFrame: false });
  });

  it('wraps an encoded message keeping its bytes', () => {
    const body = encodeAmf0(['onMetaData', { duration: 0 }]);
    const wrapped = wrapSetDataFrame(body);
    expect(wrapped.byteLength).toBe(body.byteLength + 16);
    expect(stripSetDataFrame(wrapped)).toEqual(body);
    expect(wrapped).toEqual(wrapSetDataFrame('onMetaData', [{ duration: 0 }]));
  });

  it('returns the payload itself when it is not wrapped (other names, short or garbage payloads)', () => {
    for (const payload of [
      encodeAmf0(['onMetaData', {}]),
      encodeAmf0(['@setDataFrameX', 'onMetaData']),
      encodeAmf0(['@clearDataFrame']),
      Uint8Array.of(2, 0, 13),
      new Uint8Array(0),
    ]) {
      expect(stripSetDataFrame(payload)).toBe(payload);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (payload) => {
        const stripped = stripSetDataFrame(payload);
        expect(stripped === payload || stripped.byteLength === payload.byteLength - 16).toBe(true);
        expect(stripSetDataFrame(wrapSetDataFrame(payload))).toEqual(payload);
      }),
    );
  });
});
