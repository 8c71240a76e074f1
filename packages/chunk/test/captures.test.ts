import { chunkReads, concat, readCapture, readOracle } from '@rtmp/testing';
import { describe, expect, test } from 'vitest';
import { ChunkDecoder, MessageType, type PayloadMode, type RtmpMessage, toContiguous } from '../src/index.js';
import { amf0StringAt } from './helpers.js';

function decodeReads(reads: readonly Uint8Array[], payloads: PayloadMode = 'contiguous'): RtmpMessage[] {
  const decoder = new ChunkDecoder({ payloads });
  const out: RtmpMessage[] = [];
  // Pieces are joined only here, after decoding: the oracle checks below are the same for both modes.
  for (const r of reads) for (const m of decoder.push(r)) out.push(toContiguous(m));
  return out;
}

const modes: PayloadMode[] = ['contiguous', 'pieces'];

function commandName(m: RtmpMessage): string | undefined {
  if (m.type === MessageType.CommandAmf0 || m.type === MessageType.DataAmf0)
    return amf0StringAt(m.payload)?.value;
  if (m.type === MessageType.CommandAmf3 || m.type === MessageType.DataAmf3)
    return amf0StringAt(m.payload, 1)?.value;
  return undefined;
}

function isMetadata(m: RtmpMessage): boolean {
  if (m.type !== MessageType.DataAmf0) return false;
  const first = amf0StringAt(m.payload);
  if (first?.value === 'onMetaData') return true;
  return first?.value === '@setDataFrame' && amf0StringAt(m.payload, first.end)?.value === 'onMetaData';
}

// Sequence headers (AVC packet type 0, AAC packet type 0) and AVC end of sequence are not in the ffprobe oracle.
function isSample(m: RtmpMessage): boolean {
  if (m.type === MessageType.Video) return (m.payload[0]! & 0x0f) === 7 && m.payload[1] === 1;
  if (m.type === MessageType.Audio) return m.payload[0]! >> 4 === 10 && m.payload[1] === 1;
  return false;
}

function cts(payload: Uint8Array): number {
  return (((payload[2]! << 16) | (payload[3]! << 8) | payload[4]!) << 8) >> 8;
}

function checkCommandOrder(messages: RtmpMessage[]): void {
  const names = messages
    .map((m) => (isMetadata(m) ? 'onMetaData' : commandName(m)))
    .filter((n) => n !== undefined);
  const connect = names.indexOf('connect');
  const publish = names.indexOf('publish');
  const meta = names.indexOf('onMetaData');
  expect(connect).toBe(0);
  expect(publish).toBeGreaterThan(connect);
  expect(meta).toBeGreaterThan(publish);
  const firstMedia = messages.findIndex((m) => m.type === MessageType.Audio || m.type === MessageType.Video);
  expect(messages.findIndex(isMetadata)).toBeLessThan(firstMedia);
}

const splits: [string, (reads: Uint8Array[]) => Uint8Array[]][] = [
  ['original read boundaries', (reads) => reads],
  ['one buffer', (reads) => [concat(reads)]],
  [
    '7-byte pieces',
    (reads) => {
      const all = concat(reads);
      const out: Uint8Array[] = [];
      for (let i = 0; i < all.length; i += 7) out.push(all.subarray(i, i + 7));
      return out;
    },
  ],
];

describe.each(
  modes.flatMap((mode) => [
    ['ffmpeg-publish-h264-aac.rtmpcap', 'small_h264_aac.packets.csv', mode],
    ['ffmpeg-publish-extended-timestamp.rtmpcap', 'extended_ts_h264_aac.packets.csv', mode],
  ]),
)('%s client->server, %s payloads', (capture, oracle, mode) => {
  const reads = chunkReads(readCapture(capture), 0);
  const packets = readOracle(oracle);

  test.each(splits)('matches the oracle exactly, fed as %s', (_label, split) => {
    const messages = decodeReads(split(reads), mode as PayloadMode);
    checkCommandOrder(messages);
    const samples = messages.filter(isSample);
    const expectedVideo = packets.filter((p) => p.type === 'video');
    const expectedAudio = packets.filter((p) => p.type === 'audio');
    const video = samples.filter((m) => m.type === MessageType.Video);
    const audio = samples.filter((m) => m.type === MessageType.Audio);
    expect(
      video.map((m) => [m.payload.length, m.timestamp, m.timestamp + cts(m.payload), m.payload[0]! >> 4]),
    ).toEqual(expectedVideo.map((p) => [p.size + 5, p.dts, p.pts, p.keyframe ? 1 : 2]));
    expect(audio.map((m) => [m.payload.length, m.timestamp])).toEqual(
      expectedAudio.map((p) => [p.size + 2, p.dts]),
    );
    // The interleaving is the file's too.
    expect(samples.map((m) => (m.type === MessageType.Video ? 'video' : 'audio'))).toEqual(
      packets.map((p) => p.type),
    );
  });
});

