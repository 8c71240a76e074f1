import { readFixture as fixture, readOracle } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import type { AudioSampleEvent, NalVideoSampleEvent } from '../src/index.js';
import { demuxFile } from './helpers.js';

type Row = { type: string; pts: number; dts: number; size: number; key: boolean };

function oracle(name: string): Row[] {
  return readOracle(name).map(({ type, pts, dts, size, keyframe }) => ({
    type,
    pts,
    dts,
    size,
    key: keyframe,
  }));
}

function samples(file: string, split?: number): Row[] {
  const { events } = demuxFile(fixture(file), split);
  const rows: Row[] = [];
  for (const e of events) {
    if (e.kind === 'video') {
      const v = e as NalVideoSampleEvent;
      const size = v.payload.reduce((n, nal) => n + nal.length + 4, 0);
      rows.push({ type: 'video', pts: v.pts, dts: v.dts, size, key: v.keyframe });
    } else if (e.kind === 'audio') {
      const a = e as AudioSampleEvent;
      rows.push({ type: 'audio', pts: a.timestamp, dts: a.timestamp, size: a.payload.length, key: true });
    }
  }
  return rows;
}

describe.each(['small_h264_aac', 'extended_ts_h264_aac'])('%s.flv against ffprobe', (name) => {
  it('gives exactly the packets of the .packets.csv', () => {
    const expected = oracle(`${name}.packets.csv`);
    const got = samples(`${name}.flv`);
    expect(got.length).toBe(expected.length);
    expect(got).toEqual(expected);
  });

  it('is split-independent (1, 7 and 4096 byte reads)', () => {
    const expected = oracle(`${name}.packets.csv`);
    for (const split of [1, 7, 4096]) expect(samples(`${name}.flv`, split)).toEqual(expected);
  });

  it('announces H.264 High 320x240 and AAC-LC (mono, per its onMetaData) with codec strings, metadata first', () => {
    const { events, demuxer } = demuxFile(fixture(`${name}.flv`));
    const meta = events.find((e) => e.kind === 'metadata');
    expect(meta?.kind === 'metadata' && meta.name).toBe('onMetaData');
    const codecs = events.filter((e) => e.kind === 'codec');
    expect(codecs).toHaveLength(2);
    const v = codecs.find((e) => e.kind === 'codec' && e.mediaType === 'video');
    const a = codecs.find((e) => e.kind === 'codec' && e.mediaType === 'audio');
    expect(v?.kind === 'codec' && v.info).toMatchObject({
      width: 320,
      height: 240,
      profile: 100,
      nalLengthSize: 4,
    });
    expect(v?.kind === 'codec' && v.info.codecString).toMatch(/^avc1\.6400[0-9A-F]{2}$/);
    expect(a?.kind === 'codec' && a.info).toMatchObject({
      codecString: 'mp4a.40.2',
      sampleRate: 44100,
      channels: 1,
    });
    expect(demuxer.stats.droppedBeforeSequenceHeader).toBe(0);
    expect(events.filter((e) => e.kind === 'error' || e.kind === 'unsupported')).toEqual([]);
  });
});

describe('NAL payloads are views, not copies', () => {
  it('every NAL unit shares the file buffer', () => {
    const file = fixture('small_h264_aac.flv');
    const { events } = demuxFile(file);
    for (const e of events) {
      if (e.kind === 'video' && Array.isArray(e.payload)) {
        for (const nal of e.payload) expect(nal.buffer).toBe(file.buffer);
      }
    }
  });
});
