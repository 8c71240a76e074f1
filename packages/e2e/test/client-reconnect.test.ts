import { RtmpClient, type RtmpPublisher, type RtmpReconnectRequest, type TagType } from '@rtmp/client';
import { classifyTag, wrapSetDataFrame } from '@rtmp/flv-demux';
import type { ClientSession, RtmpServer } from '@rtmp/server';
import { fixture, readOracle, until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, isFrame, readFlvTags } from '../../client/test/helpers/media.js';
import { startRelayServer } from './helpers/relay.js';

// E-RTMP Reconnect Request: the server asks, the client hears it, and the recipe in the README (go on to the next
// keyframe, publish on a new connection with metadata and sequence headers again, leave the old one) moves a
// publisher between servers without a player of the new server missing a frame from that keyframe on.

const servers: RtmpServer[] = [];
const clients: RtmpClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

function client(url: string, options: ConstructorParameters<typeof RtmpClient>[0] = {}): RtmpClient {
  const c = new RtmpClient({ url, ...options });
  clients.push(c);
  return c;
}

async function relayServer(): Promise<{ server: RtmpServer; port: number; live: (key: string) => boolean }> {
  const started = await startRelayServer();
  servers.push(started.server);
  return { server: started.server, port: started.port, live: (key) => started.relay.isLive(key) };
}

function onlySession(server: RtmpServer): ClientSession {
  const [session, ...more] = server.sessions;
  expect(more).toEqual([]);
  return session!;
}

