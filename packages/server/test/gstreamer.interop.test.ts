// GStreamer's RTMP client (rtmp2sink / rtmp2src, gst-plugins-bad) is a third implementation beside FFmpeg's and
// librtmp's, written apart from both: it publishes to and plays from RtmpServer here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { NalVideoSampleEvent } from '@rtmp/flv-demux';
import {
  ffmpegPlay,
  ffmpegPublish,
  fixture,
  gstreamerPlay,
  gstreamerRemux,
  hasGstreamerRtmp,
  hasTool,
  type ProbedPacket,
  probeMediaPackets,
  rtmp2srcExpected,
  run,
  selfSignedCert,
  until,
} from '@rtmp/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LiveRelay, RtmpServer } from '../src/index.js';
import { type Recorded, recordingHandler } from './helpers/recorder.js';

const haveTools = hasGstreamerRtmp() && hasTool('ffmpeg') && hasTool('ffprobe');
const haveOpenssl = hasTool('openssl');
const haveRtmpdump = hasTool('rtmpdump');
const SOURCE = 'small_h264_aac.flv';

let server: RtmpServer | undefined;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtmp-gst-'));
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const shape = (p: ProbedPacket) => [p.codec_type, p.dts, p.pts, p.size, p.flags.startsWith('K')];

// What an rtmp2src player wrote must be `expected` (but for the last packet it may lose, see rtmp2srcExpected).
async function expectPlayedByGstreamer(out: string, expected: ProbedPacket[]): Promise<void> {
  const played = (await probeMediaPackets(out)).map(shape);
  expect(played).toEqual(rtmp2srcExpected(played, expected.map(shape)));
}

// What GStreamer sends for SOURCE: its flvdemux ! flvmux pipeline retimes the stream, so the truth is the same
// pipeline written to a file and read by ffprobe.
async function gstreamerReference(): Promise<ProbedPacket[]> {
  const reference = path.join(dir, 'reference.flv');
  const written = await gstreamerRemux(fixture(SOURCE), 'filesink', reference).done;
  expect(written.code, written.stderr).toBe(0);
  return probeMediaPackets(reference);
}

// The handler's record of a publish by GStreamer must hold the codecs and exactly the samples of `reference`.
function expectSamplesOf(record: Recorded, reference: ProbedPacket[]): void {
  const codecs = [...record.video, ...record.audio].filter((e) => e.kind === 'codec');
  expect(codecs.map((e) => e.kind === 'codec' && [e.mediaType, e.codec])).toEqual([
    ['video', 'avc'],
    ['audio', 'aac'],
  ]);
  const video = record.video.filter((e): e is NalVideoSampleEvent => e.kind === 'video');
  const audio = record.audio.filter((e) => e.kind === 'audio');
  const refVideo = reference.filter((p) => p.codec_type === 'video');
  const refAudio = reference.filter((p) => p.codec_type === 'audio');
  expect(refVideo).toHaveLength(100);
  expect(refAudio).toHaveLength(174);
  expect(
    video.map((v) => [v.dts, v.pts, v.keyframe, v.payload.reduce((n, nal) => n + nal.byteLength + 4, 0)]),
  ).toEqual(refVideo.map((p) => [p.dts, p.pts, p.flags.startsWith('K'), p.size]));
  expect(audio.map((a) => (a.kind === 'audio' ? [a.timestamp, a.payload.byteLength] : []))).toEqual(
    refAudio.map((p) => [p.dts, p.size]),
  );
}

// A server with a recording handler, `sink` publishing SOURCE to live/`key` (not in real time) until the handler's
// disconnect: its record.
async function recordPublish(
  sink: 'rtmp2sink' | 'rtmpsink',
  key: string,
): Promise<{ record: Recorded; port: number }> {
  const records: Recorded[] = [];
  server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: recordingHandler(records) });
  const port = await server.start();
  const published = await gstreamerRemux(fixture(SOURCE), sink, `rtmp://127.0.0.1:${port}/live/${key}`).done;
  expect(published.code, published.stderr).toBe(0);
  await until(() => records[0]?.disconnects.length === 1, 5_000, 'handleDisconnect');
  return { record: records[0]!, port };
}

