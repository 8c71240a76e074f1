import { concatBytes } from '@rtmp/flv-demux';
import { Mp4Error } from '../errors.js';

/** `sample_flags` of a sync sample: depends on no other sample (sample_depends_on 2). */
export const SAMPLE_FLAGS_SYNC = 0x0200_0000;
/** `sample_flags` of a non-sync sample: depends on others (1) and sample_is_non_sync_sample. */
export const SAMPLE_FLAGS_NON_SYNC = 0x0101_0000;
/** Added to `sample_flags` when no other sample depends on this one (sample_is_depended_on 2). */
export const SAMPLE_FLAGS_DISPOSABLE = 0x0080_0000;

/** One sample of a {@link CmafRun}. */
export interface CmafSample {
  /** Duration in the track's timescale (32 bits). */
  duration: number;
  /** Size in bytes: the total length of `data`. */
  size: number;
  /** ISO BMFF `sample_flags` ({@link SAMPLE_FLAGS_SYNC}, {@link SAMPLE_FLAGS_NON_SYNC}...). */
  flags: number;
  /** Presentation time minus decode time in the track's timescale (signed 32 bits; trun version 1). */
  compositionOffset: number;
  /** The sample's bytes: one view, or pieces written one after the other (length prefixes and NAL units). */
  data: Uint8Array | readonly Uint8Array[];
}

/** The samples of one track in one fragment (a `traf`). */
export interface CmafRun {
  trackId: number;
  /** Decode time of the first sample in the track's timescale (`tfdt`, 64 bits; a safe integer here). */
  baseMediaDecodeTime: number;
  samples: readonly CmafSample[];
}

/** What {@link encodeFragment} returns: the bytes of `moof` + `mdat`, as a list of chunks. */
export interface EncodedFragment {
  sequenceNumber: number;
  /**
   * The fragment's bytes in order: the first chunk holds `moof` and the `mdat` header, the others are the
   * samples' data as given (views, not copies). Write them in order, or join them with {@link concatChunks}.
   */
  chunks: Uint8Array[];
  /** Total length of `chunks`. */
  byteLength: number;
}

// tfhd flags: default-sample-duration-present, default-sample-flags-present, default-base-is-moof.
const TFHD_DEFAULT_DURATION = 0x08;
const TFHD_DEFAULT_FLAGS = 0x20;
const TFHD_BASE_IS_MOOF = 0x02_0000;
// trun flags: data-offset, sample-duration, sample-size, sample-flags, sample-composition-time-offset present.
const TRUN_DATA_OFFSET = 0x001;
const TRUN_DURATION = 0x100;
const TRUN_SIZE = 0x200;
const TRUN_FLAGS = 0x400;
const TRUN_CTO = 0x800;

/** The largest fragment: trun's data_offset is a signed 32-bit number of bytes from the start of the moof. */
export const MAX_FRAGMENT_BYTES = 0x7fff_0000;

interface RunLayout {
  run: CmafRun;
  tfhdFlags: number;
  trunFlags: number;
  defaultDuration: number;
  defaultFlags: number;
  dataBytes: number;
}

function layout(run: CmafRun): RunLayout {
  const s = run.samples;
  let sameDuration = true;
  let sameFlags = true;
  let noCto = true;
  let dataBytes = 0;
  for (let i = 0; i < s.length; i++) {
    const x = s[i]!;
    if (x.duration !== s[0]!.duration) sameDuration = false;
    if (x.flags !== s[0]!.flags) sameFlags = false;
    if (x.compositionOffset !== 0) noCto = false;
    dataBytes += x.size;
  }
  // Values shared by every sample go once into tfhd; the rest per sample into trun.
  let tfhdFlags = TFHD_BASE_IS_MOOF;
  let trunFlags = TRUN_DATA_OFFSET | TRUN_SIZE;
  if (sameDuration) tfhdFlags |= TFHD_DEFAULT_DURATION;
  else trunFlags |= TRUN_DURATION;
  if (sameFlags) tfhdFlags |= TFHD_DEFAULT_FLAGS;
  else trunFlags |= TRUN_FLAGS;
  if (!noCto) trunFlags |= TRUN_CTO;
  return {
    run,
    tfhdFlags,
    trunFlags,
    defaultDuration: s[0]?.duration ?? 0,
    defaultFlags: s[0]?.flags ?? 0,
    dataBytes,
  };
}

