import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { AmfError, type AmfErrorCode } from '../src/index.js';

export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Runs fn and returns the AmfError it throws; fails on success or any other error. */
export function amfError(fn: () => unknown): AmfError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AmfError) return e;
    throw new Error(`expected AmfError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected AmfError, got success');
}

export function expectCode(fn: () => unknown, code: AmfErrorCode): AmfError {
  const e = amfError(fn);
  if (e.code !== code) throw new Error(`expected ${code}, got ${e.code}: ${e.message}`);
  return e;
}

/** A null-prototype record from entries, the shape the decoders produce. */
export function rec(entries: Record<string, unknown>): Record<string, never> {
  const o = Object.create(null) as Record<string, never>;
  for (const k of Object.keys(entries)) o[k] = entries[k] as never;
  return o;
}

/**
 * Structural equality for AMF value trees: same prototypes, same own keys in the same order, Object.is for numbers
 * (NaN equal, -0 distinct), dates by time, bytes by content. Written here because generic deep-equal helpers read a
 * `constructor` *key* of a null-prototype record as if it were the constructor.
 */
export function amfEqual(a: unknown, b: unknown, seen = new Map<object, object>()): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (seen.get(a) === b) return true;
  seen.set(a, b);
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof Uint8Array) return Buffer.compare(a, b as Uint8Array) === 0;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i]) return false;
    if (!amfEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], seen)) return false;
  }
  return true;
}

/** Throws with both values printed when they are not {@link amfEqual}. */
export function assertAmfEqual(actual: unknown, expected: unknown): void {
  if (!amfEqual(actual, expected)) {
    throw new Error(
      `values differ:\nactual:   ${inspect(actual, { depth: 8 })}\nexpected: ${inspect(expected, { depth: 8 })}`,
    );
  }
}
