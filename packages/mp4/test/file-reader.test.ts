import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { amfProperties } from '@rtmp/amf';
import { av1Info, classifyTag, concatBytes, FlvWriter, parseScriptData } from '@rtmp/flv-demux';
import {
  hasFfmpegEncoder,
  hasTool,
  MEDIA_FILES,
  type MediaFileName,
  makeMediaFile,
  probeTimedPackets,
  relativePackets,
} from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { Mp4File, readMp4Tags } from '../src/index.js';
import { collect, packetsOf } from './helpers.js';

const haveProbe = hasTool('ffprobe');
const usable = (name: MediaFileName) => haveProbe && MEDIA_FILES[name].encoders.every(hasFfmpegEncoder);

interface Expected {
  video: string;
  audio: string;
  /** First byte's top bit: Enhanced RTMP. */
  enhancedVideo: boolean;
  enhancedAudio: boolean;
  format: 'mp4' | 'mov';
}

const CASES: [MediaFileName, Expected][] = [
  ['h264-aac.mp4', { video: 'avc', audio: 'aac', enhancedVideo: false, enhancedAudio: false, format: 'mp4' }],
  ['h264-aac.mov', { video: 'avc', audio: 'aac', enhancedVideo: false, enhancedAudio: false, format: 'mov' }],
  [
    'h264-aac-frag.mp4',
    { video: 'avc', audio: 'aac', enhancedVideo: false, enhancedAudio: false, format: 'mp4' },
  ],
  ['hevc-aac.mp4', { video: 'hevc', audio: 'aac', enhancedVideo: true, enhancedAudio: false, format: 'mp4' }],
  ['av1-opus.mp4', { video: 'av1', audio: 'opus', enhancedVideo: true, enhancedAudio: true, format: 'mp4' }],
];

describe.each(CASES)('%s', (name, expected) => {
  it.skipIf(!usable(name))(
    'gives every sample of the file: ffprobe dts, pts, size and keyframe flag',
    async () => {
      const media = await makeMediaFile(name);
      const file = await Mp4File.open(media);
      try {
        expect(file.info.format).toBe(expected.format);
        expect(file.info.video?.codec).toBe(expected.video);
        expect(file.info.audio?.codec).toBe(expected.audio);
        expect(file.info.skipped).toEqual([]);
        const tags = await collect(file.tags());
        // onMetaData, then the two sequence headers, then media.
        expect(tags.slice(0, 3).map((t) => t.type)).toEqual([18, 9, 8]);
        expect(tags.slice(1, 3).map((t) => classifyTag(t.type, t.body)?.kind)).toEqual(['config', 'config']);
        const metadata = parseScriptData(tags[0]!.body);
        expect(metadata.name).toBe('onMetaData');
        expect(metadata.setDataFrame).toBe(false);
        expect(amfProperties(metadata.value)).toMatchObject({
          width: 320,
          height: 240,
          duration: file.info.durationMs / 1000,
        });
        for (const tag of tags.slice(1)) {
          // Video: the IsExHeader bit; audio: SoundFormat 9 (ExHeader).
          const enhanced = tag.type === 9 ? (tag.body[0]! & 0x80) !== 0 : tag.body[0]! >> 4 === 9;
          expect(enhanced).toBe(tag.type === 9 ? expected.enhancedVideo : expected.enhancedAudio);
        }
        // Interleaved by decode time.
        const times = tags.map((t) => t.timestamp);
        expect(times).toEqual(times.toSorted((a, b) => a - b));
        expect(times[0]).toBe(0);

        const { packets, events } = packetsOf(tags);
        expect(events.filter((e) => e.kind === 'error' || e.kind === 'unsupported')).toEqual([]);
        const source = await probeTimedPackets(media);
        for (const type of ['video', 'audio'] as const) {
          const want = relativePackets(source, type);
          const got = relativePackets(packets, type);
          expect(got.length, `${type} packets`).toBe(want.length);
          expect(got).toEqual(want);
        }
        // The keyframe flags of tags agree with the samples'.
        expect(tags.filter((t) => t.keyframe).length).toBe(
          source.filter((p) => p.keyframe && p.type === 'video').length,
        );
      } finally {
        file.close();
      }
    },
  );

  it.skipIf(!usable(name))(
    'seeks: from the keyframe at or before the start, every sample after it',
    async () => {
      const media = await makeMediaFile(name);
      await using file = await Mp4File.open(media);
      const all = packetsOf(await collect(file.tags())).packets;
      const video = all.filter((p) => p.type === 'video');
      const keyframes = video.filter((p) => p.keyframe);
      expect(keyframes.length).toBeGreaterThan(1);
      for (const start of [keyframes[1]!.pts, keyframes[1]!.pts + 30, video.at(-1)!.pts]) {
        const tags = await collect(file.tags({ start }));
        expect(tags.slice(0, 3).map((t) => t.type)).toEqual([18, 9, 8]);
        const seeked = packetsOf(tags).packets;
        const first = seeked.find((p) => p.type === 'video')!;
        const expectedKey = keyframes.filter((k) => k.pts <= start).at(-1)!;
        expect(first).toEqual(expectedKey);
        // From there on, every video sample as in the whole-file read, and audio from the keyframe's decode time.
        const from = video.indexOf(expectedKey);
        expect(seeked.filter((p) => p.type === 'video')).toEqual(video.slice(from));
        const audio = seeked.filter((p) => p.type === 'audio');
        expect(audio[0]!.dts).toBeLessThanOrEqual(first.dts + 50);
        expect(audio).toEqual(all.filter((p) => p.type === 'audio' && p.dts >= audio[0]!.dts));
        // Headers and onMetaData carry the first media tag's time.
        expect(tags[0]!.timestamp).toBe(Math.min(first.dts, audio[0]!.dts));
      }
    },
  );
});

