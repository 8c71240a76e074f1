import { readFile } from 'node:fs/promises';
import { type AmfValue, createAmfObject, EcmaArray } from '@rtmp/amf';
import type { FlvTagInput } from '@rtmp/client';
import { classifyTag, FlvReader, muxScriptData } from '@rtmp/flv-demux';
import { Mp4File, sniffFile } from '@rtmp/mp4';

/**
 * A media source: an endless or finite sequence of FLV tags in timestamp order, published by `publishFlv` of
 * `@rtmp/client` (which wraps a file's onMetaData in `@setDataFrame` and tells frames from headers).
 */
export interface MediaSource {
  /** Human-readable description for the summary. */
  readonly description: string;
  /** Tags of one pass; `loop` repeats passes with timestamps continuing. */
  tags(loop: boolean): Iterable<FlvTagInput> | AsyncIterable<FlvTagInput>;
  /** Something the user should know about the source (e.g. tracks of the file that are not sent). */
  readonly notes?: readonly string[];
  /** Releases what the source holds open (an MP4 file). */
  close?(): void;
}

/**
 * Whether an audio (8) or video (9) tag body carries no frame: a codec configuration, an end of sequence or E-RTMP
 * metadata, as `@rtmp/flv-demux`'s classifier says (the publisher's `publishFlv` counts frames by the same rule, so
 * sent and delivered frames compare).
 */
export function isConfigTag(type: number, body: Uint8Array): boolean {
  const kind = classifyTag(type, body)?.kind;
  return kind === 'config' || kind === 'sequenceEnd' || kind === 'metadata';
}

/**
 * A media file, FLV or MP4/MOV as its content says (not its extension): {@link flvSource} or {@link mp4Source}.
 */
export async function fileSource(path: string): Promise<MediaSource> {
  return (await sniffFile(path)) === 'mp4' ? mp4Source(path) : flvSource(path);
}

/**
 * An MP4 or MOV file read as FLV tags by `@rtmp/mp4` (H.264/HEVC/AV1 + AAC/Opus; HEVC, AV1 and Opus as Enhanced
 * RTMP), streamed from disk; each pass continues the timestamps of the previous one.
 */
export async function mp4Source(path: string): Promise<MediaSource> {
  const file = await Mp4File.open(path);
  const { info } = file;
  const codecs = [info.video?.codecString, info.audio?.codecString].filter((c) => c !== undefined);
  // The gap between passes: one video frame (or one AAC frame for audio only), so a loop neither stalls nor overlaps.
  const step = info.video !== null ? Math.max(1, Math.round(1000 / (info.video.frameRate || 25))) : 23;
  return {
    description: `${info.format} file ${path} (${codecs.join(' + ')})`,
    notes: info.skipped.map((t) => `${path}: ${t.kind} track ${t.codec ?? ''} not sent: ${t.reason}`),
    // Each call reads on its own (the load command runs one per publisher).
    async *tags(loop: boolean) {
      let offset = 0;
      do {
        let last = 0;
        for await (const tag of file.tags()) {
          last = Math.max(last, tag.timestamp);
          yield offset === 0 ? tag : { ...tag, timestamp: tag.timestamp + offset };
        }
        offset += last + step;
      } while (loop);
    },
    close: () => file.close(),
  };
}

/** An FLV file read once into memory; each pass continues the timestamps of the previous one. */
export async function flvSource(path: string): Promise<MediaSource> {
  const reader = new FlvReader();
  const tags = reader.push(await readFile(path));
  reader.end();
  const base: FlvTagInput[] = tags.filter((tag) => tag.type === 8 || tag.type === 9 || tag.type === 18);
  if (base.length === 0) throw new Error(`${path}: no audio, video or script tags`);
  const media = base.filter((t) => t.type !== 18);
  const first = (media[0] ?? base[0]!).timestamp;
  const last = base.reduce((m, t) => Math.max(m, t.timestamp), 0);
  // The gap between passes: one video frame, so the loop does not stall or overlap.
  const step = Math.max(
    1,
    Math.round((last - first) / Math.max(1, base.filter((t) => t.type === 9).length - 1)),
  );
  return {
    description: `file ${path}`,
    *tags(loop: boolean) {
      let offset = 0;
      do {
        // Timestamps are kept as in the file (extended ones included); later passes continue after the last.
        for (const tag of base) yield offset === 0 ? tag : { ...tag, timestamp: tag.timestamp + offset };
        offset += last - first + step;
      } while (loop);
    },
  };
}

