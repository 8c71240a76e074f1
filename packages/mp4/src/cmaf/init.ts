import { Mp4Error } from '../errors.js';
import { BoxWriter } from './box-writer.js';
import { parseOpusHead } from './codecs.js';
import type { CmafAudioTrack, CmafTrack, CmafVideoTrack } from './tracks.js';

/** The movie timescale of `mvhd` (only its durations use it, and those are 0 in a fragmented file). */
const MOVIE_TIMESCALE = 1000;

// The identity matrix of tkhd/mvhd (16.16 and 2.30 fixed point).
const MATRIX = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

/**
 * Encodes a CMAF header (init segment): `ftyp` then `moov` with one `trak` per track (`tkhd`, `mdia` with
 * `mdhd`/`hdlr`/`minf`, an empty sample table whose `stsd` holds the track's sample entry) and `mvex` with one
 * `trex` per track. Tracks appear in the order given; their ids must be distinct.
 * @throws {Mp4Error} `ERR_MP4_INVALID_ARGUMENT` for no tracks or duplicate ids, `ERR_MP4_INVALID_CONFIG` for a
 * configuration that does not fit its box.
 */
export function encodeInitSegment(tracks: readonly CmafTrack[]): Uint8Array {
  if (tracks.length === 0) throw new Mp4Error('ERR_MP4_INVALID_ARGUMENT', 'an init segment needs a track');
  const ids = new Set(tracks.map((t) => t.id));
  if (ids.size !== tracks.length)
    throw new Mp4Error('ERR_MP4_INVALID_ARGUMENT', 'track ids are not distinct');
  const w = new BoxWriter(1024);
  // iso6: default-base-is-moof and v1 trun; cmfc: CMAF; mp41 and isom for players that look for them.
  w.box('ftyp').fourcc('iso6').u32(0).fourcc('iso6').fourcc('cmfc').fourcc('isom').fourcc('mp41').end();
  w.box('moov');
  mvhd(w, Math.max(...ids) + 1);
  for (const track of tracks) trak(w, track);
  w.box('mvex');
  for (const track of tracks) {
    // default_sample_description_index 1; durations, sizes and flags come in every trun.
    w.fullBox('trex', 0, 0).u32(track.id).u32(1).u32(0).u32(0).u32(0).end();
  }
  w.end();
  w.end();
  return w.finish();
}

function mvhd(w: BoxWriter, nextTrackId: number): void {
  w.fullBox('mvhd', 0, 0).u32(0).u32(0).u32(MOVIE_TIMESCALE).u32(0);
  w.u32(0x0001_0000).u16(0x0100).zeros(10);
  for (const m of MATRIX) w.u32(m);
  w.zeros(24).u32(Math.min(nextTrackId, 0xffff_ffff)).end();
}

function trak(w: BoxWriter, track: CmafTrack): void {
  const video = track.kind === 'video';
  w.box('trak');
  // flags 3: enabled and in the movie.
  w.fullBox('tkhd', 0, 3).u32(0).u32(0).u32(track.id).u32(0).u32(0);
  // layer, alternate_group, volume (1.0 for audio), reserved.
  w.zeros(8)
    .u16(0)
    .u16(0)
    .u16(video ? 0 : 0x0100)
    .u16(0);
  for (const m of MATRIX) w.u32(m);
  w.u32(video ? fixed16(track.width) : 0).u32(video ? fixed16(track.height) : 0);
  w.end();
  w.box('mdia');
  // Language 'und' packed as three 5-bit letters.
  w.fullBox('mdhd', 0, 0).u32(0).u32(0).u32(track.timescale).u32(0).u16(0x55c4).u16(0).end();
  w.fullBox('hdlr', 0, 0)
    .u32(0)
    .fourcc(video ? 'vide' : 'soun')
    .zeros(12);
  w.cstring(video ? 'VideoHandler' : 'SoundHandler').end();
  w.box('minf');
  if (video) w.fullBox('vmhd', 0, 1).zeros(8).end();
  else w.fullBox('smhd', 0, 0).zeros(4).end();
  w.box('dinf').fullBox('dref', 0, 0).u32(1).fullBox('url ', 0, 1).end().end().end();
  w.box('stbl');
  w.fullBox('stsd', 0, 0).u32(1);
  if (track.kind === 'video') videoSampleEntry(w, track);
  else audioSampleEntry(w, track);
  w.end();
  w.fullBox('stts', 0, 0).u32(0).end();
  w.fullBox('stsc', 0, 0).u32(0).end();
  w.fullBox('stsz', 0, 0).u32(0).u32(0).end();
  w.fullBox('stco', 0, 0).u32(0).end();
  w.end(); // stbl
  w.end(); // minf
  w.end(); // mdia
  w.end(); // trak
}