describe('av1C', () => {
  it.skipIf(!usable('av1-opus.mp4'))(
    'is rebuilt from the key sample with the fields FFmpeg wrote in the file',
    async () => {
      const media = await makeMediaFile('av1-opus.mp4');
      const bytes = readFileSync(media);
      const at = bytes.indexOf('av1C');
      const written = bytes.subarray(at + 4, at - 4 + bytes.readUInt32BE(at - 4));
      const tags = await collect(readMp4Tags(media));
      // E-RTMP SequenceStart: 1 header byte + FourCC, then the record.
      const rebuilt = tags[1]!.body.subarray(5);
      // SVT-AV1's global header (FFmpeg's av1C) and its in-band sequence header differ in tool flags; the record's
      // own fields (profile, level, tier, bit depth, chroma) and the picture size are the same.
      expect(Buffer.from(rebuilt.subarray(0, 4))).toEqual(Buffer.from(written.subarray(0, 4)));
      expect(av1Info(rebuilt)).toEqual(av1Info(written));
      expect(av1Info(rebuilt)).toMatchObject({ codecString: 'av01.0.00M.08', width: 320, height: 240 });
    },
  );
});

describe('as an FLV file', () => {
  it.each(['h264-aac.mp4', 'h264-aac.mov', 'h264-aac-frag.mp4'] as const)(
    '%s: FFmpeg reads the remux with every packet of the source',
    async (name) => {
      if (!usable(name)) return;
      const source = await makeMediaFile(name);
      const out = path.join(mkdtempSync(path.join(tmpdir(), 'mp4-flv-')), 'out.flv');
      try {
        const writer = new FlvWriter({ audio: true, video: true });
        const pieces: Uint8Array[] = [writer.header()];
        for await (const tag of readMp4Tags(source))
          pieces.push(...writer.tag(tag.type, tag.timestamp, tag.body));
        writeFileSync(out, concatBytes(pieces));
        const want = await probeTimedPackets(source);
        const got = await probeTimedPackets(out);
        for (const type of ['video', 'audio'] as const) {
          expect(relativePackets(got, type), type).toEqual(relativePackets(want, type));
        }
      } finally {
        rmSync(path.dirname(out), { recursive: true, force: true });
      }
    },
  );
});
