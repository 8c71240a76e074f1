// Our client with GStreamer's own RTMP implementation (rtmp2src / rtmp2sink) at the other end of a LiveRelay.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RtmpClient } from '@rtmp/client';
import type { RtmpServer } from '@rtmp/server';
import {
  fixture,
  gstreamerPlay,
  gstreamerRemux,
  hasGstreamerRtmp,
  hasTool,
  type ProbedPacket,
  probeMediaPackets,
  rtmp2srcExpected,
  until,
} from '@rtmp/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect, publishTags, readFlvTags } from '../../client/test/helpers/media.js';
import { startRelayServer } from './helpers/relay.js';

const haveTools = hasGstreamerRtmp() && hasTool('ffprobe');
const SOURCE = 'small_h264_aac.flv';

let server: RtmpServer | undefined;
let client: RtmpClient | undefined;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtmp-client-gst-'));
});
afterEach(async () => {
  await client?.close();
  client = undefined;
  await server?.stop();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const shape = (p: ProbedPacket) => [p.codec_type, p.dts, p.pts, p.size, p.flags.startsWith('K')];

describe.skipIf(!haveTools)('client with GStreamer through RtmpServer + LiveRelay', () => {
  it('what the client publishes, rtmp2src plays packet for packet', async () => {
    const started = await startRelayServer();
    server = started.server;
    const url = `rtmp://127.0.0.1:${started.port}/live/from-client`;
    const out = path.join(dir, 'played.flv');
    const player = gstreamerPlay(url, out);
    await until(() => started.relay.stats().some((s) => s.players === 1), 10_000, 'the GStreamer player');
    client = new RtmpClient({ url });
    await client.connect();
    const publisher = await client.publish();
    await publishTags(publisher, readFlvTags(fixture(SOURCE)), { realtime: true });
    publisher.unpublish();
    const played = await player.done;
    expect(played.code, played.stderr).toBe(0);
    const want = (await probeMediaPackets(fixture(SOURCE))).map(shape);
    const got = (await probeMediaPackets(out)).map(shape);
    expect(got).toEqual(rtmp2srcExpected(got, want));
  }, 30_000);

  it('the client plays what rtmp2sink publishes: every sample GStreamer sent', async () => {
    const reference = path.join(dir, 'reference.flv');
    expect((await gstreamerRemux(fixture(SOURCE), 'filesink', reference).done).code).toBe(0);
    const expected = await probeMediaPackets(reference);
    const started = await startRelayServer();
    server = started.server;
    const url = `rtmp://127.0.0.1:${started.port}/live/from-gst`;
    client = new RtmpClient({ url });
    await client.connect();
    const player = await client.play();
    const items = collect(player);
    const published = await gstreamerRemux(fixture(SOURCE), 'rtmp2sink', url, { realtime: true }).done;
    expect(published.code, published.stderr).toBe(0);
    const events = await items;
    const video = events.filter((e) => e.kind === 'video');
    const audio = events.filter((e) => e.kind === 'audio');
    expect(video.map((v) => v.kind === 'video' && [v.dts, v.pts, v.keyframe])).toEqual(
      expected.filter((p) => p.codec_type === 'video').map((p) => [p.dts, p.pts, p.flags.startsWith('K')]),
    );
    expect(audio.map((a) => a.kind === 'audio' && [a.timestamp, a.payload.byteLength])).toEqual(
      expected.filter((p) => p.codec_type === 'audio').map((p) => [p.dts, p.size]),
    );
  }, 30_000);
});
