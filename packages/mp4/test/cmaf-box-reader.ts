/**
 * An ISO BMFF reader for the tests, written from ISO/IEC 14496-12 independently of src/cmaf (it shares no code
 * with the writer): boxes, the init segment's tracks and sample entries, and every fragment's samples with their
 * decode/presentation times, durations, sizes, flags and bytes. It reads what FFmpeg writes too, which the tests
 * use to check it.
 */

export interface Box {
  type: string;
  /** Offset of the box header. */
  start: number;
  /** Offset of the content (after size, type and any largesize). */
  content: number;
  end: number;
}

export function boxes(bytes: Uint8Array, start = 0, end = bytes.length): Box[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Box[] = [];
  let p = start;
  while (p + 8 <= end) {
    let size = dv.getUint32(p);
    const type = String.fromCharCode(...bytes.subarray(p + 4, p + 8));
    let content = p + 8;
    if (size === 1) {
      size = Number(dv.getBigUint64(p + 8));
      content += 8;
    } else if (size === 0) size = end - p;
    if (size < content - p || p + size > end) throw new Error(`box ${type} at ${p} overruns its parent`);
    out.push({ type, start: p, content, end: p + size });
    p += size;
  }
  if (p !== end) throw new Error(`${end - p} trailing bytes at ${p}`);
  return out;
}

function child(bytes: Uint8Array, parent: Box, type: string, skip = 0): Box | undefined {
  return boxes(bytes, parent.content + skip, parent.end).find((b) => b.type === type);
}

function need(box: Box | undefined, what: string): Box {
  if (box === undefined) throw new Error(`no ${what}`);
  return box;
}

export interface ReadTrack {
  id: number;
  timescale: number;
  handler: string;
  /** Sample entry type: avc1, hvc1, av01, vp09, mp4a, Opus... */
  entry: string;
  width: number;
  height: number;
  channels: number;
  sampleRate: number;
  /** The configuration box's type and content (avcC, hvcC, av1C, vpcC with its version/flags, esds, dOps). */
  configType: string;
  config: Uint8Array;
  defaults: { duration: number; size: number; flags: number };
}

export interface ReadSample {
  trackId: number;
  sequenceNumber: number;
  dts: number;
  pts: number;
  duration: number;
  size: number;
  flags: number;
  sync: boolean;
  data: Uint8Array;
}

export interface ReadFile {
  brands: string[];
  tracks: Map<number, ReadTrack>;
  samples: ReadSample[];
  fragments: number;
}