test('extended-timestamp capture: first video is 4,199 bytes at 16,799,920 ms', () => {
  const messages = decodeReads(chunkReads(readCapture('ffmpeg-publish-extended-timestamp.rtmpcap'), 0));
  const first = messages.find(isSample);
  expect(first?.type).toBe(MessageType.Video);
  expect(first?.payload.length).toBe(4199);
  expect(first?.timestamp).toBe(16_799_920);
});

test.each(modes)('librtmp publish (%s): same samples per track in order, monotonic timestamps', (mode) => {
  const messages = decodeReads(chunkReads(readCapture('librtmp-publish-h264-aac.rtmpcap'), 0), mode);
  checkCommandOrder(messages);
  const packets = readOracle('small_h264_aac.packets.csv');
  for (const [type, kind, extra] of [
    [MessageType.Video, 'video', 5],
    [MessageType.Audio, 'audio', 2],
  ] as const) {
    const track = messages.filter((m) => m.type === type && isSample(m));
    expect(track.map((m) => m.payload.length)).toEqual(
      packets.filter((p) => p.type === kind).map((p) => p.size + extra),
    );
    for (let i = 1; i < track.length; i++) {
      expect(track[i]!.timestamp).toBeGreaterThanOrEqual(track[i - 1]!.timestamp);
    }
  }
});

test.each(modes)(
  'ffmpeg play capture (%s), server->client: control, onStatus, metadata and interleaved media decode',
  (mode) => {
    const messages = decodeReads(chunkReads(readCapture('ffmpeg-play-h264-aac.rtmpcap'), 1), mode);
    const names = messages.map(commandName);
    expect(names).toContain('_result');
    expect(names).toContain('onStatus');
    expect(names).toContain('onMetaData');
    expect(messages.some((m) => m.type === MessageType.UserControl)).toBe(true);
    const packets = readOracle('small_h264_aac.packets.csv');
    for (const [type, kind, extra] of [
      [MessageType.Video, 'video', 5],
      [MessageType.Audio, 'audio', 2],
    ] as const) {
      const track = messages.filter((m) => m.type === type && isSample(m));
      expect(track.length).toBeGreaterThan(10);
      for (let i = 1; i < track.length; i++) {
        expect(track[i]!.timestamp).toBeGreaterThanOrEqual(track[i - 1]!.timestamp);
      }
      // The publisher looped the file and the player joined mid-stream: its samples are a contiguous run of the
      // file's, repeated.
      const sizes = track.map((m) => m.payload.length).join(',');
      const once = packets
        .filter((p) => p.type === kind)
        .map((p) => p.size + extra)
        .join(',');
      expect(`,${once},${once},${once},`).toContain(`,${sizes},`);
    }
    // The client->server direction of the play session decodes too.
    const requests = decodeReads(chunkReads(readCapture('ffmpeg-play-h264-aac.rtmpcap'), 0), mode).map(
      commandName,
    );
    expect(requests).toContain('play');
  },
);

test('every byte one at a time in pieces mode gives the same messages as the original reads in contiguous mode', () => {
  const reads = chunkReads(readCapture('ffmpeg-publish-extended-timestamp.rtmpcap'), 0);
  const all = concat(reads);
  const bytes: Uint8Array[] = [];
  for (let i = 0; i < all.length; i++) bytes.push(all.subarray(i, i + 1));
  const a = decodeReads(reads);
  const b = decodeReads(bytes, 'pieces');
  expect(b.length).toBe(a.length);
  for (let i = 0; i < a.length; i++) {
    expect(b[i]!.timestamp).toBe(a[i]!.timestamp);
    expect(Buffer.from(b[i]!.payload).equals(Buffer.from(a[i]!.payload))).toBe(true);
  }
});
