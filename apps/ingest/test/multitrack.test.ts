// The running app (the built CLI) and an Enhanced RTMP multitrack publish by @rtmp/client: /api/streams lists every
// track, and the recording reads back, through @rtmp/flv-demux's reader and demuxer, exactly as published.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtmpClient } from '@rtmp/client';
import {
  concatBytes,
  type DemuxEvent,
  FlvReader,
  StreamDemuxer,
  StreamMuxer,
  wrapSetDataFrame,
} from '@rtmp/flv-demux';
import { readFixture, waitFor } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningApp, startApp } from './helpers.js';

interface Tag {
  type: 8 | 9 | 18;
  timestamp: number;
  body: Uint8Array;
}

let app: RunningApp | undefined;
let client: RtmpClient | undefined;
const dirs: string[] = [];
afterEach(async () => {
  client?.destroy();
  client = undefined;
  await app?.stop();
  app = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The codec and sample events of a fixture's first `untilMs`, moved to `track`. */
function events(name: string, track: number, untilMs: number): DemuxEvent[] {
  const demuxer = new StreamDemuxer();
  const out: DemuxEvent[] = [];
  for (const tag of new FlvReader().push(readFixture(name))) {
    if ((tag.type !== 8 && tag.type !== 9) || tag.timestamp > untilMs) continue;
    for (const e of demuxer.push(tag.type, tag.timestamp, tag.body)) {
      if (e.kind === 'codec' || e.kind === 'video' || e.kind === 'audio') out.push({ ...e, track });
    }
  }
  return out;
}

const at = (e: DemuxEvent): number => (e.kind === 'video' ? e.dts : 'timestamp' in e ? e.timestamp : 0);

/** A hand-built ManyTracksManyCodecs audio tag: one AAC frame on track 0 and one Opus frame on track 1. */
function manyTracksManyCodecs(): Uint8Array {
  const track = (fourcc: string, id: number, data: number[]) => [
    ...Array.from(fourcc, (c) => c.charCodeAt(0)),
    id,
    0,
    0,
    data.length,
    ...data,
  ];
  // ExAudioTagHeader: sound format 9, packet type Multitrack (5); then ManyTracksManyCodecs (2) << 4 | CodedFrames (1).
  return Uint8Array.from([
    0x95,
    0x21,
    ...track('mp4a', 0, [0x21, 0x10, 0x04]),
    ...track('Opus', 1, [0xfc, 0xff]),
  ]);
}

/**
 * Two video tracks of different codecs (legacy AVC on track 0, AV1 on track 1) and two audio tracks (AAC, Opus),
 * muxed by StreamMuxer: OneTrack multitrack headers for track 1, ModEx TimestampOffsetNano on some AV1 frames, a
 * ManyTracksManyCodecs audio tag, and the end of track 1's video sequence.
 */
function multitrackSource(): Tag[] {
  const all = [
    ...events('small_h264_aac.flv', 0, 2000),
    ...events('enhanced/av1_opus_testsrc.flv', 1, 2000),
  ].sort((a, b) => Number(b.kind === 'codec') - Number(a.kind === 'codec') || at(a) - at(b));
  const muxer = new StreamMuxer();
  const tags: Tag[] = [
    {
      type: 18,
      timestamp: 0,
      body: concatBytes(
        muxer.push({
          kind: 'metadata',
          name: 'onMetaData',
          value: null,
          args: [{ duration: 2 }],
          timestamp: 0,
        })[0]!.body,
      ),
    },
  ];
  let frames = 0;
  for (const e of all) {
    const event =
      e.kind === 'video' && e.track === 1 && frames++ % 3 === 0 ? { ...e, timestampOffsetNano: 250_000 } : e;
    for (const t of muxer.push(event))
      tags.push({ type: t.type, timestamp: t.timestamp, body: concatBytes(t.body) });
    if (tags.length === 40)
      tags.push({ type: 8, timestamp: tags.at(-1)!.timestamp, body: manyTracksManyCodecs() });
  }
  const last = tags.at(-1)!.timestamp;
  for (const t of muxer.push({
    kind: 'sequenceEnd',
    mediaType: 'video',
    codec: 'av1',
    track: 1,
    timestamp: last,
  })) {
    tags.push({ type: t.type, timestamp: t.timestamp, body: concatBytes(t.body) });
  }
  return tags;
}

/** What a StreamDemuxer makes of `tags`, for comparing two tag lists by meaning as well as by bytes. */
function demuxed(tags: readonly Tag[]): unknown[] {
  const demuxer = new StreamDemuxer();
  return tags.flatMap((t) => demuxer.push(t.type, t.timestamp, t.body));
}

const describeTag = (t: Tag) => `${t.type} @${t.timestamp} ${Buffer.from(t.body).toString('hex')}`;

describe('multitrack Enhanced RTMP through the app', () => {
  it('lists every track in /api/streams and records the stream tag for tag', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ingest-multitrack-'));
    dirs.push(dir);
    app = await startApp(['--record-dir', dir]);
    const source = multitrackSource();
    // The source really is multitrack, with ModEx and ManyTracksManyCodecs tags.
    expect(source.filter((t) => t.type === 9 && (t.body[0]! & 0x8f) === 0x86).length).toBeGreaterThan(10);
    expect(source.some((t) => t.type === 9 && (t.body[0]! & 0x8f) === 0x87)).toBe(true);
    expect(source.some((t) => t.type === 8 && t.body[0] === 0x95 && t.body[1] === 0x21)).toBe(true);

    client = new RtmpClient({ host: '127.0.0.1', port: app.rtmpPort, app: 'live' });
    await client.connect();
    const publisher = await client.publish({ name: 'multi' });
    for (const t of source) {
      // Publishers wrap metadata in @setDataFrame; the app records the bare onMetaData.
      await publisher.sendTag(t.type, t.timestamp, t.type === 18 ? wrapSetDataFrame(t.body) : t.body);
    }
    const entry = await waitFor(async () => {
      const s = (await app!.api()).streams.find((x) => x.key === 'multi');
      const tracks = s?.tracks as Record<string, unknown>[] | undefined;
      return tracks?.length === 4 && tracks.every((t) => (t.frames as number) > 0) ? s : undefined;
    }, 10_000);
    expect(entry.tracks).toMatchObject([
      { type: 'video', track: 0, codec: expect.stringMatching(/^avc1\./), width: 320, height: 240 },
      { type: 'video', track: 1, codec: expect.stringMatching(/^av01\./), width: expect.any(Number) },
      { type: 'audio', track: 0, codec: 'mp4a.40.2', sampleRate: 44100 },
      { type: 'audio', track: 1, codec: 'opus', sampleRate: 48000 },
    ]);
    // Track 0 keeps the single-track fields.
    expect(entry.resolution).toBe('320x240');
    expect((entry.codecs as string[])[1]).toBe('mp4a.40.2');

    publisher.unpublish();
    await waitFor(() => (app!.logs.some((l) => l.msg === 'recording finalized') ? true : undefined), 10_000);
    const names = readdirSync(dir);
    expect(names).toHaveLength(1);
    const file = join(dir, names[0]!);
    const recorded = new FlvReader()
      .push(readFileSync(file))
      .filter((t): t is typeof t & { type: 8 | 9 | 18 } => t.type === 8 || t.type === 9 || t.type === 18)
      // Plain Uint8Arrays, as the source's: the demuxed events are compared with toEqual.
      .map((t) => ({ type: t.type, timestamp: t.timestamp, body: new Uint8Array(t.body) }));
    expect(recorded.map(describeTag)).toEqual(source.map(describeTag));
    expect(demuxed(recorded)).toEqual(demuxed(source));
  });
});
