import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { concat } from './bytes.js';
import { fixture } from './fixtures.js';

/** One record of a `.rtmpcap` capture: one socket read of the original session. */
export interface CaptureRecord {
  /** 0 = client->server, 1 = server->client. */
  direction: 0 | 1;
  /** The same as `direction` (the name the server's hostile suites use). */
  dir: 0 | 1;
  /** Milliseconds since the proxy accepted the connection. */
  ms: number;
  /** The bytes of that read (a view into the file). */
  bytes: Uint8Array;
}

/** Bytes of C0+C1+C2 (or S0+S1+S2): what precedes the chunk stream in each direction. */
export const HANDSHAKE_BYTES = 1 + 1536 + 1536;

/**
 * Reads a `.rtmpcap` (`[u8 direction][u32 BE ms][u32 BE length][bytes]` per read). `file` is a path, or a name
 * under `captures/` of the fixtures folder. A truncated last record is dropped.
 */
export function readCapture(file: string): CaptureRecord[] {
  const where = path.isAbsolute(file) || existsSync(file) ? file : fixture(path.join('captures', file));
  const data = new Uint8Array(readFileSync(where));
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const records: CaptureRecord[] = [];
  let at = 0;
  while (at + 9 <= data.length) {
    const direction = data[at] as 0 | 1;
    const ms = view.getUint32(at + 1);
    const length = view.getUint32(at + 5);
    if (at + 9 + length > data.length) break;
    records.push({ direction, dir: direction, ms, bytes: data.subarray(at + 9, at + 9 + length) });
    at += 9 + length;
  }
  return records;
}

/** Every capture of the fixtures folder, by file name, in name order. */
export function allCaptures(): Map<string, CaptureRecord[]> {
  const dir = fixture('captures');
  const map = new Map<string, CaptureRecord[]>();
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith('.rtmpcap'))
    .sort()) {
    map.set(name, readCapture(path.join(dir, name)));
  }
  return map;
}

/** The reads of one direction, original boundaries kept. */
export function directionReads(records: readonly CaptureRecord[], direction: 0 | 1): Uint8Array[] {
  return records.filter((r) => r.direction === direction).map((r) => r.bytes);
}

/** The concatenated byte stream of one direction, its first `limit` bytes. */
export function directionBytes(
  records: readonly CaptureRecord[],
  direction: 0 | 1,
  limit = Infinity,
): Uint8Array {
  const all = concat(directionReads(records, direction));
  return limit < all.length ? all.subarray(0, limit) : all;
}

/** The reads of one direction after its {@link HANDSHAKE_BYTES} handshake bytes: the chunk stream as it arrived. */
export function chunkReads(records: readonly CaptureRecord[], direction: 0 | 1): Uint8Array[] {
  let skip = HANDSHAKE_BYTES;
  const out: Uint8Array[] = [];
  for (const bytes of directionReads(records, direction)) {
    if (skip >= bytes.length) {
      skip -= bytes.length;
      continue;
    }
    out.push(bytes.subarray(skip));
    skip = 0;
  }
  return out;
}
