import { fromHex, toHex as hex } from '@rtmp/testing';
import { describe, expect, test } from 'vitest';
import {
  Amf0Decoder,
  Amf3Decoder,
  Amf3Encoder,
  Amf3Externalizable,
  AmfError,
  type AmfValue,
  createAmfObject,
  decodeAmf0,
  decodeAmf3,
  encodeAmf0,
  encodeAmf3,
  singleValueExternalizable,
  TypedObject,
} from '../src/index.js';
import { expectCode, rec } from './helpers.js';

function repeat(h: string, n: number, tail = ''): Uint8Array {
  return fromHex(h.repeat(n) + tail);
}

describe('__proto__ and friends never touch a prototype', () => {
  const payloads: [string, () => unknown][] = [
    // AMF0 object {__proto__: {polluted: true}}
    [
      'AMF0 object',
      () =>
        decodeAmf0(
          fromHex(
            '03' + '00095f5f70726f746f5f5f' + '03' + '0008706f6c6c75746564' + '0101' + '000009' + '000009',
          ),
        )[0],
    ],
    // AMF0 ECMA array
    [
      'AMF0 ECMA array',
      () =>
        (
          decodeAmf0(fromHex('0800000001' + '00095f5f70726f746f5f5f' + '0101' + '000009'))[0] as {
            properties: unknown;
          }
        ).properties,
    ],
    // AMF0 typed object
    [
      'AMF0 typed object',
      () =>
        (
          decodeAmf0(fromHex('10000143' + '00095f5f70726f746f5f5f' + '0101' + '000009'))[0] as {
            properties: unknown;
          }
        ).properties,
    ],
    // AMF3 dynamic member
    ['AMF3 dynamic member', () => decodeAmf3(fromHex('0a0b01' + '135f5f70726f746f5f5f' + '03' + '01'))[0]],
    // AMF3 sealed member of an anonymous class
    [
      'AMF3 sealed member',
      () =>
        (decodeAmf3(fromHex('0a13' + '01' + '135f5f70726f746f5f5f' + '03'))[0] as { properties: unknown })
          .properties,
    ],
    // AMF3 associative array entry
    [
      'AMF3 associative entry',
      () =>
        (decodeAmf3(fromHex('0901' + '135f5f70726f746f5f5f' + '03' + '01'))[0] as { properties: unknown })
          .properties,
    ],
  ];
  test.each(payloads)('%s', (_, decode) => {
    const o = decode() as Record<string, unknown>;
    expect(Object.getPrototypeOf(o)).toBe(null);
    expect(Object.hasOwn(o, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
  test('a __proto__ key encodes as a key and comes back as one', () => {
    const o = createAmfObject();
    Object.defineProperty(o, '__proto__', { value: rec({ x: 1 }), enumerable: true, writable: true });
    const [back] = decodeAmf0(encodeAmf0([o])) as [Record<string, unknown>];
    expect(Object.keys(back)).toEqual(['__proto__']);
    const [back3] = decodeAmf3(encodeAmf3([o])) as [Record<string, unknown>];
    expect(Object.keys(back3)).toEqual(['__proto__']);
  });
});

describe('limits', () => {
  test('AMF0 depth bomb (nested strict arrays)', () => {
    const e = expectCode(() => decodeAmf0(repeat('0a00000001', 100000, '05')), 'ERR_AMF_DEPTH_EXCEEDED');
    expect(e.offset).toBe(64 * 5);
    expectCode(() => decodeAmf0(repeat('03000161', 1000)), 'ERR_AMF_DEPTH_EXCEEDED');
    expect(decodeAmf0(repeat('0a00000001', 64, '05'))).toHaveLength(1);
    expectCode(
      () => new Amf0Decoder({ maxDepth: 3 }).decode(repeat('0a00000001', 4, '05')),
      'ERR_AMF_DEPTH_EXCEEDED',
    );
  });
  test('AMF3 depth bomb (nested arrays and objects)', () => {
    expectCode(() => decodeAmf3(repeat('090301', 100000, '01')), 'ERR_AMF_DEPTH_EXCEEDED');
    expectCode(() => decodeAmf3(repeat('0a0b010361', 1000)), 'ERR_AMF_DEPTH_EXCEEDED');
  });
  test('a depth limit beyond what the stack holds still ends in AmfError', () => {
    const e = amfErrorOf(() =>
      new Amf0Decoder({ maxDepth: 1e9 }).decode(repeat('0a00000001', 1_000_000, '05')),
    );
    expect(['ERR_AMF_DEPTH_EXCEEDED']).toContain(e.code);
  });
  test('huge counts are refused before allocating', () => {
    expectCode(() => decodeAmf0(fromHex('0affffffff05')), 'ERR_AMF_ARRAY_TOO_LONG');
    expectCode(() => decodeAmf0(fromHex('0a000f424005')), 'ERR_AMF_TRUNCATED'); // 1,000,000 items, 1 byte left
    expectCode(
      () => new Amf0Decoder({ maxArrayLength: 2 }).decode(fromHex('0a00000003050505')),
      'ERR_AMF_ARRAY_TOO_LONG',
    );
    expectCode(() => decodeAmf0(fromHex('0cffffffff')), 'ERR_AMF_STRING_TOO_LONG');
    expectCode(() => decodeAmf0(fromHex('0c000fffff')), 'ERR_AMF_TRUNCATED');
    expectCode(() => decodeAmf0(fromHex('0fffffffff')), 'ERR_AMF_STRING_TOO_LONG');
    expectCode(
      () => new Amf0Decoder({ maxStringBytes: 2 }).decode(fromHex('020003616263')),
      'ERR_AMF_STRING_TOO_LONG',
    );
    // AMF3: array count 2^28-1, vector of doubles, dictionary, ByteArray, string, sealed members
    expectCode(() => decodeAmf3(fromHex('09ffffffff01')), 'ERR_AMF_ARRAY_TOO_LONG');
    expectCode(() => decodeAmf3(fromHex(`0f8f5100${'00'.repeat(100)}`)), 'ERR_AMF_TRUNCATED'); // 1000 doubles
    expectCode(() => decodeAmf3(fromHex('11bfffffff00')), 'ERR_AMF_ARRAY_TOO_LONG');
    expectCode(() => decodeAmf3(fromHex('0cbfffffff')), 'ERR_AMF_STRING_TOO_LONG');
    expectCode(() => decodeAmf3(fromHex('06bfffffff')), 'ERR_AMF_STRING_TOO_LONG');
    expectCode(() => decodeAmf3(fromHex('0abfffff73')), 'ERR_AMF_TOO_MANY_PROPERTIES');
    expectCode(() => decodeAmf3(fromHex('0afd0301')), 'ERR_AMF_TRUNCATED');
  });
  test('property count limit', () => {
    const three = '03' + '000161' + '05' + '000162' + '05' + '000163' + '05' + '000009';
    expect(new Amf0Decoder({ maxObjectProperties: 3 }).decode(fromHex(three))).toHaveLength(1);
    expectCode(
      () => new Amf0Decoder({ maxObjectProperties: 2 }).decode(fromHex(three)),
      'ERR_AMF_TOO_MANY_PROPERTIES',
    );
    expectCode(
      () => new Amf3Decoder({ maxObjectProperties: 1 }).decode(fromHex('0a0b01036101036201' + '01')),
      'ERR_AMF_TOO_MANY_PROPERTIES',
    );
  });
  test('total input size', () => {
    expectCode(
      () => new Amf0Decoder({ maxInputBytes: 4 }).decode(fromHex('0505050505')),
      'ERR_AMF_INPUT_TOO_LARGE',
    );
  });
  test('references to missing entries', () => {
    expectCode(() => decodeAmf3(fromHex('0a02')), 'ERR_AMF_BAD_REFERENCE'); // object ref 1
    expectCode(() => decodeAmf3(fromHex('0a05')), 'ERR_AMF_BAD_REFERENCE'); // traits ref 1
    expectCode(() => decodeAmf3(fromHex('0602')), 'ERR_AMF_BAD_REFERENCE'); // string ref 1
    expectCode(() => decodeAmf3(fromHex('0800')), 'ERR_AMF_BAD_REFERENCE');
    expectCode(() => decodeAmf0(fromHex('03000161070005000009')), 'ERR_AMF_BAD_REFERENCE');
  });
  test('unknown AMF3 marker, with its offset', () => {
    expect(expectCode(() => decodeAmf3(fromHex('0112')), 'ERR_AMF_UNKNOWN_MARKER').offset).toBe(1);
  });
  test('a failed decode leaves the shared decoder usable', () => {
    expectCode(() => decodeAmf0(fromHex('0a00000002')), 'ERR_AMF_TRUNCATED');
    expect(decodeAmf0(fromHex('0101'))).toEqual([true]);
  });
});

function amfErrorOf(fn: () => unknown): AmfError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AmfError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('externalizable objects', () => {
  const ac = 'flex.messaging.io.ArrayCollection';
  const bytes = encodeAmf3([new Amf3Externalizable(ac, [1, 2])], {
    externalizable: { [ac]: singleValueExternalizable },
  });
  test('without a handler: a clear typed error, both ways', () => {
    const e = expectCode(() => decodeAmf3(bytes), 'ERR_AMF_EXTERNALIZABLE_UNSUPPORTED');
    expect(e.message).toContain(ac);
    expectCode(() => encodeAmf3([new Amf3Externalizable(ac, [])]), 'ERR_AMF_EXTERNALIZABLE_UNSUPPORTED');
  });
  test('with a registered handler (record or Map)', () => {
    // externalizable traits 0x07, class name (33 bytes -> 0x43), then the handler's body: the array [1, 2]
    expect(hex(bytes)).toBe(`0a0743${hex(new TextEncoder().encode(ac))}09050104010402`);
    const viaMap = new Amf3Decoder({ externalizable: new Map([[ac, singleValueExternalizable]]) }).decode(
      bytes,
    );
    expect(viaMap).toStrictEqual([new Amf3Externalizable(ac, [1, 2])]);
  });
  test('a handler that calls the codecs itself does not disturb the outer call (re-entrancy)', () => {
    const nested = {
      read(input: Parameters<typeof singleValueExternalizable.read>[0]) {
        // Re-enters the shared default decoder/encoder and a reusable decoder while they are busy.
        expect(decodeAmf3(encodeAmf3(['inner', 7]))).toStrictEqual(['inner', 7]);
        expect(decodeAmf0(encodeAmf0(['x']))).toStrictEqual(['x']);
        expect(reusable.decode(encodeAmf3([9]))).toStrictEqual([9]);
        return input.readValue();
      },
      write(data: AmfValue, output: Parameters<typeof singleValueExternalizable.write>[1]) {
        expect(decodeAmf3(encodeAmf3(['inner']))).toStrictEqual(['inner']);
        output.writeValue(data);
      },
    };
    const reusable: Amf3Decoder = new Amf3Decoder({ externalizable: { [ac]: nested } });
    const outer = ['before', new Amf3Externalizable(ac, [1, 2]), 'after'];
    const encoded = encodeAmf3(outer, { externalizable: { [ac]: nested } });
    expect(reusable.decode(encoded)).toStrictEqual(outer);
    expect(decodeAmf3(encoded, { externalizable: { [ac]: nested } })).toStrictEqual(outer);
  });
  test('a throwing handler becomes ERR_AMF_EXTERNALIZABLE_FAILED', () => {
    const bad = {
      read() {
        throw new TypeError('boom');
      },
      write() {
        throw new TypeError('boom');
      },
    };
    const e = expectCode(
      () => decodeAmf3(bytes, { externalizable: { [ac]: bad } }),
      'ERR_AMF_EXTERNALIZABLE_FAILED',
    );
    expect(e.cause).toBeInstanceOf(TypeError);
    expectCode(
      () => new Amf3Encoder({ externalizable: { [ac]: bad } }).encode([new Amf3Externalizable(ac, 1)]),
      'ERR_AMF_EXTERNALIZABLE_FAILED',
    );
  });
  test('a handler reading past the end gets ERR_AMF_TRUNCATED', () => {
    const greedy = {
      read(input: { readDouble(): number }) {
        return input.readDouble();
      },
      write() {},
    };
    expectCode(() => decodeAmf3(bytes, { externalizable: { [ac]: greedy } }), 'ERR_AMF_TRUNCATED');
  });
});

describe('encoder refusals', () => {
  test('values AMF cannot carry', () => {
    expectCode(() => encodeAmf0([(() => 1) as never]), 'ERR_AMF_INVALID_VALUE');
    expectCode(() => encodeAmf0([Symbol('x') as never]), 'ERR_AMF_INVALID_VALUE');
    expectCode(() => encodeAmf3([10n as never]), 'ERR_AMF_INVALID_VALUE');
    expectCode(() => encodeAmf0([new Map() as never]), 'ERR_AMF_INVALID_VALUE');
    expectCode(() => encodeAmf3([{ '': 1 }]), 'ERR_AMF_INVALID_VALUE');
    expectCode(() => encodeAmf0([{ ['k'.repeat(70000)]: 1 }]), 'ERR_AMF_INVALID_VALUE');
    expectCode(
      () => encodeAmf3([new TypedObject('C', rec({ a: 1, b: 2 }), { sealed: ['a'], dynamic: false })]),
      'ERR_AMF_INVALID_VALUE',
    );
  });
  test('depth limit, and cycles written as references', () => {
    let deep: unknown[] = [];
    for (let i = 0; i < 100; i++) deep = [deep];
    expectCode(() => encodeAmf0([deep as never]), 'ERR_AMF_DEPTH_EXCEEDED');
    expectCode(() => encodeAmf3([deep as never]), 'ERR_AMF_DEPTH_EXCEEDED');
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(hex(encodeAmf0([cyclic as never]))).toBe('0a00000001070000');
    const [back] = decodeAmf0(encodeAmf0([cyclic as never])) as [unknown[]];
    expect(back[0]).toBe(back);
  });
  test('the encoder is usable after a failure', () => {
    expectCode(() => encodeAmf0([[1, () => 1] as never]), 'ERR_AMF_INVALID_VALUE');
    expect(hex(encodeAmf0([true]))).toBe('0101');
  });
});