function perSampleBytes(trunFlags: number): number {
  let n = 0;
  for (const f of [TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTO]) if (trunFlags & f) n += 4;
  return n;
}

function trafSize(l: RunLayout): number {
  const tfhd =
    16 + (l.tfhdFlags & TFHD_DEFAULT_DURATION ? 4 : 0) + (l.tfhdFlags & TFHD_DEFAULT_FLAGS ? 4 : 0);
  const trun = 20 + l.run.samples.length * perSampleBytes(l.trunFlags);
  return 8 + tfhd + 20 + trun;
}

function checkRun(run: CmafRun): void {
  if (!Number.isInteger(run.trackId) || run.trackId < 1 || run.trackId > 0xffff_ffff) {
    throw new Mp4Error('ERR_MP4_INVALID_ARGUMENT', `track id ${run.trackId} is not in 1..2^32-1`);
  }
  if (!Number.isSafeInteger(run.baseMediaDecodeTime) || run.baseMediaDecodeTime < 0) {
    throw new Mp4Error(
      'ERR_MP4_TIMESTAMP_RANGE',
      `baseMediaDecodeTime ${run.baseMediaDecodeTime} out of range`,
    );
  }
  if (run.samples.length === 0) throw new Mp4Error('ERR_MP4_INVALID_ARGUMENT', 'a run needs a sample');
  for (const s of run.samples) {
    if (!Number.isInteger(s.duration) || s.duration < 0 || s.duration > 0xffff_ffff) {
      throw new Mp4Error('ERR_MP4_TIMESTAMP_RANGE', `sample duration ${s.duration} does not fit 32 bits`);
    }
    if (
      !Number.isInteger(s.compositionOffset) ||
      s.compositionOffset < -0x8000_0000 ||
      s.compositionOffset > 0x7fff_ffff
    ) {
      throw new Mp4Error(
        'ERR_MP4_TIMESTAMP_RANGE',
        `composition offset ${s.compositionOffset} does not fit 32 bits`,
      );
    }
    let size = 0;
    if (s.data instanceof Uint8Array) size = s.data.length;
    else for (const piece of s.data) size += piece.length;
    if (size !== s.size)
      throw new Mp4Error('ERR_MP4_INVALID_ARGUMENT', `sample size ${s.size} but ${size} bytes of data`);
  }
}

/**
 * Encodes one fragment (`moof` with `mfhd` and one `traf` per run: `tfhd` with default-base-is-moof, `tfdt`
 * version 1, `trun` version 1 with signed composition offsets; then one `mdat` holding the runs' samples in
 * order). Values every sample of a run shares (duration, flags) go once into `tfhd`. Pure: no state, the samples'
 * data is referenced, not copied.
 * @throws {Mp4Error} `ERR_MP4_INVALID_ARGUMENT` for an empty run, a bad track id or a size that does not match the
 * data, `ERR_MP4_TIMESTAMP_RANGE` for a value that does not fit its field, `ERR_MP4_BUFFER_LIMIT` for a fragment
 * over {@link MAX_FRAGMENT_BYTES}.
 */
