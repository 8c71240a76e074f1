import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shared fixtures folder: $RTMP_FIXTURES, else `shared/fixtures` beside the repository root. */
export const FIXTURES =
  process.env.RTMP_FIXTURES ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/fixtures');

export interface CaptureRecord {
  direction: 0 | 1;
  ms: number;
  bytes: Uint8Array;
}

/** Reads a `.rtmpcap`: `[u8 direction][u32 BE ms][u32 BE length][bytes]` per socket read. */
export function readCapture(name: string): CaptureRecord[] {
  const buf = new Uint8Array(readFileSync(path.join(FIXTURES, 'captures', name)));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: CaptureRecord[] = [];
  let at = 0;
  while (at + 9 <= buf.length) {
    const direction = buf[at] as 0 | 1;
    const ms = view.getUint32(at + 1);
    const length = view.getUint32(at + 5);
    out.push({ direction, ms, bytes: buf.subarray(at + 9, at + 9 + length) });
    at += 9 + length;
  }
  return out;
}

/** The reads of one direction after the 3073 handshake bytes (C0+C1+C2 or S0+S1+S2), original boundaries kept. */
export function chunkReads(records: CaptureRecord[], direction: 0 | 1): Uint8Array[] {
  let skip = 1 + 1536 + 1536;
  const out: Uint8Array[] = [];
  for (const r of records) {
    if (r.direction !== direction) continue;
    if (skip >= r.bytes.length) {
      skip -= r.bytes.length;
      continue;
    }
    out.push(r.bytes.subarray(skip));
    skip = 0;
  }
  return out;
}

export interface Packet {
  kind: 'video' | 'audio';
  pts: number;
  dts: number;
  size: number;
  key: boolean;
}

/** Reads a ffprobe `.packets.csv` oracle. */
export function readPackets(name: string): Packet[] {
  return readFileSync(path.join(FIXTURES, name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [kind, , pts, dts, size, flags] = l.split(',');
      return {
        kind: kind as 'video' | 'audio',
        pts: Number(pts),
        dts: Number(dts),
        size: Number(size),
        key: (flags ?? '').startsWith('K'),
      };
    });
}

/** The AMF0 string at the start of a command/data payload (0x02 + u16 length + bytes), or undefined. */
export function amf0StringAt(payload: Uint8Array, at = 0): { value: string; end: number } | undefined {
  if (payload[at] !== 0x02 || payload.length < at + 3) return undefined;
  const len = (payload[at + 1]! << 8) | payload[at + 2]!;
  if (payload.length < at + 3 + len) return undefined;
  return { value: Buffer.from(payload.subarray(at + 3, at + 3 + len)).toString('latin1'), end: at + 3 + len };
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
