import { open } from 'node:fs/promises';

/** What a media file is, by its first bytes. */
export type MediaContainer = 'flv' | 'mp4' | 'unknown';

// Top-level box types an ISO BMFF / QuickTime file may start with: ftyp (MP4, and MOV since QuickTime 6), then what
// older QuickTime files and some writers put first (moov at the front, mdat, free space, a 'wide' atom, a preview).
const LEADING_BOXES = new Set([
  'ftyp',
  'styp',
  'moov',
  'mdat',
  'free',
  'skip',
  'wide',
  'pnot',
  'uuid',
  'sidx',
]);

/**
 * Tells an FLV file (`FLV` + version 1) from an MP4/MOV file (a known top-level box with a plausible size) by its
 * first 12 bytes or more; anything else is `unknown`. File extensions are not looked at.
 */
export function sniffContainer(head: Uint8Array): MediaContainer {
  if (head.length >= 4 && head[0] === 0x46 && head[1] === 0x4c && head[2] === 0x56 && head[3] === 1)
    return 'flv';
  if (head.length < 8) return 'unknown';
  const size = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  const type = String.fromCharCode(head[4]!, head[5]!, head[6]!, head[7]!);
  // Size 0: the box runs to the end of the file; 1: a 64-bit size follows; otherwise at least the 8-byte header.
  const plausible = size === 0 || size === 1 || size >= 8;
  return plausible && LEADING_BOXES.has(type) ? 'mp4' : 'unknown';
}

/** {@link sniffContainer} of a file's first 12 bytes (a file shorter than that is `unknown`). */
export async function sniffFile(path: string): Promise<MediaContainer> {
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(12);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return sniffContainer(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