export function encodeFragment(sequenceNumber: number, runs: readonly CmafRun[]): EncodedFragment {
  if (!Number.isInteger(sequenceNumber) || sequenceNumber < 0 || sequenceNumber > 0xffff_ffff) {
    throw new Mp4Error('ERR_MP4_INVALID_ARGUMENT', `sequence number ${sequenceNumber} does not fit 32 bits`);
  }
  if (runs.length === 0) throw new Mp4Error('ERR_MP4_INVALID_ARGUMENT', 'a fragment needs a run');
  const layouts: RunLayout[] = [];
  let moofSize = 8 + 16;
  let dataBytes = 0;
  for (const run of runs) {
    checkRun(run);
    const l = layout(run);
    layouts.push(l);
    moofSize += trafSize(l);
    dataBytes += l.dataBytes;
  }
  const byteLength = moofSize + 8 + dataBytes;
  if (byteLength > MAX_FRAGMENT_BYTES) {
    throw new Mp4Error(
      'ERR_MP4_BUFFER_LIMIT',
      `a fragment of ${byteLength} bytes is over ${MAX_FRAGMENT_BYTES}`,
    );
  }
  const header = new Uint8Array(moofSize + 8);
  const dv = new DataView(header.buffer);
  let p = 0;
  const box = (size: number, type: number) => {
    dv.setUint32(p, size);
    dv.setUint32(p + 4, type);
    p += 8;
  };
  const u32 = (v: number) => {
    dv.setUint32(p, v);
    p += 4;
  };
  box(moofSize, MOOF);
  box(16, MFHD);
  u32(0);
  u32(sequenceNumber);
  // data_offset of each run: from the first byte of the moof to the run's first sample in the mdat.
  let dataOffset = moofSize + 8;
  for (const l of layouts) {
    const { run } = l;
    box(trafSize(l), TRAF);
    const tfhdSize =
      16 + (l.tfhdFlags & TFHD_DEFAULT_DURATION ? 4 : 0) + (l.tfhdFlags & TFHD_DEFAULT_FLAGS ? 4 : 0);
    box(tfhdSize, TFHD);
    u32(l.tfhdFlags);
    u32(run.trackId);
    if (l.tfhdFlags & TFHD_DEFAULT_DURATION) u32(l.defaultDuration);
    if (l.tfhdFlags & TFHD_DEFAULT_FLAGS) u32(l.defaultFlags);
    box(20, TFDT);
    u32(0x0100_0000);
    u32(Math.floor(run.baseMediaDecodeTime / 0x1_0000_0000));
    u32(run.baseMediaDecodeTime >>> 0);
    const n = run.samples.length;
    box(20 + n * perSampleBytes(l.trunFlags), TRUN);
    u32(0x0100_0000 | l.trunFlags);
    u32(n);
    dv.setInt32(p, dataOffset);
    p += 4;
    const f = l.trunFlags;
    for (let i = 0; i < n; i++) {
      const s = run.samples[i]!;
      if (f & TRUN_DURATION) u32(s.duration);
      u32(s.size);
      if (f & TRUN_FLAGS) u32(s.flags);
      if (f & TRUN_CTO) {
        dv.setInt32(p, s.compositionOffset);
        p += 4;
      }
    }
    dataOffset += l.dataBytes;
  }
  box(8 + dataBytes, MDAT);
  const chunks: Uint8Array[] = [header];
  for (const l of layouts) {
    for (const s of l.run.samples) {
      if (s.data instanceof Uint8Array) {
        if (s.data.length > 0) chunks.push(s.data);
      } else {
        for (const piece of s.data) if (piece.length > 0) chunks.push(piece);
      }
    }
  }
  return { sequenceNumber, chunks, byteLength };
}

/** Joins chunks into one buffer (one copy), e.g. to write a fragment with one `write` or keep it for HTTP. */
export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  return concatBytes(chunks);
}

const fourcc = (s: string): number =>
  ((s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3)) >>> 0;
const MOOF = fourcc('moof');
const MFHD = fourcc('mfhd');
const TRAF = fourcc('traf');
const TFHD = fourcc('tfhd');
const TFDT = fourcc('tfdt');
const TRUN = fourcc('trun');
const MDAT = fourcc('mdat');