/** Reads a fragmented MP4 (init segment followed by moof/mdat pairs). */
export function readFragmentedMp4(bytes: Uint8Array): ReadFile {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const top = boxes(bytes);
  const ftyp = need(
    top.find((b) => b.type === 'ftyp'),
    'ftyp',
  );
  const brands: string[] = [];
  for (let p = ftyp.content; p + 4 <= ftyp.end; p += 4)
    if (p !== ftyp.content + 4) brands.push(text(bytes, p));
  const moov = need(
    top.find((b) => b.type === 'moov'),
    'moov',
  );
  const tracks = new Map<number, ReadTrack>();
  for (const trak of boxes(bytes, moov.content, moov.end).filter((b) => b.type === 'trak')) {
    const tkhd = need(child(bytes, trak, 'tkhd'), 'tkhd');
    const v = bytes[tkhd.content]!;
    const id = dv.getUint32(tkhd.content + (v === 1 ? 20 : 12));
    const mdia = need(child(bytes, trak, 'mdia'), 'mdia');
    const mdhd = need(child(bytes, mdia, 'mdhd'), 'mdhd');
    const timescale = dv.getUint32(mdhd.content + (bytes[mdhd.content] === 1 ? 20 : 12));
    const hdlr = need(child(bytes, mdia, 'hdlr'), 'hdlr');
    const handler = text(bytes, hdlr.content + 8);
    const stbl = need(child(bytes, need(child(bytes, mdia, 'minf'), 'minf'), 'stbl'), 'stbl');
    const stsd = need(child(bytes, stbl, 'stsd'), 'stsd');
    const entry = boxes(bytes, stsd.content + 8, stsd.end)[0]!;
    const track: ReadTrack = {
      id,
      timescale,
      handler,
      entry: entry.type,
      width: 0,
      height: 0,
      channels: 0,
      sampleRate: 0,
      configType: '',
      config: new Uint8Array(0),
      defaults: { duration: 0, size: 0, flags: 0 },
    };
    let children: Box[];
    if (handler === 'vide') {
      track.width = dv.getUint16(entry.content + 24);
      track.height = dv.getUint16(entry.content + 26);
      children = boxes(bytes, entry.content + 78, entry.end);
    } else {
      track.channels = dv.getUint16(entry.content + 16);
      track.sampleRate = dv.getUint32(entry.content + 24) / 0x10000;
      children = boxes(bytes, entry.content + 28, entry.end);
    }
    const config = children.find((b) => ['avcC', 'hvcC', 'av1C', 'vpcC', 'esds', 'dOps'].includes(b.type));
    if (config !== undefined) {
      track.configType = config.type;
      track.config = bytes.subarray(config.content, config.end);
    }
    tracks.set(id, track);
  }
  const mvex = child(bytes, moov, 'mvex');
  if (mvex !== undefined) {
    for (const trex of boxes(bytes, mvex.content, mvex.end).filter((b) => b.type === 'trex')) {
      const t = tracks.get(dv.getUint32(trex.content + 4));
      if (t !== undefined) {
        t.defaults = {
          duration: dv.getUint32(trex.content + 12),
          size: dv.getUint32(trex.content + 16),
          flags: dv.getUint32(trex.content + 20),
        };
      }
    }
  }
  const samples: ReadSample[] = [];
  const nextDts = new Map<number, number>();
  let fragments = 0;
  for (const moof of top.filter((b) => b.type === 'moof')) {
    fragments++;
    const mfhd = need(child(bytes, moof, 'mfhd'), 'mfhd');
    const sequenceNumber = dv.getUint32(mfhd.content + 4);
    for (const traf of boxes(bytes, moof.content, moof.end).filter((b) => b.type === 'traf')) {
      const tfhd = need(child(bytes, traf, 'tfhd'), 'tfhd');
      const tfFlags = dv.getUint32(tfhd.content) & 0xffffff;
      const trackId = dv.getUint32(tfhd.content + 4);
      const track = tracks.get(trackId);
      if (track === undefined) throw new Error(`traf of unknown track ${trackId}`);
      let p = tfhd.content + 8;
      let base = moof.start;
      if (tfFlags & 0x1) {
        base = Number(dv.getBigUint64(p));
        p += 8;
      }
      if (tfFlags & 0x2) p += 4;
      let defDuration = track.defaults.duration;
      let defSize = track.defaults.size;
      let defFlags = track.defaults.flags;
      if (tfFlags & 0x8) {
        defDuration = dv.getUint32(p);
        p += 4;
      }
      if (tfFlags & 0x10) {
        defSize = dv.getUint32(p);
        p += 4;
      }
      if (tfFlags & 0x20) defFlags = dv.getUint32(p);
      const tfdt = child(bytes, traf, 'tfdt');
      let dts = nextDts.get(trackId) ?? 0;
      if (tfdt !== undefined) {
        dts =
          bytes[tfdt.content] === 1
            ? Number(dv.getBigUint64(tfdt.content + 4))
            : dv.getUint32(tfdt.content + 4);
      }
      for (const trun of boxes(bytes, traf.content, traf.end).filter((b) => b.type === 'trun')) {
        const version = bytes[trun.content]!;
        const f = dv.getUint32(trun.content) & 0xffffff;
        const count = dv.getUint32(trun.content + 4);
        let q = trun.content + 8;
        let offset = base;
        if (f & 0x1) {
          offset = base + dv.getInt32(q);
          q += 4;
        }
        let firstFlags: number | null = null;
        if (f & 0x4) {
          firstFlags = dv.getUint32(q);
          q += 4;
        }
        for (let i = 0; i < count; i++) {
          let duration = defDuration;
          let size = defSize;
          let flags = i === 0 && firstFlags !== null ? firstFlags : defFlags;
          let cto = 0;
          if (f & 0x100) {
            duration = dv.getUint32(q);
            q += 4;
          }
          if (f & 0x200) {
            size = dv.getUint32(q);
            q += 4;
          }
          if (f & 0x400) {
            flags = dv.getUint32(q);
            q += 4;
          }
          if (f & 0x800) {
            cto = version === 0 ? dv.getUint32(q) : dv.getInt32(q);
            q += 4;
          }
          if (offset + size > bytes.length) throw new Error(`sample data at ${offset} overruns the file`);
          samples.push({
            trackId,
            sequenceNumber,
            dts,
            pts: dts + cto,
            duration,
            size,
            flags,
            sync: (flags & 0x10000) === 0,
            data: bytes.subarray(offset, offset + size),
          });
          dts += duration;
          offset += size;
        }
        if (q > trun.end) throw new Error('trun overruns its box');
      }
      nextDts.set(trackId, dts);
    }
  }
  return { brands, tracks, samples, fragments };
}

function text(bytes: Uint8Array, p: number): string {
  return String.fromCharCode(...bytes.subarray(p, p + 4));
}

/** The AudioSpecificConfig inside an esds box's content (version/flags first). */
export function ascFromEsds(esds: Uint8Array): Uint8Array {
  let p = 4;
  const header = (): [number, number] => {
    const tag = esds[p++]!;
    let len = 0;
    for (let i = 0; i < 4; i++) {
      const b = esds[p++]!;
      len = (len << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    return [tag, len];
  };
  let [tag] = header();
  if (tag !== 3) throw new Error('no ES_Descriptor');
  const flags = esds[p + 2]!;
  p += 3;
  if (flags & 0x80) p += 2;
  if (flags & 0x40) p += 1 + esds[p]!;
  if (flags & 0x20) p += 2;
  [tag] = header();
  if (tag !== 4) throw new Error('no DecoderConfigDescriptor');
  p += 13;
  const [dsi, len] = header();
  if (dsi !== 5) throw new Error('no DecoderSpecificInfo');
  return esds.subarray(p, p + len);
}

/** An OpusHead (RFC 7845, little-endian) from a dOps box's content (big-endian). */
export function opusHeadFromDops(dops: Uint8Array): Uint8Array {
  const dv = new DataView(dops.buffer, dops.byteOffset, dops.byteLength);
  const channels = dops[1]!;
  const family = dops[10]!;
  const table = family === 0 ? new Uint8Array(0) : dops.subarray(11, 13 + channels);
  const head = new Uint8Array(19 + table.length);
  const hv = new DataView(head.buffer);
  head.set(new TextEncoder().encode('OpusHead'));
  head[8] = 1;
  head[9] = channels;
  hv.setUint16(10, dv.getUint16(2), true);
  hv.setUint32(12, dv.getUint32(4), true);
  hv.setInt16(16, dv.getInt16(8), true);
  head[18] = family;
  head.set(table, 19);
  return head;
}
