import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AmfError, type AmfErrorCode } from '../src/index.js';

export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** ../shared/fixtures beside the repository root, or $RTMP_FIXTURES. */
export const fixturesDir = process.env.RTMP_FIXTURES ?? path.resolve(packageRoot, '../../../shared/fixtures');

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

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