function fixed16(n: number): number {
  return Math.min(Math.max(0, Math.round(n)), 0xffff) * 0x1_0000;
}

const VIDEO_ENTRY: Record<CmafVideoTrack['codec'], [entry: string, config: string]> = {
  avc: ['avc1', 'avcC'],
  hevc: ['hvc1', 'hvcC'],
  av1: ['av01', 'av1C'],
  vp9: ['vp09', 'vpcC'],
};

function videoSampleEntry(w: BoxWriter, track: CmafVideoTrack): void {
  const [entry, configBox] = VIDEO_ENTRY[track.codec];
  w.box(entry).zeros(6).u16(1);
  w.zeros(16).u16(Math.min(track.width, 0xffff)).u16(Math.min(track.height, 0xffff));
  // 72 dpi, reserved, frame_count 1, an empty compressorname (32 bytes), depth 24, pre_defined -1.
  w.u32(0x0048_0000).u32(0x0048_0000).u32(0).u16(1).zeros(32).u16(0x0018).i16(-1);
  if (track.codec === 'vp9') w.fullBox('vpcC', 1, 0).raw(track.config).end();
  else w.box(configBox).raw(track.config).end();
  w.end();
}

function audioSampleEntry(w: BoxWriter, track: CmafAudioTrack): void {
  w.box(track.codec === 'aac' ? 'mp4a' : 'Opus')
    .zeros(6)
    .u16(1);
  // reserved, channelcount, samplesize 16, pre_defined, reserved, samplerate 16.16 (0 when it does not fit).
  w.zeros(8).u16(track.channels).u16(16).u16(0).u16(0);
  w.u32(track.sampleRate <= 0xffff ? track.sampleRate * 0x1_0000 : 0);
  if (track.codec === 'aac') esds(w, track);
  else dOps(w, track);
  w.end();
}

/** An MPEG-4 descriptor header: tag and a length of up to 4 bytes, 7 bits each. */
function descriptor(w: BoxWriter, tag: number, length: number): void {
  w.u8(tag);
  if (length >= 1 << 28) throw new Mp4Error('ERR_MP4_INVALID_CONFIG', 'descriptor too long');
  const bytes: number[] = [];
  let n = length;
  do {
    bytes.unshift(n & 0x7f);
    n >>>= 7;
  } while (n > 0);
  for (let i = 0; i < bytes.length; i++) w.u8(bytes[i]! | (i < bytes.length - 1 ? 0x80 : 0));
}

function descriptorSize(length: number): number {
  let size = 2;
  for (let n = length >>> 7; n > 0; n >>>= 7) size++;
  return size + length;
}

function esds(w: BoxWriter, track: CmafAudioTrack): void {
  const asc = track.config;
  const decoderSpecific = descriptorSize(asc.length);
  const decoderConfig = descriptorSize(13 + decoderSpecific);
  const sl = descriptorSize(1);
  w.fullBox('esds', 0, 0);
  descriptor(w, 0x03, 3 + decoderConfig + sl);
  w.u16(track.id & 0xffff).u8(0);
  descriptor(w, 0x04, 13 + decoderSpecific);
  // objectTypeIndication 0x40 (MPEG-4 audio), streamType 5 (audio) << 2 | 1, buffer size and bitrates unknown.
  w.u8(0x40).u8(0x15).u24(0).u32(0).u32(0);
  descriptor(w, 0x05, asc.length);
  w.raw(asc);
  descriptor(w, 0x06, 1);
  w.u8(0x02);
  w.end();
}

function dOps(w: BoxWriter, track: CmafAudioTrack): void {
  const head = parseOpusHead(track.config);
  if (head === null) throw new Mp4Error('ERR_MP4_INVALID_CONFIG', 'OpusHead malformed');
  // The OpusHead fields in big-endian order (ISO/IEC 23003-5 "Opus in ISOBMFF"), version 0.
  w.box('dOps').u8(0).u8(head.channels).u16(head.preSkip).u32(head.inputSampleRate).i16(head.outputGain);
  w.u8(head.mappingFamily);
  if (head.mappingTable !== null) w.raw(head.mappingTable);
  w.end();
}
