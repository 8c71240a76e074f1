/**
 * The little codec knowledge the writer needs beyond the configuration records: AAC frame length, OpusHead and Opus
 * packet durations, the VP9 keyframe header (picture size and colour for a vpcC), AVC reference flags, AV1 temporal
 * delimiters. Every read is bounds-checked; a malformed input gives `null`, never an exception.
 */

/** Reads bits MSB first; reading past the end gives `null` through {@link BitCursor.ok}. */
class BitCursor {
  private bit = 0;
  ok = true;
  constructor(private readonly bytes: Uint8Array) {}

  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bytes[this.bit >> 3];
      if (byte === undefined) {
        this.ok = false;
        return 0;
      }
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }
}

/**
 * Ticks per AAC frame at the output sample rate, from an AudioSpecificConfig: 1024, or 960 when its
 * frameLengthFlag says so, doubled for explicit SBR (HE-AAC, whose output rate is twice the core rate).
 * `null` when the config is malformed.
 */
export function aacFrameLength(asc: Uint8Array): number | null {
  const br = new BitCursor(asc);
  const objectType = (): number => {
    const t = br.u(5);
    return t === 31 ? 32 + br.u(6) : t;
  };
  const rateIndex = (): void => {
    if (br.u(4) === 15) br.u(24);
  };
  let aot = objectType();
  rateIndex();
  br.u(4);
  let sbr = false;
  if (aot === 5 || aot === 29) {
    sbr = true;
    rateIndex();
    aot = objectType();
  }
  // GASpecificConfig starts with frameLengthFlag for the AAC object types (1, 2, 3, 4, 6, 7, 17, 19-23).
  const ga = [1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22, 23].includes(aot);
  const short = ga ? br.u(1) === 1 : false;
  if (!br.ok) return null;
  return (short ? 960 : 1024) * (sbr ? 2 : 1);
}

/** The fields of an OpusHead that a `dOps` box carries. */
export interface OpusHead {
  channels: number;
  preSkip: number;
  inputSampleRate: number;
  outputGain: number;
  mappingFamily: number;
  /** StreamCount, CoupledCount and the channel mapping, present for mapping families other than 0. */
  mappingTable: Uint8Array | null;
}

const OPUS_HEAD_MAGIC = 'OpusHead';

/** Parses an OpusHead identification header (RFC 7845 section 5.1, little-endian fields); `null` when malformed. */
export function parseOpusHead(head: Uint8Array): OpusHead | null {
  if (head.length < 19) return null;
  for (let i = 0; i < 8; i++) if (head[i] !== OPUS_HEAD_MAGIC.charCodeAt(i)) return null;
  const channels = head[9]!;
  if (channels === 0) return null;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const mappingFamily = head[18]!;
  let mappingTable: Uint8Array | null = null;
  if (mappingFamily !== 0) {
    if (head.length < 21 + channels) return null;
    mappingTable = head.subarray(19, 21 + channels);
  }
  return {
    channels,
    preSkip: dv.getUint16(10, true),
    inputSampleRate: dv.getUint32(12, true),
    outputGain: dv.getInt16(16, true),
    mappingFamily,
    mappingTable,
  };
}

/** An OpusHead for a stream that sent none: `channels` (1 or 2), no pre-skip, 48 kHz, mapping family 0. */
export function defaultOpusHead(channels: number): Uint8Array {
  const head = new Uint8Array(19);
  for (let i = 0; i < 8; i++) head[i] = OPUS_HEAD_MAGIC.charCodeAt(i);
  head[8] = 1;
  head[9] = channels;
  new DataView(head.buffer).setUint32(12, 48_000, true);
  return head;
}

const SILK_MS = [10, 20, 40, 60];
const CELT_MS = [2.5, 5, 10, 20];

/** Duration of an Opus packet in 48 kHz ticks, from its TOC byte (RFC 6716 section 3.1); `null` when malformed. */
export function opusPacketDuration(packet: Uint8Array): number | null {
  const toc = packet[0];
  if (toc === undefined) return null;
  const config = toc >> 3;
  const frameMs =
    config < 12 ? SILK_MS[config & 3]! : config < 16 ? (config & 1 ? 20 : 10) : CELT_MS[config & 3]!;
  const code = toc & 3;
  let frames = code === 0 ? 1 : 2;
  if (code === 3) {
    const count = packet[1];
    if (count === undefined) return null;
    frames = count & 0x3f;
  }
  return frames * frameMs * 48;
}

