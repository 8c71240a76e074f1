import { type FileHandle, open } from 'node:fs/promises';

// The one thing mediabunny does not say about a track: its decode times. They are rebuilt from presentation times
// (timeline.ts) up to a constant, the encoder's reorder delay, which the file states as the composition offset of
// its first sample (ctts, or the first trun of a fragmented file). This reads that offset by walking box headers
// (16-byte reads, no box body loaded); a file it cannot walk gets the smallest valid delay instead.

interface Box {
  type: string;
  /** Where the body starts. */
  body: number;
  end: number;
}

/** Box headers visited at most per level: a bound on the reads a hostile file can cause. */
const MAX_CHILDREN = 4096;

async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** The boxes between `start` and `end`, read as they are walked; stops at the first header that does not fit. */
async function* walk(file: FileHandle, start: number, end: number): AsyncGenerator<Box> {
  let position = start;
  for (let count = 0; position + 8 <= end && count < MAX_CHILDREN; count++) {
    const head = await readAt(file, position, 16);
    if (head.length < 8) return;
    let size = head.readUInt32BE(0);
    let headerSize = 8;
    if (size === 1) {
      if (head.length < 16) return;
      size = Number(head.readBigUInt64BE(8));
      headerSize = 16;
    } else if (size === 0) {
      size = end - position;
    }
    if (size < headerSize || position + size > end) return;
    yield { type: head.toString('latin1', 4, 8), body: position + headerSize, end: position + size };
    position += size;
  }
}

async function children(file: FileHandle, start: number, end: number): Promise<Box[]> {
  const boxes: Box[] = [];
  for await (const box of walk(file, start, end)) boxes.push(box);
  return boxes;
}

async function child(file: FileHandle, parent: Box, type: string): Promise<Box | undefined> {
  return (await children(file, parent.body, parent.end)).find((b) => b.type === type);
}

async function path(file: FileHandle, from: Box, types: readonly string[]): Promise<Box | undefined> {
  let box: Box | undefined = from;
  for (const type of types) {
    if (box === undefined) return undefined;
    box = await child(file, box, type);
  }
  return box;
}

/** The track_ID of a tkhd box. */
async function trackId(file: FileHandle, tkhd: Box): Promise<number | undefined> {
  const head = await readAt(file, tkhd.body, 24);
  if (head.length < 24) return undefined;
  return head[0] === 1 ? head.readUInt32BE(20) : head.readUInt32BE(12);
}

/** The first sample's composition offset in a ctts box (0 for none). */
async function cttsFirst(file: FileHandle, ctts: Box): Promise<number> {
  const head = await readAt(file, ctts.body, 16);
  if (head.length < 16 || head.readUInt32BE(4) === 0) return 0;
  return head[0] === 1 ? head.readInt32BE(12) : head.readUInt32BE(12);
}

/** The first sample's composition offset in a trun box (0 when its samples carry none). */
async function trunFirst(file: FileHandle, trun: Box): Promise<number | undefined> {
  const head = await readAt(file, trun.body, 40);
  if (head.length < 8) return undefined;
  const version = head[0]!;
  const flags = head.readUIntBE(1, 3);
  if (head.readUInt32BE(4) === 0) return undefined;
  if (!(flags & 0x800)) return 0;
  let at = 8;
  for (const bit of [0x1, 0x4, 0x100, 0x200, 0x400]) if (flags & bit) at += 4;
  if (head.length < at + 4) return undefined;
  return version === 1 ? head.readInt32BE(at) : head.readUInt32BE(at);
}

/**
 * The composition offset (ticks of its media timescale) of the first sample in decode order of track `id`:
 * from its ctts box, or for a fragmented file from the first trun of that track. Undefined when the file cannot
 * be walked or the track has no sample.
 */
export async function firstCompositionOffset(filePath: string, id: number): Promise<number | undefined> {
  const file = await open(filePath, 'r');
  try {
    const { size } = await file.stat();
    let moovSeen = false;
    for await (const box of walk(file, 0, size)) {
      if (box.type === 'moov') {
        moovSeen = true;
        const found = await inMoov(file, box, id);
        if (found !== 'fragments') return found;
      } else if (box.type === 'moof' && moovSeen) {
        // A fragmented file: the first moof that has the track holds its first sample.
        const found = await inMoof(file, box, id);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  } catch {
    // Unreadable here means only: no stated delay. mediabunny reports what is wrong with the file.
    return undefined;
  } finally {
    await file.close();
  }
}

/** The offset from the track's sample table; `fragments` when its samples are in moof boxes. */
async function inMoov(file: FileHandle, moov: Box, id: number): Promise<number | undefined | 'fragments'> {
  for (const trak of (await children(file, moov.body, moov.end)).filter((b) => b.type === 'trak')) {
    const tkhd = await child(file, trak, 'tkhd');
    if (tkhd === undefined || (await trackId(file, tkhd)) !== id) continue;
    const stbl = await path(file, trak, ['mdia', 'minf', 'stbl']);
    if (stbl === undefined) return undefined;
    const boxes = await children(file, stbl.body, stbl.end);
    const ctts = boxes.find((b) => b.type === 'ctts');
    const stsz = boxes.find((b) => b.type === 'stsz' || b.type === 'stz2');
    const head = stsz === undefined ? Buffer.alloc(0) : await readAt(file, stsz.body, 12);
    if (head.length === 12 && head.readUInt32BE(8) > 0) return ctts ? cttsFirst(file, ctts) : 0;
    return 'fragments';
  }
  return undefined;
}

async function inMoof(file: FileHandle, moof: Box, id: number): Promise<number | undefined> {
  for (const traf of (await children(file, moof.body, moof.end)).filter((b) => b.type === 'traf')) {
    const boxes = await children(file, traf.body, traf.end);
    const tfhd = boxes.find((b) => b.type === 'tfhd');
    const trun = boxes.find((b) => b.type === 'trun');
    if (tfhd === undefined || trun === undefined) continue;
    const head = await readAt(file, tfhd.body, 8);
    if (head.length === 8 && head.readUInt32BE(4) === id) return trunFirst(file, trun);
  }
  return undefined;
}