describe.skipIf(!haveTools)('GStreamer (rtmp2sink, rtmp2src, rtmpsink) with RtmpServer', () => {
  it('rtmp2sink publishes: the handler gets the codec configs and exactly the samples GStreamer sent', async () => {
    const reference = await gstreamerReference();
    const { record } = await recordPublish('rtmp2sink', 'gst1?token=abc');
    expect(record.calls).toEqual([
      'init',
      'connect',
      'publish',
      ...record.calls.slice(3, -2),
      'unpublish',
      'disconnect',
    ]);
    expect(record.connect).toMatchObject({ app: 'live' });
    expect(record.publish).toMatchObject({ streamKey: 'gst1', type: 'live', query: { token: 'abc' } });
    expect(record.disconnects).toEqual([undefined]);

    expectSamplesOf(record, reference);
  }, 20_000);

  it('librtmp (rtmpsink) publishes, as OBS does with its librtmp fork: the codec configs and exactly the samples', async () => {
    const reference = await gstreamerReference();
    const { record, port } = await recordPublish('rtmpsink', 'librtmp1?token=abc');
    // librtmp closes with FCUnpublish + deleteStream: one unpublish, and nothing else reaches the handler.
    expect(record.calls).toEqual(['init', 'connect', 'publish', 'unpublish', 'disconnect']);
    // librtmp's connect: no flashVer/capabilities by default, just app, type and tcUrl.
    expect(record.connect).toMatchObject({ app: 'live', tcUrl: `rtmp://127.0.0.1:${port}/live` });
    expect(record.publish).toMatchObject({ streamKey: 'librtmp1', query: { token: 'abc' } });
    expect(record.disconnects).toEqual([undefined]);
    expectSamplesOf(record, reference);
  }, 20_000);

  it('librtmp (rtmpsink) publishes in real time through LiveRelay to FFmpeg and rtmpdump players: every packet', async () => {
    const reference = await gstreamerReference();
    const relay = new LiveRelay();
    server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: relay.handler() });
    const port = await server.start();
    const url = `rtmp://127.0.0.1:${port}/live/librtmp2`;
    const ffOut = path.join(dir, 'ffmpeg.flv');
    const dumpOut = path.join(dir, 'rtmpdump.flv');
    const ffPlayer = ffmpegPlay(url, ffOut);
    const dumpPlayer = haveRtmpdump
      ? run('rtmpdump', ['-r', url, '--live', '-o', dumpOut], 30_000)
      : undefined;
    const players = dumpPlayer ? 2 : 1;
    await until(() => relay.stats().some((s) => s.players === players), 10_000, 'the players');
    const published = await gstreamerRemux(fixture(SOURCE), 'rtmpsink', url, { realtime: true }).done;
    expect(published.code, published.stderr).toBe(0);
    const expected = reference.map(shape);
    const ffPlayed = await ffPlayer.done;
    expect(ffPlayed.code, ffPlayed.stderr).toBe(0);
    expect((await probeMediaPackets(ffOut)).map(shape)).toEqual(expected);
    if (dumpPlayer) {
      const dumped = await dumpPlayer.done;
      expect(dumped.stderr).not.toMatch(/ERROR/);
      expect((await probeMediaPackets(dumpOut)).map(shape)).toEqual(expected);
    }
  }, 30_000);

  it('rtmp2sink, sent E-RTMP reconnect requests mid-publish (real time), ignores them: every sample arrives', async () => {
    const reference = await gstreamerReference();
    const records: Recorded[] = [];
    server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: recordingHandler(records) });
    const port = await server.start();
    const publishing = gstreamerRemux(fixture(SOURCE), 'rtmp2sink', `rtmp://127.0.0.1:${port}/live/gst-rc`, {
      realtime: true,
    }).done;
    await until(() => records[0]?.calls.includes('publish') === true, 10_000, 'publish');
    let sent = 0;
    for (const session of server.sessions) {
      expect(session.canReconnect).toBe(false);
      if (session.requestReconnect({ tcUrl: '/elsewhere', description: 'maintenance' })) sent++;
      if (session.requestReconnect()) sent++;
    }
    expect(sent).toBe(2);
    const published = await publishing;
    expect(published.code, published.stderr).toBe(0);
    await until(() => records[0]?.disconnects.length === 1, 5_000, 'handleDisconnect');
    expect(records[0]!.disconnects).toEqual([undefined]);
    expectSamplesOf(records[0]!, reference);
  }, 30_000);

  it('rtmp2src plays an FFmpeg publish through LiveRelay: every packet as in the source file', async () => {
    const relay = new LiveRelay();
    server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: relay.handler() });
    const port = await server.start();
    const url = `rtmp://127.0.0.1:${port}/live/gst2`;
    const out = path.join(dir, 'played.flv');
    const player = gstreamerPlay(url, out);
    await until(() => relay.stats().some((s) => s.players === 1), 10_000, 'the GStreamer player');
    const published = await ffmpegPublish(fixture(SOURCE), url, { realtime: true }).done;
    expect(published.code, published.stderr).toBe(0);
    const played = await player.done;
    // rtmp2src ends its pipeline at the server's end of stream (Play.UnpublishNotify / StreamEOF).
    expect(played.code, played.stderr).toBe(0);
    const source = await probeMediaPackets(fixture(SOURCE));
    expect(source).toHaveLength(274);
    await expectPlayedByGstreamer(out, source);
  }, 30_000);

  it('rtmp2sink publishes in real time to GStreamer and FFmpeg players at once', async () => {
    const reference = await gstreamerReference();
    const relay = new LiveRelay();
    server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: relay.handler() });
    const port = await server.start();
    const url = `rtmp://127.0.0.1:${port}/live/gst3`;
    const gstOut = path.join(dir, 'gst.flv');
    const ffOut = path.join(dir, 'ffmpeg.flv');
    const gstPlayer = gstreamerPlay(url, gstOut);
    const ffPlayer = ffmpegPlay(url, ffOut);
    await until(() => relay.stats().some((s) => s.players === 2), 10_000, 'both players');
    const published = await gstreamerRemux(fixture(SOURCE), 'rtmp2sink', url, { realtime: true }).done;
    expect(published.code, published.stderr).toBe(0);
    const [gstPlayed, ffPlayed] = await Promise.all([gstPlayer.done, ffPlayer.done]);
    expect(gstPlayed.code, gstPlayed.stderr).toBe(0);
    expect(ffPlayed.code, ffPlayed.stderr).toBe(0);
    await expectPlayedByGstreamer(gstOut, reference);
    const ffPackets = await probeMediaPackets(ffOut);
    expect(ffPackets.filter((p) => p.codec_type === 'video')).toHaveLength(100);
    expect(ffPackets.filter((p) => p.codec_type === 'audio')).toHaveLength(174);
  }, 30_000);

  it.skipIf(!haveOpenssl)(
    'rtmp2sink publishes over rtmps:// (self-signed certificate): the same samples',
    async () => {
      const reference = await gstreamerReference();
      const cert = selfSignedCert();
      const records: Recorded[] = [];
      server = new RtmpServer({
        host: '127.0.0.1',
        port: 0,
        tls: { key: cert.key, cert: cert.cert },
        handler: recordingHandler(records),
      });
      const port = await server.start();
      const published = await gstreamerRemux(
        fixture(SOURCE),
        'rtmp2sink',
        `rtmps://127.0.0.1:${port}/live/secure`,
        {
          sinkProperties: ['tls-validation-flags=0'],
        },
      ).done;
      expect(published.code, published.stderr).toBe(0);
      await until(() => records[0]?.disconnects.length === 1, 5_000, 'handleDisconnect');
      expect(records[0]!.connect?.tcUrl).toMatch(/^rtmps:\/\/127\.0\.0\.1:\d+\/live$/);
      expectSamplesOf(records[0]!, reference);
    },
    20_000,
  );

  it.skipIf(!haveOpenssl)(
    'rtmp2src plays over rtmps:// while FFmpeg publishes over rtmps://',
    async () => {
      const cert = selfSignedCert();
      const relay = new LiveRelay();
      server = new RtmpServer({
        host: '127.0.0.1',
        port: 0,
        tls: { key: cert.key, cert: cert.cert },
        handler: relay.handler(),
      });
      const port = await server.start();
      const url = `rtmps://127.0.0.1:${port}/live/secure-play`;
      const out = path.join(dir, 'played-tls.flv');
      const player = gstreamerPlay(url, out, { sourceProperties: ['tls-validation-flags=0'] });
      await until(() => relay.stats().some((s) => s.players === 1), 10_000, 'the GStreamer player');
      const published = await ffmpegPublish(fixture(SOURCE), url, { realtime: true }).done;
      expect(published.code, published.stderr).toBe(0);
      const played = await player.done;
      expect(played.code, played.stderr).toBe(0);
      await expectPlayedByGstreamer(out, await probeMediaPackets(fixture(SOURCE)));
    },
    30_000,
  );
});
