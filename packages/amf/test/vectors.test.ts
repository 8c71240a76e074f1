import { fromHex, toHex as hex } from '@rtmp/testing';
import { describe, expect, test } from 'vitest';
import {
  AMF_UNSUPPORTED,
  Amf3Array,
  Amf3Dictionary,
  Amf3Vector,
  Amf3Xml,
  AmfDate,
  AmfDouble,
  AmfInteger,
  AmfXmlDocument,
  createAmfObject,
  decodeAmf0,
  decodeAmf3,
  decodeCommandPayload,
  EcmaArray,
  encodeAmf0,
  encodeAmf3,
  encodeCommandPayload,
  TypedObject,
} from '../src/index.js';
import { expectCode, rec } from './helpers.js';

describe('AMF3 U29 integers (rtmp-protocol-notes section 4)', () => {
  const table: [number, string][] = [
    [0, '00'],
    [127, '7f'],
    [128, '8100'],
    [16383, 'ff7f'],
    [16384, '818000'],
    [2097151, 'ffff7f'],
    [2097152, '80c08000'],
    [2 ** 28 - 1, 'bfffffff'],
    [-1, 'ffffffff'],
    [-(2 ** 28), 'c0808000'],
  ];
  test.each(table)('%d <-> 04 %s', (n, bytes) => {
    expect(hex(encodeAmf3([n]))).toBe(`04${bytes}`);
    expect(decodeAmf3(fromHex(`04${bytes}`))).toEqual([n]);
  });
  test('integers outside 29 bits, fractions and -0 are doubles', () => {
    expect(hex(encodeAmf3([2 ** 28]))).toBe('0541b0000000000000');
    expect(hex(encodeAmf3([-(2 ** 28) - 1]))).toBe('05c1b0000001000000');
    expect(hex(encodeAmf3([0.5]))).toBe('053fe0000000000000');
    expect(hex(encodeAmf3([-0]))).toBe('058000000000000000');
    expect(Object.is(decodeAmf3(fromHex('058000000000000000'))[0], -0)).toBe(true);
  });
  test('AmfDouble forces a double, AmfInteger forces an integer', () => {
    expect(hex(encodeAmf3([new AmfDouble(1)]))).toBe('053ff0000000000000');
    expect(decodeAmf3(fromHex('053ff0000000000000'))).toEqual([1]);
    expect(decodeAmf3(fromHex('053ff0000000000000'), { exactNumbers: true })).toStrictEqual([
      new AmfDouble(1),
    ]);
    expect(hex(encodeAmf3([new AmfInteger(5)]))).toBe('0405');
    expectCode(() => encodeAmf3([new AmfInteger(2 ** 28)]), 'ERR_AMF_INVALID_VALUE');
    expect(hex(encodeAmf0([new AmfInteger(5), new AmfDouble(1)]))).toBe(
      '004014000000000000' + '003ff0000000000000',
    );
  });
});

