import { Mp4Error } from '../errors.js';

// MP4 keeps AV1's configuration in an av1C box, which mediabunny reads but does not hand out (WebCodecs needs no
// description for AV1). Enhanced RTMP's av01 SequenceStart carries that record, so it is rebuilt here from the
// sequence header OBU that every AV1 sync sample in MP4 carries (AV1-ISOBMFF 2.4): the four header bytes are
// fields of that OBU, and the OBU itself is the record's configOBUs.

/** Reads bits MSB first from a byte view; reading past the end throws {@link Mp4Error} `ERR_MP4_INVALID_CONFIG`. */
class Bits {
  #bit = 0;
  constructor(readonly bytes: Uint8Array) {}

  read(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) {
      const byte = this.bytes[this.#bit >> 3];
      if (byte === undefined) throw new Mp4Error('ERR_MP4_INVALID_CONFIG', 'AV1 sequence header truncated');
      value = value * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return value;
  }

  flag(): boolean {
    return this.read(1) === 1;
  }

  /** uvlc() of the AV1 spec (4.10.3). */
  uvlc(): number {
    let zeros = 0;
    while (!this.flag()) {
      zeros++;
      if (zeros >= 32) return 2 ** 32 - 1;
    }
    return this.read(zeros) + 2 ** zeros - 1;
  }
}

/** The fields of a sequence header OBU that an AV1CodecConfigurationRecord repeats. */
export interface Av1SequenceFields {
  profile: number;
  level: number;
  tier: number;
  highBitDepth: boolean;
  twelveBit: boolean;
  monochrome: boolean;
  subsamplingX: number;
  subsamplingY: number;
  chromaSamplePosition: number;
}

/** Parses a sequence header OBU payload (AV1 spec 5.5) up to its color_config. */
export function parseAv1SequenceHeader(payload: Uint8Array): Av1SequenceFields {
  const b = new Bits(payload);
  const profile = b.read(3);
  b.read(1); // still_picture
  const reduced = b.flag();
  let level = 0;
  let tier = 0;
  if (reduced) {
    level = b.read(5);
  } else {
    let decoderModelInfo = false;
    let bufferDelayLength = 0;
    if (b.flag()) {
      // timing_info
      b.read(32);
      b.read(32);
      if (b.flag()) b.uvlc();
      decoderModelInfo = b.flag();
      if (decoderModelInfo) {
        bufferDelayLength = b.read(5) + 1;
        b.read(32);
        b.read(5);
        b.read(5);
      }
    }
    const initialDisplayDelay = b.flag();
    const operatingPoints = b.read(5) + 1;
    for (let i = 0; i < operatingPoints; i++) {
      b.read(12); // operating_point_idc
      const opLevel = b.read(5);
      const opTier = opLevel > 7 ? b.read(1) : 0;
      if (i === 0) {
        level = opLevel;
        tier = opTier;
      }
      if (decoderModelInfo && b.flag()) {
        b.read(bufferDelayLength);
        b.read(bufferDelayLength);
        b.read(1);
      }
      if (initialDisplayDelay && b.flag()) b.read(4);
    }
  }
  const widthBits = b.read(4) + 1;
  const heightBits = b.read(4) + 1;
  b.read(widthBits);
  b.read(heightBits);
  if (!reduced && b.flag()) {
    // frame_id_numbers_present_flag
    b.read(4);
    b.read(3);
  }
  b.read(3); // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
  if (!reduced) {
    b.read(4); // interintra compound, masked compound, warped motion, dual filter
    const orderHint = b.flag();
    if (orderHint) b.read(2); // enable_jnt_comp, enable_ref_frame_mvs
    let forceScreenContentTools = 2;
    if (!b.flag()) forceScreenContentTools = b.read(1);
    if (forceScreenContentTools > 0 && !b.flag()) b.read(1); // seq_force_integer_mv
    if (orderHint) b.read(3);
  }
  b.read(3); // enable_superres, enable_cdef, enable_restoration
  // color_config (5.5.2)
  const highBitDepth = b.flag();
  const twelveBit = profile === 2 && highBitDepth ? b.flag() : false;
  const monochrome = profile === 1 ? false : b.flag();
  let primaries = 2;
  let transfer = 2;
  let matrix = 2;
  if (b.flag()) {
    primaries = b.read(8);
    transfer = b.read(8);
    matrix = b.read(8);
  }
  let subsamplingX = 1;
  let subsamplingY = 1;
  let chromaSamplePosition = 0;
  if (!monochrome) {
    if (primaries === 1 && transfer === 13 && matrix === 0) {
      subsamplingX = 0;
      subsamplingY = 0;
    } else {
      b.read(1); // color_range
      if (profile === 1) {
        subsamplingX = 0;
        subsamplingY = 0;
      } else if (profile === 2) {
        if (twelveBit) {
          subsamplingX = b.read(1);
          subsamplingY = subsamplingX ? b.read(1) : 0;
        } else {
          subsamplingX = 1;
          subsamplingY = 0;
        }
      }
      if (subsamplingX && subsamplingY) chromaSamplePosition = b.read(2);
    }
  }
  return {
    profile,
    level,
    tier,
    highBitDepth,
    twelveBit,
    monochrome,
    subsamplingX,
    subsamplingY,
    chromaSamplePosition,
  };
}

/** One OBU of a temporal unit: where its header starts, its type, whether it has a size field, its payload. */
interface Obu {
  start: number;
  type: number;
  headerBytes: Uint8Array;
  payload: Uint8Array;
}

/** Splits a low-overhead bitstream (OBUs with size fields; the last may lack one) into OBUs, as views. */
function* obus(data: Uint8Array): Generator<Obu> {
  let p = 0;
  while (p < data.length) {
    const start = p;
    const header = data[p++]!;
    const type = (header >> 3) & 15;
    const extension = (header & 4) !== 0;
    const hasSize = (header & 2) !== 0;
    if (extension) p++;
    if (p > data.length) throw new Mp4Error('ERR_MP4_INVALID_SAMPLE', 'AV1 OBU header truncated');
    const headerBytes = data.subarray(start, p);
    let size = data.length - p;
    if (hasSize) {
      size = 0;
      for (let i = 0; ; i++) {
        if (i === 8 || p >= data.length)
          throw new Mp4Error('ERR_MP4_INVALID_SAMPLE', 'AV1 OBU size truncated');
        const byte = data[p++]!;
        size += (byte & 0x7f) * 2 ** (7 * i);
        if (!(byte & 0x80)) break;
      }
    }
    if (size > data.length - p) throw new Mp4Error('ERR_MP4_INVALID_SAMPLE', 'AV1 OBU overruns the sample');
    yield { start, type, headerBytes, payload: data.subarray(p, p + size) };
    p += size;
  }
}

function leb128(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return out;
}

const OBU_SEQUENCE_HEADER = 1;

/**
 * Builds an AV1CodecConfigurationRecord (av1C, AV1-ISOBMFF 2.3) from a temporal unit that carries a sequence
 * header OBU (a sync sample): the four header bytes from the OBU's fields, then the OBU itself, with a size field.
 * @throws {Mp4Error} `ERR_MP4_INVALID_CONFIG` when the sample has no sequence header OBU or it does not parse
 */
export function av1ConfigFromSample(sample: Uint8Array): Uint8Array {
  let found: Obu | undefined;
  try {
    for (const obu of obus(sample)) {
      if (obu.type === OBU_SEQUENCE_HEADER) {
        found = obu;
        break;
      }
    }
  } catch (error) {
    throw new Mp4Error('ERR_MP4_INVALID_CONFIG', 'AV1 key sample does not parse', { cause: error });
  }
  if (found === undefined) {
    throw new Mp4Error('ERR_MP4_INVALID_CONFIG', 'AV1 key sample has no sequence header OBU');
  }
  const f = parseAv1SequenceHeader(found.payload);
  const headerBytes = Uint8Array.from(found.headerBytes);
  headerBytes[0]! |= 2; // obu_has_size_field: configOBUs carry sizes
  const record = [
    0x81,
    (f.profile << 5) | f.level,
    (f.tier << 7) |
      (Number(f.highBitDepth) << 6) |
      (Number(f.twelveBit) << 5) |
      (Number(f.monochrome) << 4) |
      (f.subsamplingX << 3) |
      (f.subsamplingY << 2) |
      f.chromaSamplePosition,
    0,
    ...headerBytes,
    ...leb128(found.payload.length),
  ];
  const out = new Uint8Array(record.length + found.payload.length);
  out.set(record);
  out.set(found.payload, record.length);
  return out;
}