/** Options of the synthetic source. */
export interface SyntheticOptions {
  width: number;
  height: number;
  fps: number;
  /** Video bits per second. */
  videoBitrate: number;
  /** Audio bits per second; 0 for no audio. */
  audioBitrate: number;
  /** Seconds between keyframes. */
  gop: number;
}

class BitWriter {
  readonly bytes: number[] = [];
  #bit = 0;
  #current = 0;
  bits(value: number, count: number): void {
    for (let i = count - 1; i >= 0; i--) {
      this.#current = (this.#current << 1) | ((value >>> i) & 1);
      if (++this.#bit === 8) {
        this.bytes.push(this.#current);
        this.#bit = 0;
        this.#current = 0;
      }
    }
  }
  ue(value: number): void {
    const v = value + 1;
    const length = 32 - Math.clz32(v);
    this.bits(0, length - 1);
    this.bits(v, length);
  }
  se(value: number): void {
    this.ue(value <= 0 ? -2 * value : 2 * value - 1);
  }
  /** rbsp_trailing_bits, then emulation prevention. */
  finish(): Uint8Array {
    this.bits(1, 1);
    while (this.#bit !== 0) this.bits(0, 1);
    const out: number[] = [];
    let zeros = 0;
    for (const b of this.bytes) {
      if (zeros >= 2 && b <= 3) {
        out.push(3);
        zeros = 0;
      }
      out.push(b);
      zeros = b === 0 ? zeros + 1 : 0;
    }
    return Uint8Array.from(out);
  }
}

/** A Baseline-profile SPS for width x height (multiples of 16 after cropping), level 4.0, no VUI. */
export function buildSps(width: number, height: number): Uint8Array {
  const w = new BitWriter();
  w.bits(0x67, 8); // forbidden 0, nal_ref_idc 3, type 7
  w.bits(66, 8); // profile_idc Baseline
  w.bits(0xc0, 8); // constraint_set0/1
  w.bits(40, 8); // level_idc 4.0
  w.ue(0); // seq_parameter_set_id
  w.ue(0); // log2_max_frame_num_minus4
  w.ue(2); // pic_order_cnt_type
  w.ue(1); // max_num_ref_frames
  w.bits(0, 1); // gaps_in_frame_num_value_allowed_flag
  const mbW = Math.ceil(width / 16);
  const mbH = Math.ceil(height / 16);
  w.ue(mbW - 1);
  w.ue(mbH - 1);
  w.bits(1, 1); // frame_mbs_only_flag
  w.bits(1, 1); // direct_8x8_inference_flag
  const cropRight = (mbW * 16 - width) / 2;
  const cropBottom = (mbH * 16 - height) / 2;
  if (cropRight > 0 || cropBottom > 0) {
    w.bits(1, 1);
    w.ue(0);
    w.ue(Math.floor(cropRight));
    w.ue(0);
    w.ue(Math.floor(cropBottom));
  } else {
    w.bits(0, 1);
  }
  w.bits(0, 1); // vui_parameters_present_flag
  return w.finish();
}

/** A matching PPS (CAVLC, one slice group). */
export function buildPps(): Uint8Array {
  const w = new BitWriter();
  w.bits(0x68, 8);
  w.ue(0); // pic_parameter_set_id
  w.ue(0); // seq_parameter_set_id
  w.bits(0, 1); // entropy_coding_mode_flag
  w.bits(0, 1); // bottom_field_pic_order_in_frame_present_flag
  w.ue(0); // num_slice_groups_minus1
  w.ue(0); // num_ref_idx_l0_default_active_minus1
  w.ue(0); // num_ref_idx_l1_default_active_minus1
  w.bits(0, 1); // weighted_pred_flag
  w.bits(0, 2); // weighted_bipred_idc
  w.se(0); // pic_init_qp_minus26
  w.se(0); // pic_init_qs_minus26
  w.se(0); // chroma_qp_index_offset
  w.bits(1, 1); // deblocking_filter_control_present_flag
  w.bits(0, 1); // constrained_intra_pred_flag
  w.bits(0, 1); // redundant_pic_cnt_present_flag
  return w.finish();
}

/** An avcC record holding one SPS and one PPS, 4-byte NAL lengths. */
export function buildAvcC(sps: Uint8Array, pps: Uint8Array): Uint8Array {
  return Uint8Array.from([
    1,
    sps[1]!,
    sps[2]!,
    sps[3]!,
    0xff,
    0xe1,
    sps.byteLength >> 8,
    sps.byteLength & 0xff,
    ...sps,
    1,
    pps.byteLength >> 8,
    pps.byteLength & 0xff,
    ...pps,
  ]);
}

function frameBody(keyframe: boolean, size: number, filler: Uint8Array): Uint8Array {
  // FLV AVC header (5) + NAL length (4) + NAL header (1) + filler: one IDR or non-IDR slice NAL unit.
  const nalSize = Math.max(2, size);
  const body = new Uint8Array(5 + 4 + nalSize);
  body[0] = keyframe ? 0x17 : 0x27;
  body[1] = 1;
  new DataView(body.buffer).setUint32(5, nalSize);
  body[9] = keyframe ? 0x65 : 0x41;
  for (let i = 10; i < body.byteLength; i += filler.byteLength)
    body.set(filler.subarray(0, body.byteLength - i), i);
  return body;
}

/**
 * Generated media: a valid AVC sequence header (a real Baseline SPS/PPS for the size), then IDR / non-IDR NAL units
 * of the configured bitrate whose slice data is filler (they parse as H.264 NAL units but do not decode to a
 * picture), and AAC-LC 44.1 kHz stereo: a valid AudioSpecificConfig and frames of filler every 1024 samples.
 * Bodies are built once and reused: generating costs nothing per frame.
 */
export function syntheticSource(options: SyntheticOptions): MediaSource {
  const { width, height, fps, videoBitrate, audioBitrate, gop } = options;
  const filler = new Uint8Array(4096);
  for (let i = 0; i < filler.byteLength; i++) filler[i] = (i * 131 + 7) & 0xff || 1;
  const frameBytes = Math.max(16, Math.round(videoBitrate / 8 / fps));
  const gopFrames = Math.max(1, Math.round(gop * fps));
  // Keyframes are 3x an average frame; inter frames shrink so the GOP keeps the target bitrate.
  const keyBytes = gopFrames === 1 ? frameBytes : frameBytes * 3;
  const interBytes =
    gopFrames === 1
      ? frameBytes
      : Math.max(16, Math.round((frameBytes * gopFrames - keyBytes) / (gopFrames - 1)));
  const keyBody = frameBody(true, keyBytes, filler);
  const interBody = frameBody(false, interBytes, filler);
  const avcC = buildAvcC(buildSps(width, height), buildPps());
  const videoHeader = Uint8Array.from([0x17, 0, 0, 0, 0, ...avcC]);
  const audioHeader = Uint8Array.of(0xaf, 0, 0x12, 0x10);
  const audioFrameBytes = Math.max(8, Math.round((audioBitrate / 8) * (1024 / 44_100)));
  const audioBody = new Uint8Array(2 + audioFrameBytes);
  audioBody[0] = 0xaf;
  audioBody[1] = 1;
  audioBody.set(filler.subarray(0, audioFrameBytes), 2);
  const meta: Record<string, AmfValue> = Object.assign(createAmfObject(), {
    width,
    height,
    framerate: fps,
    videocodecid: 7,
    videodatarate: videoBitrate / 1000,
    ...(audioBitrate > 0
      ? {
          audiocodecid: 10,
          audiodatarate: audioBitrate / 1000,
          audiosamplerate: 44_100,
          audiosamplesize: 16,
          stereo: true,
        }
      : {}),
    encoder: 'rtmp-stack test-client (synthetic)',
  });
  // What a publisher sends: @setDataFrame onMetaData with an ECMA array.
  const metadata = muxScriptData('onMetaData', [new EcmaArray(meta)], true);
  return {
    description: `synthetic ${width}x${height} ${fps} fps, ${videoBitrate / 1000} kbit/s video${
      audioBitrate > 0 ? `, ${audioBitrate / 1000} kbit/s AAC` : ''
    }`,
    *tags(loop: boolean) {
      yield { type: 18, timestamp: 0, body: metadata };
      yield { type: 9, timestamp: 0, body: videoHeader };
      if (audioBitrate > 0) yield { type: 8, timestamp: 0, body: audioHeader };
      // Synthetic media is endless: `loop` changes nothing, the caller's duration ends it.
      void loop;
      let frame = 0;
      let audioFrame = 0;
      for (;;) {
        const videoTs = Math.round((frame * 1000) / fps);
        const audioTs = Math.round((audioFrame * 1024 * 1000) / 44_100);
        if (audioBitrate > 0 && audioTs < videoTs) {
          yield { type: 8, timestamp: audioTs, body: audioBody };
          audioFrame++;
        } else {
          const keyframe = frame % gopFrames === 0;
          yield { type: 9, timestamp: videoTs, body: keyframe ? keyBody : interBody };
          frame++;
        }
      }
    },
  };
}
