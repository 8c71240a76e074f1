import { EcmaArray } from '@rtmp/amf';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { DemuxProbe, type ProbeEvent } from '../src/probe.js';
import { StreamStats } from '../src/stats.js';

const log = createLogger({ level: 'silent', pretty: false });

function probeWith(events: ProbeEvent[][]) {
  const stats = new StreamStats({ now: () => 0 });
  const errors: string[] = [];
  let i = 0;
  const probe = new DemuxProbe({ push: () => events[i++] ?? [] }, stats, log, (c) => errors.push(c));
  return { probe, stats, errors };
}

describe('DemuxProbe', () => {
  it('applies codec, sample and metadata events to the stats', () => {
    const { probe, stats, errors } = probeWith([
      [
        {
          kind: 'metadata',
          name: 'onMetaData',
          // onMetaData as FFmpeg sends it and the demuxer decodes it: an ECMA array.
          value: new EcmaArray({ framerate: 30, width: 640, height: 360 }),
        },
      ],
      [
        {
          kind: 'codec',
          mediaType: 'video',
          codec: 'avc',
          track: 0,
          info: { codecString: 'avc1.64001e', width: 320, height: 240 },
        },
      ],
      [
        {
          kind: 'codec',
          mediaType: 'audio',
          codec: 'aac',
          track: 0,
          info: { codecString: 'mp4a.40.2', sampleRate: 44100, channels: 2 },
        },
      ],
      [{ kind: 'video', track: 0, dts: 0, keyframe: true, payload: [new Uint8Array(10), new Uint8Array(5)] }],
      [{ kind: 'audio', track: 0, timestamp: 0, payload: new Uint8Array(7) }],
      [{ kind: 'video', track: 1, dts: 0, keyframe: true, payload: new Uint8Array(100) }],
      [{ kind: 'error', code: 'ERR_FLV_TRUNCATED', message: 'short' }],
    ]);
    for (let i = 0; i < 7; i++) probe.push(9, 0, new Uint8Array(0));
    expect(stats.metadataFps).toBe(30);
    const s = stats.snapshot();
    expect(s.codecs).toEqual(['avc1.64001e', 'mp4a.40.2']);
    // the sequence header overrides the metadata hint
    expect([s.video.width, s.video.height]).toEqual([320, 240]);
    expect(s.audio).toMatchObject({ sampleRate: 44100, channels: 2, frames: 1 });
    expect(s.video.frames).toBe(1);
    expect(stats.mediaBytes).toBe(22);
    expect(errors).toEqual(['ERR_FLV_TRUNCATED']);
  });

  it('lets the sequence header set the resolution when metadata has none', () => {
    const { probe, stats } = probeWith([
      [
        {
          kind: 'codec',
          mediaType: 'video',
          codec: 'avc',
          track: 0,
          info: { codecString: 'avc1.42c01e', width: 320, height: 240 },
        },
      ],
    ]);
    probe.push(9, 0, new Uint8Array(0));
    expect([stats.video.width, stats.video.height]).toEqual([320, 240]);
  });
});

describe('DemuxProbe over @rtmp/flv-demux', () => {
  it('measures the fixture file: codecs, resolution, fps, frames, keyframe interval', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { StreamDemuxer } = await import('@rtmp/flv-demux');
    const { FIXTURES, parseFlvTags } = await import('@rtmp/testing');
    const stats = new StreamStats({ now: () => 0 });
    const probe = new DemuxProbe(new StreamDemuxer(), stats, log);
    for (const t of parseFlvTags(readFileSync(join(FIXTURES, 'small_h264_aac.flv')))) {
      probe.push(t.type as 8 | 9 | 18, t.timestamp, t.body);
    }
    const s = stats.snapshot();
    expect(s.codecs[0]).toMatch(/^avc1\.64/i);
    expect(s.codecs[1]).toBe('mp4a.40.2');
    expect([s.video.width, s.video.height]).toEqual([320, 240]);
    // ffprobe says mono for this file (the fixtures README says stereo): ffprobe is the oracle.
    expect(s.audio).toMatchObject({ sampleRate: 44100, channels: 1 });
    expect(s.video.frames).toBe(100);
    expect(s.video.fps).toBe(25);
    expect(s.video.keyframeIntervalMs).toBe(2000);
  });
});

