import { toHex as hex } from '@rtmp/testing';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  AmfError,
  decodeAmf0,
  decodeAmf3,
  decodeCommandPayload,
  encodeAmf0,
  encodeAmf3,
  encodeCommandPayload,
} from '../src/index.js';
import { amf0Value, amf3Value } from './arbitraries.js';
import { assertAmfEqual } from './helpers.js';

const runs = { numRuns: 600 };

describe('round trips', () => {
  test('AMF0: decode(encode(v)) equals v', () => {
    fc.assert(
      fc.property(fc.array(amf0Value, { maxLength: 4 }), (values) => {
        assertAmfEqual(decodeAmf0(encodeAmf0(values)), values);
      }),
      runs,
    );
  });

  test('AMF0: canonical bytes re-encode identically', () => {
    fc.assert(
      fc.property(fc.array(amf0Value, { maxLength: 4 }), (values) => {
        const bytes = encodeAmf0(values);
        expect(hex(encodeAmf0(decodeAmf0(bytes)))).toBe(hex(bytes));
      }),
      runs,
    );
  });

  test('AMF3: decode(encode(v)) equals v', () => {
    fc.assert(
      fc.property(fc.array(amf3Value, { maxLength: 4 }), (values) => {
        assertAmfEqual(decodeAmf3(encodeAmf3(values), { exactNumbers: true }), values);
      }),
      runs,
    );
  });

  test('AMF3: canonical bytes re-encode identically (reference tables included)', () => {
    fc.assert(
      fc.property(fc.array(amf3Value, { maxLength: 4 }), (values) => {
        const bytes = encodeAmf3(values);
        expect(hex(encodeAmf3(decodeAmf3(bytes, { exactNumbers: true })))).toBe(hex(bytes));
      }),
      runs,
    );
  });

  test('command payloads of every type round-trip', () => {
    fc.assert(
      fc.property(fc.array(amf0Value, { maxLength: 4 }), fc.constantFrom(15, 17, 18, 20), (values, type) => {
        assertAmfEqual(decodeCommandPayload(encodeCommandPayload(values, type), type), values);
      }),
      { numRuns: 200 },
    );
  });
});

function onlyAmfErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof AmfError)) throw e;
  }
}

describe('hostile bytes give a value or AmfError, never another exception', () => {
  test('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        onlyAmfErrors(() => decodeAmf0(bytes));
        onlyAmfErrors(() => decodeAmf3(bytes));
        onlyAmfErrors(() => decodeCommandPayload(bytes, 17));
      }),
      { numRuns: 5000 },
    );
  });

  test('arbitrary bytes behind every marker', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x12 }), fc.uint8Array({ maxLength: 32 }), (marker, rest) => {
        const bytes = new Uint8Array([marker, ...rest]);
        onlyAmfErrors(() => decodeAmf0(bytes));
        onlyAmfErrors(() => decodeAmf3(bytes));
      }),
      { numRuns: 5000 },
    );
  });

  const mutation = fc.record({
    index: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
    kind: fc.constantFrom('set', 'insert', 'delete', 'truncate'),
  });

  function mutate(bytes: Uint8Array, muts: { index: number; byte: number; kind: string }[]): Uint8Array {
    let out = Array.from(bytes);
    for (const m of muts) {
      const i = out.length === 0 ? 0 : m.index % out.length;
      if (m.kind === 'set') out[i] = m.byte;
      else if (m.kind === 'insert') out.splice(i, 0, m.byte);
      else if (m.kind === 'delete') out.splice(i, 1);
      else out = out.slice(0, i);
    }
    return new Uint8Array(out);
  }

  test('mutated valid AMF0', () => {
    fc.assert(
      fc.property(
        fc.array(amf0Value, { minLength: 1, maxLength: 3 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (values, muts) => {
          const bytes = mutate(encodeAmf0(values), muts);
          onlyAmfErrors(() => decodeAmf0(bytes));
          onlyAmfErrors(() => decodeAmf3(bytes));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('mutated valid AMF3', () => {
    fc.assert(
      fc.property(
        fc.array(amf3Value, { minLength: 1, maxLength: 3 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (values, muts) => {
          const bytes = mutate(encodeAmf3(values), muts);
          onlyAmfErrors(() => decodeAmf3(bytes));
          onlyAmfErrors(() => decodeAmf0(bytes));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