describe('AMF3 byte vectors', () => {
  test('{} = 0A 0B 01 01, [] = 09 01 01', () => {
    expect(hex(encodeAmf3([{}]))).toBe('0a0b0101');
    expect(hex(encodeAmf3([[]]))).toBe('090101');
    expect(decodeAmf3(fromHex('0a0b0101'))).toStrictEqual([rec({})]);
    expect(decodeAmf3(fromHex('090101'))).toStrictEqual([[]]);
  });
  test('scalars', () => {
    expect(hex(encodeAmf3([undefined, null, false, true]))).toBe('00010203');
    expect(decodeAmf3(fromHex('00010203'))).toStrictEqual([undefined, null, false, true]);
  });
  test('string table: repeated strings are references, the empty string never enters the table', () => {
    expect(hex(encodeAmf3(['', 'ab', '', 'ab', 'c']))).toBe('0601' + '06056162' + '0601' + '0600' + '060363');
    expect(decodeAmf3(fromHex('06010605616206010600060363'))).toEqual(['', 'ab', '', 'ab', 'c']);
  });
  test('object, traits and string references', () => {
    const inner = { a: 1 };
    const bytes = encodeAmf3([[inner, inner, { a: 2 }]]);
    // array(3) { obj traits-inline {a:1} ; obj-ref 1 ; obj traits-ref 0 {a(ref 0):2} }
    expect(hex(bytes)).toBe(
      '0907' + '01' + '0a0b01' + '0361' + '0401' + '01' + '0a02' + '0a01' + '00' + '0402' + '01',
    );
    const [arr] = decodeAmf3(bytes) as [Record<string, unknown>[]];
    expect(arr[0]).toBe(arr[1]);
    expect(arr[2]).toStrictEqual(rec({ a: 2 }));
  });
  test('a self-referencing object decodes to a cycle (registered before its children)', () => {
    // {self: <ref 0>}
    const [o] = decodeAmf3(fromHex('0a0b01' + '09' + '73656c66' + '0a00' + '01')) as [
      Record<string, unknown>,
    ];
    expect(o.self).toBe(o);
    const cyclic = createAmfObject();
    cyclic.self = cyclic;
    expect(hex(encodeAmf3([cyclic]))).toBe('0a0b010973656c660a0001');
  });
  test('typed objects: sealed members, dynamic traits', () => {
    const t = new TypedObject('Pt', rec({ x: 1, y: 2 }));
    const bytes = encodeAmf3([t, new TypedObject('Pt', rec({ x: 3, y: 4 }))]);
    // traits inline: 2 sealed, not dynamic -> (2<<4)|3 = 0x23, class "Pt", names x y; second uses traits ref 0 -> 01
    expect(hex(bytes)).toBe('0a23' + '055074' + '0378' + '0379' + '04010402' + '0a01' + '04030404');
    expect(decodeAmf3(bytes)).toStrictEqual([t, new TypedObject('Pt', rec({ x: 3, y: 4 }))]);
    const dyn = new TypedObject('D', rec({ s: 1, extra: 'e' }), { sealed: ['s'], dynamic: true });
    expect(decodeAmf3(encodeAmf3([dyn]))).toStrictEqual([dyn]);
  });
  test('dates, XML, ByteArray, references to them', () => {
    const d = new Date(1700000000000);
    const b = new Uint8Array([1, 2, 3]);
    const bytes = encodeAmf3([d, d, b, b, new Amf3Xml('<a/>'), new AmfXmlDocument('<b/>')]);
    expect(hex(bytes)).toBe(
      '0801' + '4278bcfe56800000' + '0800' + '0c07010203' + '0c02' + '0b093c612f3e' + '07093c622f3e',
    );
    const out = decodeAmf3(bytes);
    expect(out[0]).toStrictEqual(d);
    expect(out[1]).toBe(out[0]);
    expect(out[2]).toStrictEqual(b);
    expect(out.slice(4)).toStrictEqual([new Amf3Xml('<a/>'), new AmfXmlDocument('<b/>')]);
  });
  test('arrays with an associative part', () => {
    const mixed = new Amf3Array([1, 2], rec({ k: 'v' }));
    expect(hex(encodeAmf3([mixed]))).toBe('0905' + '036b' + '060376' + '01' + '04010402');
    expect(decodeAmf3(encodeAmf3([mixed]))).toStrictEqual([mixed]);
    const ecma = new EcmaArray(rec({ k: 1 }));
    expect(hex(encodeAmf3([ecma]))).toBe('0901036b040101');
    expect(decodeAmf3(encodeAmf3([ecma]))).toStrictEqual([ecma]);
  });
  test('vectors and dictionaries', () => {
    const values = [
      new Amf3Vector('int', [1, -1], false),
      new Amf3Vector('uint', [0xffffffff], true),
      new Amf3Vector('double', [0.5]),
      new Amf3Vector('object', ['a', null], false, 'String'),
      new Amf3Dictionary(
        [
          ['k', 1],
          [2, 'v'],
        ],
        true,
      ),
    ];
    const bytes = encodeAmf3(values);
    expect(hex(bytes)).toBe(
      '0d0500' +
        '00000001ffffffff' +
        '0e0301' +
        'ffffffff' +
        '0f0300' +
        '3fe0000000000000' +
        '100500' +
        '0d537472696e67' +
        '060361' +
        '01' +
        '110501' +
        '06036b' +
        '0401' +
        '0402' +
        '060376',
    );
    expect(decodeAmf3(bytes)).toStrictEqual(values);
  });
});

