import { readFixture as fixture, readCsv } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { FlvReader, parseAudioTag, parseVideoTag, StreamDemuxer } from '../src/index.js';

const FILES = ['av1_opus_testsrc', 'av1_opus_mptestsrc'];

describe.each(FILES)('enhanced/%s.flv against its .tags.csv', (name) => {
  const bytes = fixture(`enhanced/${name}.flv`);
  const [header, ...rows] = readCsv(`enhanced/${name}.tags.csv`);

  it('lists every tag with the same header fields', () => {
    expect(header).toEqual([
      'index',
      'tag_type',
      'timestamp_ms',
      'ex_header',
      'frame_type',
      'packet_type',
      'fourcc_or_codec',
      'composition_time',
      'body_size',
    ]);
    const reader = new FlvReader();
    const tags = reader.push(bytes);
    expect(reader.end().truncated).toBe(false);
    expect(tags).toHaveLength(rows.length);
    tags.forEach((tag, i) => {
      const [index, type, ts, ex, frameType, packetType, fourcc, cts, size] = rows[i]!;
      expect(Number(index)).toBe(i);
      expect(tag.type).toBe(Number(type));
      expect(tag.timestamp).toBe(Number(ts));
      expect(tag.body.length).toBe(Number(size));
      if (tag.type === 9) {
        const v = parseVideoTag(tag.body);
        expect(v.enhanced ? '1' : '0').toBe(ex);
        expect(String(v.frameType)).toBe(frameType);
        expect(String(v.packets[0]?.packetType)).toBe(packetType);
        expect(v.packets[0]?.fourcc ?? String(v.packets[0]?.legacyCodecId)).toBe(fourcc);
        expect(cts === '' ? 0 : Number(cts)).toBe(v.packets[0]?.compositionTime);
      } else if (tag.type === 8) {
        const a = parseAudioTag(tag.body);
        expect(a.enhanced ? '1' : '0').toBe(ex);
        expect(String(a.packets[0]?.packetType)).toBe(packetType);
        expect(a.packets[0]?.fourcc ?? String(a.soundFormat)).toBe(fourcc);
      }
    });
  });

  it('demuxes to AV1 + Opus samples, colorInfo metadata and a channel config, without errors', () => {
    const demuxer = new StreamDemuxer();
    const events = new FlvReader().push(bytes).flatMap((t) => demuxer.push(t.type, t.timestamp, t.body));
    expect(events.filter((e) => e.kind === 'error' || e.kind === 'unsupported')).toEqual([]);
    const codecs = events.filter((e) => e.kind === 'codec');
    // The empty AV1 SequenceStart (tag 1) configures nothing: Opus is announced first, then the real av1C.
    expect(codecs.map((e) => e.kind === 'codec' && [e.mediaType, e.codec, e.track])).toEqual([
      ['audio', 'opus', 0],
      ['video', 'av1', 0],
    ]);
    const av1 = codecs[1]!;
    expect(av1.kind === 'codec' && av1.info.codecString).toMatch(/^av01\.\d\.\d\d[MH]\.(08|10|12)$/);
    // av1C's sequence header OBU gives the frame size: the same as onMetaData says.
    const meta = events.find((e) => e.kind === 'metadata' && e.name === 'onMetaData');
    const props = (meta?.kind === 'metadata' ? meta.value : null) as {
      properties: Record<string, number>;
    } | null;
    expect(av1.kind === 'codec' && [av1.info.width, av1.info.height]).toEqual([
      props?.properties.width,
      props?.properties.height,
    ]);
    const opus = codecs[0]!;
    expect(opus.kind === 'codec' && opus.info).toMatchObject({ codecString: 'opus', sampleRate: 48000 });
    const videoCoded = rows.filter((r) => r[1] === '9' && r[5] === '1').length;
    const audioCoded = rows.filter((r) => r[1] === '8' && r[5] === '1').length;
    expect(events.filter((e) => e.kind === 'video')).toHaveLength(videoCoded);
    expect(events.filter((e) => e.kind === 'audio')).toHaveLength(audioCoded);
    const color = events.find((e) => e.kind === 'metadata' && e.mediaType === 'video');
    expect(color?.kind === 'metadata' && color.name).toBe('colorInfo');
    expect(events.some((e) => e.kind === 'channelConfig')).toBe(true);
    const firstVideo = events.find((e) => e.kind === 'video');
    expect(firstVideo?.kind === 'video' && firstVideo.keyframe).toBe(true);
  });
});
