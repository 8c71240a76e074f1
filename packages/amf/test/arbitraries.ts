import fc from 'fast-check';
import {
  AMF_UNSUPPORTED,
  Amf3Array,
  Amf3Dictionary,
  Amf3Vector,
  Amf3Xml,
  AmfDate,
  AmfDouble,
  type AmfObject,
  type AmfValue,
  AmfXmlDocument,
  createAmfObject,
  EcmaArray,
  TypedObject,
} from '../src/index.js';

const text = fc.string({ unit: 'binary', maxLength: 24 });
// Keys include the ones that break naive decoders.
const key = fc.oneof(text, fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '0', '1'));
const nonEmptyKey = key.filter((k) => k !== '');

function record(entries: [string, AmfValue][]): AmfObject {
  const o = createAmfObject();
  for (const [k, v] of entries) o[k] = v;
  return o;
}

const date = fc.date({ noInvalidDate: true });

/** Value trees AMF0 can carry and give back unchanged. */
export const amf0Value: fc.Arbitrary<AmfValue> = fc.letrec<{ value: AmfValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.double(),
    fc.boolean(),
    text,
    fc.constant(null),
    fc.constant(undefined),
    date,
    fc
      .tuple(
        date,
        fc.integer({ min: -32768, max: 32767 }).filter((t) => t !== 0),
      )
      .map(([d, t]) => new AmfDate(d, t)),
    text.map((x) => new AmfXmlDocument(x)),
    fc.constant(AMF_UNSUPPORTED),
    fc.uint8Array({ maxLength: 16 }),
    text.map((x) => new Amf3Xml(x)),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map(record),
    fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map((e) => new EcmaArray(record(e))),
    fc
      .tuple(text, fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }))
      .map(([c, e]) => new TypedObject(c, record(e))),
  ),
})).value;

const int29 = fc.integer({ min: -(2 ** 28), max: 2 ** 28 - 1 });

/** Value trees AMF3 can carry and give back unchanged (decoded with `exactNumbers`). */
export const amf3Value: fc.Arbitrary<AmfValue> = fc.letrec<{ value: AmfValue }>((tie) => {
  const entries = fc.array(fc.tuple(nonEmptyKey, tie('value')), { maxLength: 5 });
  return {
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.double(),
      int29,
      int29.map((n) => new AmfDouble(n)),
      fc.boolean(),
      text,
      fc.constant(null),
      fc.constant(undefined),
      date,
      fc.uint8Array({ maxLength: 16 }),
      text.map((x) => new Amf3Xml(x)),
      text.map((x) => new AmfXmlDocument(x)),
      fc.array(tie('value'), { maxLength: 5 }),
      entries.map(record),
      fc
        .array(fc.tuple(nonEmptyKey, tie('value')), { minLength: 1, maxLength: 5 })
        .map((e) => new EcmaArray(record(e))),
      fc
        .tuple(
          fc.array(tie('value'), { minLength: 1, maxLength: 4 }),
          fc.array(fc.tuple(nonEmptyKey, tie('value')), { minLength: 1, maxLength: 4 }),
        )
        .map(([d, e]) => new Amf3Array(d, record(e))),
      fc
        .tuple(text, fc.uniqueArray(fc.tuple(key, tie('value')), { selector: (e) => e[0], maxLength: 5 }))
        .map(([c, e]) => new TypedObject(c, record(e))),
      fc
        .tuple(
          text,
          fc.uniqueArray(fc.tuple(key, tie('value')), { selector: (e) => e[0], minLength: 1, maxLength: 3 }),
          fc.uniqueArray(fc.tuple(nonEmptyKey, tie('value')), { selector: (e) => e[0], maxLength: 3 }),
        )
        .map(([c, sealed, dyn]) => {
          const names = sealed.map((s) => s[0]);
          const extra = dyn.filter(([k]) => !names.includes(k));
          return new TypedObject(c, record([...sealed, ...extra]), { sealed: names, dynamic: true });
        }),
      fc
        .tuple(fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 5 }), fc.boolean())
        .map(([a, f]) => new Amf3Vector('int', a, f)),
      fc
        .tuple(fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 5 }), fc.boolean())
        .map(([a, f]) => new Amf3Vector('uint', a, f)),
      fc
        .tuple(fc.array(fc.double(), { maxLength: 5 }), fc.boolean())
        .map(([a, f]) => new Amf3Vector('double', a, f)),
      fc
        .tuple(fc.array(tie('value'), { maxLength: 4 }), fc.boolean(), text)
        .map(([a, f, c]) => new Amf3Vector('object', a, f, c)),
      fc
        .tuple(fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }), fc.boolean())
        .map(([e, w]) => new Amf3Dictionary(e, w)),
    ),
  };
}).value;