describe('AMF0 byte vectors', () => {
  test('number, boolean, string, null, undefined, NaN and -0', () => {
    expect(hex(encodeAmf0([1, true, 'a', null, undefined]))).toBe(
      '003ff0000000000000' + '0101' + '02000161' + '05' + '06',
    );
    const out = decodeAmf0(encodeAmf0([Number.NaN, -0]));
    expect(out[0]).toBeNaN();
    expect(Object.is(out[1], -0)).toBe(true);
  });
  test('object, ECMA array, strict array, typed object', () => {
    expect(hex(encodeAmf0([{ a: 1 }]))).toBe('03' + '000161' + '003ff0000000000000' + '000009');
    expect(hex(encodeAmf0([new EcmaArray(rec({ a: 1 }))]))).toBe(
      '0800000001' + '000161' + '003ff0000000000000' + '000009',
    );
    expect(hex(encodeAmf0([[1]]))).toBe('0a00000001003ff0000000000000');
    expect(hex(encodeAmf0([new TypedObject('C', rec({}))]))).toBe('10000143000009');
    expect(decodeAmf0(fromHex('10000143000009'))).toStrictEqual([new TypedObject('C', rec({}))]);
  });
  test('the ECMA array count is advisory: the end marker ends it', () => {
    expect(decodeAmf0(fromHex('08000000ff' + '000161' + '0101' + '000009'))).toStrictEqual([
      new EcmaArray(rec({ a: true })),
    ]);
  });
  test('dates with and without a timezone', () => {
    const d = new Date(1700000000000);
    expect(hex(encodeAmf0([d]))).toBe('0b4278bcfe568000000000');
    expect(decodeAmf0(fromHex('0b4278bcfe568000000000'))).toStrictEqual([d]);
    const tz = new AmfDate(d, -60);
    expect(hex(encodeAmf0([tz]))).toBe('0b4278bcfe56800000ffc4');
    expect(decodeAmf0(fromHex('0b4278bcfe56800000ffc4'))).toStrictEqual([tz]);
  });
  test('long strings at 65535 / 65536 bytes', () => {
    const s65535 = 'x'.repeat(65535);
    const a = encodeAmf0([s65535]);
    expect(a.length).toBe(3 + 65535);
    expect(hex(a.subarray(0, 3))).toBe('02ffff');
    const s65536 = 'x'.repeat(65536);
    const b = encodeAmf0([s65536]);
    expect(hex(b.subarray(0, 5))).toBe('0c00010000');
    expect(decodeAmf0(a)).toEqual([s65535]);
    expect(decodeAmf0(b)).toEqual([s65536]);
    // multi-byte content: 21846 x 'é' = 43692 chars... 2 bytes each -> still short; 32768 x 'é' = 65536 bytes -> long
    const e = encodeAmf0(['é'.repeat(32768)]);
    expect(hex(e.subarray(0, 5))).toBe('0c00010000');
    expect(decodeAmf0(e)).toEqual(['é'.repeat(32768)]);
  });
  test('XML document, unsupported, references', () => {
    expect(hex(encodeAmf0([new AmfXmlDocument('<a/>')]))).toBe('0f000000043c612f3e');
    expect(decodeAmf0(fromHex('0f000000043c612f3e'))).toStrictEqual([new AmfXmlDocument('<a/>')]);
    expect(decodeAmf0(fromHex('0d'))).toStrictEqual([AMF_UNSUPPORTED]);
    expect(hex(encodeAmf0([AMF_UNSUPPORTED]))).toBe('0d');
    const o = { a: 1 };
    const bytes = encodeAmf0([o, o]);
    expect(hex(bytes)).toBe('03000161003ff0000000000000000009' + '070000');
    const [x, y] = decodeAmf0(bytes);
    expect(x).toBe(y);
    expectCode(() => decodeAmf0(fromHex('070000')), 'ERR_AMF_BAD_REFERENCE');
  });
  test('movieclip and recordset are refused, object end out of place is an error', () => {
    expect(expectCode(() => decodeAmf0(fromHex('0504')), 'ERR_AMF_UNSUPPORTED_MARKER').offset).toBe(1);
    expectCode(() => decodeAmf0(fromHex('0e')), 'ERR_AMF_UNSUPPORTED_MARKER');
    expectCode(() => decodeAmf0(fromHex('09')), 'ERR_AMF_UNEXPECTED_OBJECT_END');
    expect(expectCode(() => decodeAmf0(fromHex('0512')), 'ERR_AMF_UNKNOWN_MARKER').offset).toBe(1);
  });
  test('switch to AMF3: decode 0x11, and AMF3-only values are written after it', () => {
    expect(decodeAmf0(fromHex('0200016111' + '0a0b010361040201'))).toStrictEqual(['a', rec({ a: 2 })]);
    expect(hex(encodeAmf0([new Uint8Array([9])]))).toBe('110c0309');
    const dict = new Amf3Dictionary([['x', 1]]);
    expect(decodeAmf0(encodeAmf0(['s', dict, new Amf3Xml('<x/>')]))).toStrictEqual([
      's',
      dict,
      new Amf3Xml('<x/>'),
    ]);
  });
});