/** What a VP9 keyframe's uncompressed header tells about the stream. */
export interface Vp9FrameInfo {
  profile: number;
  bitDepth: number;
  /** vpcC chroma subsampling: 1 4:2:0 (co-sited), 2 4:2:2, 3 4:4:4. */
  chromaSubsampling: number;
  fullRange: boolean;
  /** ISO/IEC 23091-4 matrix coefficients for the VP9 colour space (2 = unspecified). */
  matrixCoefficients: number;
  width: number;
  height: number;
}

// VP9 color_space -> MatrixCoefficients: unknown, BT.601, BT.709, SMPTE-170, SMPTE-240, BT.2020, reserved, sRGB.
const VP9_MATRIX = [2, 6, 1, 6, 7, 9, 2, 0];

/**
 * Reads a VP9 keyframe's uncompressed header (VP9 bitstream spec 6.2): profile, bit depth, colour and size.
 * `null` when the frame is not a keyframe or the header is malformed.
 */
export function parseVp9Keyframe(frame: Uint8Array): Vp9FrameInfo | null {
  const br = new BitCursor(frame);
  if (br.u(2) !== 2) return null;
  const low = br.u(1);
  const profile = (br.u(1) << 1) | low;
  if (profile === 3) br.u(1);
  if (br.u(1) === 1) return null; // show_existing_frame
  if (br.u(1) !== 0) return null; // frame_type: 0 is KEY_FRAME
  br.u(2); // show_frame, error_resilient_mode
  if (br.u(8) !== 0x49 || br.u(8) !== 0x83 || br.u(8) !== 0x42) return null;
  const bitDepth = profile >= 2 ? (br.u(1) ? 12 : 10) : 8;
  const colorSpace = br.u(3);
  let fullRange = true;
  let ssx = 0;
  let ssy = 0;
  if (colorSpace !== 7) {
    fullRange = br.u(1) === 1;
    if (profile === 1 || profile === 3) {
      ssx = br.u(1);
      ssy = br.u(1);
      br.u(1);
    } else {
      ssx = 1;
      ssy = 1;
    }
  } else if (profile === 1 || profile === 3) {
    br.u(1);
  }
  const width = br.u(16) + 1;
  const height = br.u(16) + 1;
  if (!br.ok) return null;
  const chromaSubsampling = ssx && ssy ? 1 : ssx ? 2 : 3;
  return {
    profile,
    bitDepth,
    chromaSubsampling,
    fullRange,
    matrixCoefficients: VP9_MATRIX[colorSpace]!,
    width,
    height,
  };
}

/** The body of a version 1 vpcC (8 bytes) for `frame`, or for 8-bit 4:2:0 profile 0 when it is not known yet. */
export function vp9Config(frame: Vp9FrameInfo | null): Uint8Array {
  const f = frame ?? {
    profile: 0,
    bitDepth: 8,
    chromaSubsampling: 1,
    fullRange: false,
    matrixCoefficients: 2,
  };
  return Uint8Array.of(
    f.profile,
    0,
    (f.bitDepth << 4) | (f.chromaSubsampling << 1) | (f.fullRange ? 1 : 0),
    2,
    2,
    f.matrixCoefficients,
    0,
    0,
  );
}

// VP9 levels (Annex A) by maximum luma picture size: the smallest that holds the picture.
const VP9_LEVELS: [number, number][] = [
  [36_864, 10],
  [73_728, 11],
  [122_880, 20],
  [245_760, 21],
  [552_960, 30],
  [983_040, 31],
  [2_228_224, 40],
  [8_912_896, 50],
  [35_651_584, 60],
];

/** The lowest VP9 level whose maximum picture size holds `width` x `height`. */
export function vp9Level(width: number, height: number): number {
  const size = width * height;
  for (const [max, level] of VP9_LEVELS) if (size <= max) return level;
  return 62;
}

/**
 * Whether every VCL NAL unit of an AVC access unit has nal_ref_idc 0: no other picture refers to it, so the
 * sample can be flagged as not depended on (`sample_is_depended_on` = 2).
 */
export function avcIsDisposable(nalus: readonly Uint8Array[]): boolean {
  let vcl = false;
  for (const nal of nalus) {
    const header = nal[0];
    if (header === undefined) continue;
    const type = header & 31;
    if (type >= 1 && type <= 5) {
      if ((header & 0x60) !== 0) return false;
      vcl = true;
    }
  }
  return vcl;
}

/**
 * The AV1 sample without a leading temporal delimiter OBU (`0x12 0x00`): the AV1 ISOBMFF binding keeps temporal
 * delimiters out of samples (the sample itself delimits a temporal unit). A view, never a copy.
 */
export function stripTemporalDelimiter(frame: Uint8Array): Uint8Array {
  return frame.length >= 2 && frame[0] === 0x12 && frame[1] === 0x00 ? frame.subarray(2) : frame;
}