describe('DemuxProbe: frames classified, the demuxer only where it matters', () => {
  /** A probe fed every demux event of every tag: what the probe did before it classified frames. */
  function reference(tags: { type: number; timestamp: number; body: Uint8Array }[]) {
    return import('@rtmp/flv-demux').then(({ StreamDemuxer }) => {
      const stats = new StreamStats({ now: () => 0 });
      const errors: string[] = [];
      const demuxer = new StreamDemuxer();
      const probe = new DemuxProbe({ push: () => [] }, stats, log, (c) => errors.push(c));
      for (const t of tags) for (const e of demuxer.push(t.type, t.timestamp, t.body)) probe.event(e);
      return { stats, errors };
    });
  }

  async function measured(tags: { type: number; timestamp: number; body: Uint8Array }[]) {
    const { StreamDemuxer } = await import('@rtmp/flv-demux');
    const stats = new StreamStats({ now: () => 0 });
    const errors: string[] = [];
    const probe = new DemuxProbe(new StreamDemuxer(), stats, log, (c) => errors.push(c));
    for (const t of tags) probe.push(t.type as 8 | 9 | 18, t.timestamp, t.body);
    return { stats, errors };
  }

  const summary = (s: StreamStats) => {
    const { video, audio, codecs, tracks } = s.snapshot();
    return { video, audio, codecs, tracks };
  };

  it('gives the statistics of a full demux of the fixture, and the same errors for a broken NAL length', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { FIXTURES, parseFlvTags } = await import('@rtmp/testing');
    const tags = parseFlvTags(readFileSync(join(FIXTURES, 'small_h264_aac.flv'))).map((t) => ({
      type: t.type,
      timestamp: t.timestamp,
      body: t.body,
    }));
    // One inter frame whose first NAL unit claims more bytes than the tag holds.
    const broken = tags.findIndex((t, i) => i > 20 && t.type === 9 && t.body[0] === 0x27 && t.body[1] === 1);
    const body = tags[broken]!.body.slice();
    body.set([0, 0xff, 0xff, 0xff], 5);
    tags[broken] = { ...tags[broken]!, body };
    const expected = await reference(tags);
    const got = await measured(tags);
    expect(summary(got.stats)).toEqual(summary(expected.stats));
    expect(got.errors).toEqual(['ERR_FLV_NAL_LENGTH']);
    expect(got.errors).toEqual(expected.errors);
    // Payload bytes: the classified frames count their NAL length prefixes too, the demuxed ones did not.
    expect(got.stats.mediaBytes).toBeGreaterThanOrEqual(expected.stats.mediaBytes);
    expect(got.stats.mediaBytes).toBeLessThan(expected.stats.mediaBytes * 1.01);
  });

  it('announces a legacy codec again when its header changes (MP3 at another sample rate)', async () => {
    // Sound format 2 (MP3): flags 0xF (44.1 kHz, 16 bit, stereo), then 0x6 (11 kHz, 16 bit, mono).
    const tags = [
      ...Array.from({ length: 5 }, (_, i) => ({
        type: 8,
        timestamp: i * 26,
        body: Uint8Array.of(0x2f, 0xff, i),
      })),
      ...Array.from({ length: 5 }, (_, i) => ({
        type: 8,
        timestamp: 130 + i * 26,
        body: Uint8Array.of(0x26, 0xff, i),
      })),
    ];
    const expected = await reference(tags);
    const got = await measured(tags);
    expect(summary(got.stats)).toEqual(summary(expected.stats));
    expect(got.stats.audio).toMatchObject({ codec: 'mp3', sampleRate: 11025, channels: 1 });
    expect(got.stats.audioFrames).toBe(10);
  });
});
