import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `shared/fixtures`, a sibling of the repo root, or `$RTMP_FIXTURES`. */
export const FIXTURES: string =
  process.env.RTMP_FIXTURES ??
  resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/fixtures');

export interface CaptureRecord {
  /** 0 = client->server, 1 = server->client. */
  direction: 0 | 1;
  ms: number;
  bytes: Uint8Array;
}

/** Reads a `.rtmpcap` file: one record per original socket read. */
export function readCapture(name: string): CaptureRecord[] {
  const data = new Uint8Array(readFileSync(join(FIXTURES, 'captures', name)));
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const records: CaptureRecord[] = [];
  let pos = 0;
  while (pos + 9 <= data.length) {
    const direction = data[pos] as 0 | 1;
    const ms = view.getUint32(pos + 1);
    const length = view.getUint32(pos + 5);
    records.push({ direction, ms, bytes: data.subarray(pos + 9, pos + 9 + length) });
    pos += 9 + length;
  }
  return records;
}

/** The concatenated byte stream of one direction, the first `limit` bytes. */
export function directionBytes(records: CaptureRecord[], direction: 0 | 1, limit = Infinity): Uint8Array {
  const parts = records.filter((r) => r.direction === direction).map((r) => r.bytes);
  const total = Math.min(
    limit,
    parts.reduce((n, p) => n + p.length, 0),
  );
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    if (pos >= total) break;
    const n = Math.min(p.length, total - pos);
    out.set(p.subarray(0, n), pos);
    pos += n;
  }
  return out;
}

/** Deterministic byte source (xorshift32) for reproducible handshakes. */
export function seededRandom(seed: number): (size: number) => Uint8Array {
  let s = seed >>> 0 || 1;
  return (size) => {
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      out[i] = s & 0xff;
    }
    return out;
  };
}

/** Concatenates views. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** Splits `bytes` at the given (unsorted, possibly duplicate) cut points. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(bytes.length, c))))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    parts.push(bytes.subarray(prev, p));
    prev = p;
  }
  parts.push(bytes.subarray(prev));
  return parts;
}

/** Feeds parts one by one; collects output and the bytes after the handshake. */
export function feed(
  machine: { push(b: Uint8Array): { output: Uint8Array[]; done: boolean; rest: Uint8Array } },
  parts: readonly Uint8Array[],
): { output: Uint8Array; done: boolean; rest: Uint8Array; doneAt: number } {
  const output: Uint8Array[] = [];
  const rest: Uint8Array[] = [];
  let done = false;
  let doneAt = -1;
  parts.forEach((part, i) => {
    const r = machine.push(part);
    output.push(...r.output);
    if (r.done) {
      if (!done) doneAt = i;
      done = true;
      rest.push(r.rest);
    } else if (r.rest.length !== 0) {
      throw new Error('rest before done');
    }
  });
  return { output: concat(output), done, rest: concat(rest), doneAt };
}

/** Fast byte equality (vitest's deep equality walks typed arrays element by element). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
