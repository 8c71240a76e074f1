import { classifyTag, type NalVideoSampleEvent } from '@rtmp/flv-demux';
import {
  ffmpegPublish,
  fixture,
  hasTool,
  oracleVideoRow,
  readOracle,
  until,
  videoSampleRow,
} from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type RawMedia, RtmpServer } from '../src/index.js';
import { type Recorded, recordingHandler } from './helpers/recorder.js';

const haveFfmpeg = hasTool('ffmpeg');

let server: RtmpServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function publish(
  file: string,
  options: {
    demux?: boolean;
    realtime?: boolean;
    extra?: string[];
    /** Runs once the publish was accepted, while FFmpeg streams. */
    whilePublishing?: (server: RtmpServer) => void;
  } = {},
): Promise<Recorded> {
  const records: Recorded[] = [];
  server = new RtmpServer({
    host: '127.0.0.1',
    port: 0,
    demux: options.demux ?? true,
    handler: recordingHandler(records),
  });
  const port = await server.start();
  const ffmpeg = ffmpegPublish(fixture(file), `rtmp://127.0.0.1:${port}/live/key1?token=abc`, options);
  if (options.whilePublishing) {
    await until(() => records[0]?.calls.includes('publish') === true, 10_000, 'publish');
    options.whilePublishing(server);
  }
  const result = await ffmpeg.done;
  expect(result.code, result.stderr).toBe(0);
  await until(() => records[0]?.disconnects.length === 1, 5_000, 'handleDisconnect');
  return records[0]!;
}

function checkDemuxed(record: Recorded, oracleName: string): void {
  const oracle = readOracle(oracleName);
  const codecs = [...record.video, ...record.audio].filter((e) => e.kind === 'codec');
  const videoCodec = codecs.find((e) => e.kind === 'codec' && e.mediaType === 'video');
  const audioCodec = codecs.find((e) => e.kind === 'codec' && e.mediaType === 'audio');
  expect(videoCodec).toMatchObject({ codec: 'avc' });
  expect(audioCodec).toMatchObject({ codec: 'aac' });
  // avcC starts with configurationVersion 1; the AudioSpecificConfig with AAC-LC (2) at 44.1 kHz (index 4): 0x12.
  expect(videoCodec?.kind === 'codec' && videoCodec.initData?.[0]).toBe(1);
  expect(audioCodec?.kind === 'codec' && audioCodec.initData?.[0]).toBe(0x12);

  const video = record.video.filter((e): e is NalVideoSampleEvent => e.kind === 'video');
  const audio = record.audio.filter((e) => e.kind === 'audio');
  const oVideo = oracle.filter((p) => p.type === 'video');
  const oAudio = oracle.filter((p) => p.type === 'audio');
  expect(video).toHaveLength(oVideo.length);
  expect(audio).toHaveLength(oAudio.length);
  expect(video.map(videoSampleRow)).toEqual(oVideo.map(oracleVideoRow));
  expect(audio.map((a) => (a.kind === 'audio' ? [a.timestamp, a.payload.byteLength] : []))).toEqual(
    oAudio.map((p) => [p.dts, p.size]),
  );
}

describe.skipIf(!haveFfmpeg)('FFmpeg publishes to RtmpServer', () => {
  it('delivers codec configs and exactly the oracle samples (as fast as possible)', async () => {
    const record = await publish('small_h264_aac.flv');
    expect(record.calls.slice(0, 3)).toEqual(['init', 'connect', 'publish']);
    expect(record.calls.at(-1)).toBe('disconnect');
    expect(record.calls.filter((c) => c === 'unpublish')).toHaveLength(1);
    expect(record.connect).toMatchObject({ app: 'live', objectEncoding: 0 });
    expect(record.connect?.tcUrl).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
    expect(record.publish).toMatchObject({ streamKey: 'key1', type: 'live', query: { token: 'abc' } });
    expect(record.metadata[0]).toMatchObject({ width: 320, height: 240 });
    expect(record.disconnects).toEqual([undefined]);
    checkDemuxed(record, 'small_h264_aac.packets.csv');
  });

  it('delivers the same samples in real time (-re)', async () => {
    const record = await publish('small_h264_aac.flv', { realtime: true });
    checkDemuxed(record, 'small_h264_aac.packets.csv');
  }, 20_000);

  it('ignores an E-RTMP reconnect request it did not ask for: every sample still arrives (-re)', async () => {
    let sent = 0;
    const record = await publish('small_h264_aac.flv', {
      realtime: true,
      whilePublishing: (s) => {
        for (const session of s.sessions) {
          expect(session.canReconnect).toBe(false);
          if (session.requestReconnect({ tcUrl: '/elsewhere', description: 'maintenance' })) sent++;
          if (session.requestReconnect()) sent++;
        }
      },
    });
    expect(sent).toBe(2);
    expect(record.disconnects).toEqual([undefined]);
    checkDemuxed(record, 'small_h264_aac.packets.csv');
  });

  it('carries extended timestamps (timestamps above 0xFFFFFF, ffmpeg -copyts)', async () => {
    const record = await publish('extended_ts_h264_aac.flv', { extra: ['-copyts'] });
    checkDemuxed(record, 'extended_ts_h264_aac.packets.csv');
  });

  it('gives raw tag bodies with demux: false', async () => {
    const record = await publish('small_h264_aac.flv', { demux: false });
    const oracle = readOracle('small_h264_aac.packets.csv');
    const raw = (events: unknown[]) => events as RawMedia[];
    expect(record.video.every((e) => e.kind === 'raw')).toBe(true);
    const kinds = (type: 8 | 9, events: unknown[]) =>
      raw(events).map((e) => ({ ...e, kind: classifyTag(type, e.body)?.kind }));
    const video = kinds(9, record.video);
    const audio = kinds(8, record.audio);
    // Coded frames only: headers and end-of-sequence aside.
    const frames = video.filter((e) => e.kind === 'keyframe' || e.kind === 'frame');
    const audioFrames = audio.filter((e) => e.kind === 'frame');
    expect(frames.map((e) => [e.timestamp, e.body.byteLength, e.kind === 'keyframe'])).toEqual(
      oracle.filter((p) => p.type === 'video').map((p) => [p.dts, p.size + 5, p.keyframe]),
    );
    expect(audioFrames.map((e) => [e.timestamp, e.body.byteLength])).toEqual(
      oracle.filter((p) => p.type === 'audio').map((p) => [p.dts, p.size + 2]),
    );
    expect(video.filter((e) => e.kind === 'config')).toHaveLength(1);
    expect(audio.filter((e) => e.kind === 'config')).toHaveLength(1);
  });
});
