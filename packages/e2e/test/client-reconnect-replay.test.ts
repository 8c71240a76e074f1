import type { RtmpMessage } from '@rtmp/chunk';
import {
  type FlvTagInput,
  publishFlv,
  RtmpClient,
  type RtmpPublisher,
  type RtmpReconnectRequest,
} from '@rtmp/client';
import { classifyTag, parseVideoTag, stripSetDataFrame } from '@rtmp/flv-demux';
import { type ClientSession, RtmpServer } from '@rtmp/server';
import { fixture, readOracle, until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, readFlvTags } from '../../client/test/helpers/media.js';
import { startRelayServer } from './helpers/relay.js';

// A publisher that follows a reconnect request sends the new server, on its own, the metadata and sequence headers
// it sent the old one (no `prepare`): the new server's late joiners get the configs before the next keyframe.
// Two in-process @rtmp/server instances.

const servers: RtmpServer[] = [];
const clients: RtmpClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

function track(client: RtmpClient): RtmpClient {
  clients.push(client);
  return client;
}

function onlySession(server: RtmpServer): ClientSession {
  const [session, ...more] = server.sessions;
  expect(more).toEqual([]);
  return session!;
}

/** Publishes `tags` on `publisher`; the server at `from` asks to move to `toTcUrl` once `askAt` ms are sent. */
async function publishMoving(
  client: RtmpClient,
  publisher: RtmpPublisher,
  tags: readonly FlvTagInput[],
  from: RtmpServer,
  toTcUrl: string,
): Promise<{ client: RtmpClient; publisher: RtmpPublisher }> {
  let request: RtmpReconnectRequest | undefined;
  client.on('reconnectRequest', (r) => {
    request = r;
  });
  onlySession(from).requestReconnect({ tcUrl: toTcUrl, description: 'maintenance' });
  await until(() => request !== undefined, 5_000, 'the request');
  let moved = { client, publisher };
  await publishFlv(publisher, tags, {
    realtime: false,
    switchAt: async (current) => {
      if (request === undefined) return undefined;
      moved = await moved.client.followReconnect(request, current);
      track(moved.client);
      request = undefined;
      return moved.publisher;
    },
  });
  return moved;
}

describe('followReconnect replays metadata and sequence headers', () => {
  it('legacy H.264 + AAC through LiveRelay: a late joiner of the new server gets the configs, then the GOP', async () => {
    const old = await startRelayServer();
    const next = await startRelayServer();
    servers.push(old.server, next.server);
    const key = 'live/moving';
    const tags = readFlvTags(fixture('small_h264_aac.flv'));
    const client = track(new RtmpClient({ url: `rtmp://127.0.0.1:${old.port}/${key}`, capsEx: 1 }));
    await client.connect();
    const publisher = await client.publish();
    // The first second on the old server, then the request; the move happens at the 2 s keyframe.
    const firstSecond = tags.filter((t) => t.timestamp < 1000);
    const rest = tags.slice(firstSecond.length);
    await publishFlv(publisher, firstSecond, { realtime: false });
    const switchAt = rest.findIndex((t) => classifyTag(t.type, t.body)?.kind === 'keyframe');
    const beforeLate = rest.filter((t, i) => i < switchAt || t.timestamp < 2500);
    const moved = await publishMoving(
      client,
      publisher,
      beforeLate,
      old.server,
      `rtmp://127.0.0.1:${next.port}/live`,
    );
    expect(moved.publisher).not.toBe(publisher);
    expect(client.connected).toBe(false);
    expect(old.relay.isLive(key)).toBe(false);
    expect(next.relay.isLive(key)).toBe(true);

    // A player joins the new server after the move: everything it knows of the stream is what was sent there.
    const viewer = track(new RtmpClient({ url: `rtmp://127.0.0.1:${next.port}/${key}` }));
    await viewer.connect();
    const player = await viewer.play();
    const metadata: Record<string, unknown>[] = [];
    player.on('metadata', (m) => metadata.push(m));
    const items = collect(player);
    await publishFlv(moved.publisher, rest.slice(beforeLate.length), { realtime: false });
    moved.publisher.unpublish();
    const events = await items;

    expect(metadata).toEqual([expect.objectContaining({ width: 320, height: 240 })]);
    const firstVideo = events.findIndex((e) => e.kind === 'video');
    const codecs = events.slice(0, firstVideo).filter((e) => e.kind === 'codec');
    expect(codecs.map((e) => e.info.codecString).sort()).toEqual(['avc1.64000D', 'mp4a.40.2']);
    expect(events.filter((e) => e.kind === 'codec')).toHaveLength(2);
    // The GOP from the 2 s keyframe and everything after it.
    const oracle = readOracle('small_h264_aac.packets.csv').filter(
      (p) => p.type === 'video' && p.dts >= 2000,
    );
    const video = events.filter((e) => e.kind === 'video');
    expect(video.map((v) => [v.dts, v.keyframe])).toEqual(oracle.map((p) => [p.dts, p.keyframe]));
  });

  it('Enhanced RTMP AV1 + Opus: the new server receives colorInfo, the current AV1 config and the Opus configs before the keyframe', async () => {
    const old = await startRelayServer();
    servers.push(old.server);
    const received: RtmpMessage[] = [];
    const next = new RtmpServer({
      host: '127.0.0.1',
      port: 0,
      handler: () => ({ handleMessage: (message) => received.push(message) }),
    });
    servers.push(next);
    const nextPort = await next.start();
    const tags = readFlvTags(fixture('enhanced/av1_opus_testsrc.flv'));
    const client = track(new RtmpClient({ url: `rtmp://127.0.0.1:${old.port}/live/e`, capsEx: 1 }));
    await client.connect();
    const publisher = await client.publish();
    // Everything up to the only keyframe (index 7) on the old server: metadata, two AV1 SequenceStarts (an empty
    // one, then the real one), Opus SequenceStart and MultichannelConfig, a first Opus frame, colorInfo.
    const keyframe = tags.findIndex((t) => classifyTag(t.type, t.body)?.kind === 'keyframe');
    expect(keyframe).toBe(7);
    await publishFlv(publisher, tags.slice(0, keyframe), { realtime: false });
    const remembered = publisher.headers;
    const moved = await publishMoving(
      client,
      publisher,
      tags.slice(keyframe),
      old.server,
      `rtmp://127.0.0.1:${nextPort}/live`,
    );
    moved.publisher.unpublish();
    await until(() => received.length >= tags.length - keyframe + remembered.length, 5_000, 'every tag');

    // The server hands its handler the metadata without the @setDataFrame wrapper; media as received.
    const unwrap = (message: { type: number; payload: Uint8Array }) => [
      ...(message.type === 18 ? stripSetDataFrame(message.payload) : message.payload),
    ];
    const before = received.slice(0, remembered.length);
    expect(before.map((m) => [m.type, unwrap(m)])).toEqual(
      remembered.map((t) => [t.type, unwrap({ type: t.type, payload: t.body })]),
    );
    // Metadata, the Opus config and multichannel config, the real (25-byte) AV1 config, colorInfo.
    expect(remembered.map((t) => [t.type, t.body.byteLength])).toEqual([
      [18, tags[0]!.body.byteLength + 16],
      [8, 24],
      [8, 11],
      [9, 25],
      [9, 67],
    ]);
    expect(parseVideoTag(received[remembered.length]!.payload)).toMatchObject({ frameType: 1 });
    expect(received.slice(remembered.length).map((m) => m.timestamp)).toEqual(
      tags.slice(keyframe).map((t) => t.timestamp),
    );
  });
});