describe('command payloads', () => {
  test('types 20/18 are plain AMF0; 17/15 carry a leading 0x00', () => {
    const values = ['connect', 1, rec({ app: 'live' })];
    const t20 = encodeCommandPayload(values, 20);
    const t17 = encodeCommandPayload(values, 17);
    expect(hex(t17)).toBe(`00${hex(t20)}`);
    expect(decodeCommandPayload(t20, 20)).toStrictEqual(values);
    expect(decodeCommandPayload(t17, 17)).toStrictEqual(values);
    expect(decodeCommandPayload(encodeCommandPayload(values, 15), 15)).toStrictEqual(values);
    expect(decodeCommandPayload(encodeCommandPayload(values, 18), 18)).toStrictEqual(values);
  });
  test('errors: wrong type, missing format byte, offsets relative to the payload', () => {
    expectCode(() => decodeCommandPayload(new Uint8Array(1), 9), 'ERR_AMF_BAD_MESSAGE_TYPE');
    expectCode(() => encodeCommandPayload([], 1), 'ERR_AMF_BAD_MESSAGE_TYPE');
    expectCode(() => decodeCommandPayload(fromHex('0200'), 17), 'ERR_AMF_BAD_FORMAT_BYTE');
    expectCode(() => decodeCommandPayload(new Uint8Array(0), 17), 'ERR_AMF_BAD_FORMAT_BYTE');
    expect(expectCode(() => decodeCommandPayload(fromHex('000500ff'), 17), 'ERR_AMF_TRUNCATED').offset).toBe(
      3,
    );
  });
});

describe('encoder output ownership', () => {
  test('results are never overwritten by later calls, across slab changes and huge values', () => {
    const first = encodeAmf0(['first', 1]);
    const firstHex = hex(first);
    const later: [Uint8Array, string][] = [];
    for (let i = 0; i < 5000; i++) {
      const b = encodeAmf0([`value ${i}`, i, { k: 'x'.repeat(i % 50) }]);
      later.push([b, hex(b)]);
    }
    const huge = encodeAmf0(['y'.repeat(200000)]);
    expect(huge.length).toBe(200005);
    expect(hex(first)).toBe(firstHex);
    for (const [b, h] of later) expect(hex(b)).toBe(h);
    expect(hex(encodeAmf0([true]))).toBe('0101');
  });
  test('a failed encode does not disturb earlier results', () => {
    const ok = encodeAmf3([{ a: 1 }]);
    expectCode(() => encodeAmf3([{ a: 'x'.repeat(100), b: () => 1 } as never]), 'ERR_AMF_INVALID_VALUE');
    expect(hex(ok)).toBe('0a0b010361040101');
  });
});

test('an ECMA array whose members move the message to a new slab keeps its count', () => {
  for (let i = 0; i < 40; i++) {
    const big = new EcmaArray(rec({ a: 'z'.repeat(3000 * i), b: 1 }));
    const bytes = encodeAmf0([big]);
    expect(hex(bytes.subarray(0, 5))).toBe('0800000002');
    expect(decodeAmf0(bytes)).toStrictEqual([big]);
  }
});

test('isAmfObject tells records from arrays and wrappers', async () => {
  const { isAmfObject } = await import('../src/index.js');
  const [, , cmd, ecma, arr, date] = decodeAmf0(
    encodeAmf0(['c', 1, { app: 'live' }, new EcmaArray(rec({})), [1], new Date(0)]),
  );
  expect(isAmfObject(cmd)).toBe(true);
  expect(isAmfObject({ a: 1 })).toBe(true);
  for (const v of [ecma, arr, date, null, 'x', 1, new Uint8Array(1)]) expect(isAmfObject(v)).toBe(false);
});

test('a ByteArray decoded from a Buffer is a plain Uint8Array view of it', () => {
  const input = Buffer.from('0c0701020300', 'hex');
  const [b] = decodeAmf3(input.subarray(0, 5)) as [Uint8Array];
  expect(Object.getPrototypeOf(b)).toBe(Uint8Array.prototype);
  expect(b.buffer).toBe(input.buffer);
  expect([...b]).toEqual([1, 2, 3]);
});