describe('E-RTMP reconnect request', () => {
  it('reaches the client as a reconnectRequest event with its tcUrl resolved; the stream goes on', async () => {
    const { server, port } = await relayServer();
    const publisherClient = client(`rtmp://127.0.0.1:${port}/live/key?token=a`, { capsEx: 1 });
    const connected = await publisherClient.connect();
    // The server states its own capsEx (E-RTMP v2), Reconnect among them; the connection shares only Reconnect.
    expect((connected.properties as Record<string, unknown>).capsEx).toBe(15);
    expect(connected.enhancedRtmp.capsEx).toBe(1);
    const publisher = await publisherClient.publish();
    const session = onlySession(server);
    expect(session.canReconnect).toBe(true);

    const requests: RtmpReconnectRequest[] = [];
    publisherClient.on('reconnectRequest', (r) => requests.push(r));

    expect(session.requestReconnect({ tcUrl: '/other', description: 'moving you' })).toBe(true);
    expect(session.requestReconnect()).toBe(true);
    expect(session.requestReconnect({ tcUrl: 'rtmps://edge.example:4443/live2/' })).toBe(true);
    expect(session.requestReconnect({ tcUrl: '//192.0.2.7/app' })).toBe(true);
    // Not an RTMP URL once resolved: reported as a status only.
    expect(session.requestReconnect({ tcUrl: 'http://example.com/x' })).toBe(true);
    await until(() => requests.length === 4, 5_000, 'four reconnect requests');
    expect(requests.map((r) => [r.tcUrl, r.url, r.description])).toEqual([
      [`rtmp://127.0.0.1:${port}/other`, `rtmp://127.0.0.1:${port}/other/key?token=a`, 'moving you'],
      [
        `rtmp://127.0.0.1:${port}/live`,
        `rtmp://127.0.0.1:${port}/live/key?token=a`,
        'The server asks the client to reconnect.',
      ],
      [
        'rtmps://edge.example:4443/live2',
        'rtmps://edge.example:4443/live2/key?token=a',
        'The server asks the client to reconnect.',
      ],
      [
        'rtmp://192.0.2.7/app',
        'rtmp://192.0.2.7/app/key?token=a',
        'The server asks the client to reconnect.',
      ],
    ]);
    expect(requests[0]!.status).toMatchObject({ streamId: 0, level: 'status' });

    // The publish is untouched, and media still flows.
    expect(publisher.ended).toBe(false);
    await publisher.sendTag(9, 0, Uint8Array.of(0x17, 2, 0, 0, 0));
    expect(publisherClient.connected).toBe(true);
  });

  it('a client that did not announce the capability: canReconnect is false, the request is still heard', async () => {
    const { server, port } = await relayServer();
    // A legacy connect: nothing of E-RTMP announced, so nothing of it answered.
    const plain = client(`rtmp://127.0.0.1:${port}/live/key`, { enhancedRtmp: false });
    const connected = await plain.connect();
    expect((connected.properties as Record<string, unknown>).capsEx).toBeUndefined();
    const session = onlySession(server);
    expect(session.canReconnect).toBe(false);
    const requests: RtmpReconnectRequest[] = [];
    plain.on('reconnectRequest', (r) => requests.push(r));
    session.requestReconnect();
    await until(() => requests.length === 1, 5_000, 'reconnect request');
    session.close();
    await until(() => !session.connection.socket.readable || session.closed, 5_000, 'closed');
    expect(session.requestReconnect()).toBe(false);
  });

  it('moves a publisher to another server at its next keyframe; a player there gets every frame from it', async () => {
    const oldServer = await relayServer();
    const newServer = await relayServer();
    const key = 'live/moving';

    // A player waits on the new server before anything is published there.
    const viewer = client(`rtmp://127.0.0.1:${newServer.port}/${key}`);
    await viewer.connect();
    const items = collect(await viewer.play());

    const first = client(`rtmp://127.0.0.1:${oldServer.port}/${key}`, { capsEx: 1 });
    await first.connect();
    let publisher: RtmpPublisher = await first.publish();
    let current = first;
    let request: RtmpReconnectRequest | undefined;
    // Carried over to the new client by followReconnect.
    first.on('reconnectRequest', (r) => {
      request = r;
    });

    const tags = readFlvTags(fixture('small_h264_aac.flv'));
    // What a publisher must send again on a new connection: metadata and sequence headers.
    const resend = tags.filter(
      (t) => t.type === 18 || (classifyTag(t.type, t.body)?.kind === 'config' && t.timestamp === 0),
    );
    const send = (p: RtmpPublisher, tag: (typeof tags)[number]): Promise<void> =>
      tag.type === 18
        ? p.sendTag(18, tag.timestamp, wrapSetDataFrame(tag.body))
        : p.sendTag(tag.type as TagType, tag.timestamp, tag.body);

    let switchedAt = -1;
    for (const [i, tag] of tags.entries()) {
      // The server asks once the first second is out.
      if (
        tag.timestamp >= 1000 &&
        switchedAt < 0 &&
        request === undefined &&
        oldServer.server.sessions.size > 0
      ) {
        onlySession(oldServer.server).requestReconnect({
          tcUrl: `rtmp://127.0.0.1:${newServer.port}/live`,
          description: 'maintenance',
        });
        await until(() => request !== undefined, 5_000, 'request heard');
      }
      const keyframe = classifyTag(tag.type, tag.body)?.kind === 'keyframe';
      if (request !== undefined && switchedAt < 0 && keyframe) {
        const moved = await current.followReconnect(request, publisher, {
          prepare: async (p) => {
            for (const header of resend) await send(p, header);
          },
        });
        clients.push(moved.client);
        expect(current.connected).toBe(false);
        current = moved.client;
        publisher = moved.publisher;
        switchedAt = i;
      }
      await send(publisher, tag);
    }
    publisher.unpublish();

    expect(request?.url).toBe(`rtmp://127.0.0.1:${newServer.port}/${key}`);
    expect(request?.description).toBe('maintenance');
    expect(switchedAt).toBeGreaterThan(0);
    expect(oldServer.live(key)).toBe(false);

    const events = await items;
    const oracle = readOracle('small_h264_aac.packets.csv');
    const switchDts = tags[switchedAt]!.timestamp;
    expect(switchDts).toBe(2000);
    // From the switch on, everything: video from the keyframe, audio sent after it in tag order.
    const audioFrom = tags
      .slice(switchedAt)
      .filter((t) => t.type === 8 && isFrame(classifyTag(8, t.body))).length;
    const video = events.filter((e) => e.kind === 'video');
    const audio = events.filter((e) => e.kind === 'audio');
    const expectedVideo = oracle.filter((p) => p.type === 'video' && p.dts >= switchDts);
    expect(video.map((v) => [v.dts, v.keyframe])).toEqual(expectedVideo.map((p) => [p.dts, p.keyframe]));
    expect(audio.length).toBe(audioFrom);
    expect(
      events
        .filter((e) => e.kind === 'codec')
        .map((e) => e.info.codecString)
        .sort(),
    ).toEqual(['avc1.64000D', 'mp4a.40.2'].sort());
  });
});

describe('followReconnect', () => {
  it('a target that does not answer: throws, and the old connection goes on publishing', async () => {
    const { server, port } = await relayServer();
    const source = client(`rtmp://127.0.0.1:${port}/live/stay`, { capsEx: 1, timeout: 2_000 });
    await source.connect();
    const publisher = await source.publish();
    const requests: RtmpReconnectRequest[] = [];
    source.on('reconnectRequest', (r) => requests.push(r));
    // A port nothing listens on: the connect fails at once.
    const closed = await relayServer();
    const deadPort = closed.port;
    await closed.server.stop();
    onlySession(server).requestReconnect({ tcUrl: `rtmp://127.0.0.1:${deadPort}/live` });
    await until(() => requests.length === 1, 5_000, 'request');
    await expect(source.followReconnect(requests[0]!, publisher)).rejects.toMatchObject({
      name: 'RtmpClientError',
    });
    expect(source.connected).toBe(true);
    expect(publisher.ended).toBe(false);
    await publisher.sendTag(9, 0, Uint8Array.of(0x17, 2, 0, 0, 0));
  });
});
