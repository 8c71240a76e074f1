import { RtmpClient, RtmpClientError } from '@rtmp/client';
import { type RtmpHandler, type RtmpServer, reject } from '@rtmp/server';
import { fixture, readOracle, selfSignedCert } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { checkSamples, collect, publishTags, readFlvTags } from '../../client/test/helpers/media.js';
import { startRelayServer } from './helpers/relay.js';

let server: RtmpServer | undefined;
const clients: RtmpClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.stop();
  server = undefined;
});

function client(url: string, options: ConstructorParameters<typeof RtmpClient>[0] = {}): RtmpClient {
  const c = new RtmpClient({ url, ...options });
  clients.push(c);
  return c;
}

async function roundTrip(options: { digest: boolean; secure?: boolean }): Promise<void> {
  const cert = options.secure ? selfSignedCert() : undefined;
  const started = await startRelayServer(cert ? { tls: cert } : {});
  server = started.server;
  const scheme = options.secure ? 'rtmps' : 'rtmp';
  const url = `${scheme}://127.0.0.1:${started.port}/live/key1?token=abc`;
  const tlsOptions = cert ? { tls: { ca: cert.cert } } : {};
  const viewer = client(url, { digest: options.digest, ...tlsOptions });
  const connected = await viewer.connect();
  expect(connected.handshakeKind).toBe(options.digest ? 'digest' : 'simple');
  expect(connected.status.code).toBe('NetConnection.Connect.Success');
  const player = await viewer.play();
  const metadata: Record<string, unknown>[] = [];
  const codecs: string[] = [];
  player.on('metadata', (m) => metadata.push(m));
  player.on('codec', (c) => codecs.push(c.info.codecString));
  const items = collect(player);

  const source = client(url, { digest: options.digest, ...tlsOptions });
  await source.connect();
  expect(source.handshakeKind).toBe(options.digest ? 'digest' : 'simple');
  const publisher = await source.publish();
  expect(publisher.name).toBe('key1?token=abc');
  await publishTags(publisher, readFlvTags(fixture('small_h264_aac.flv')));
  publisher.unpublish();

  const events = await items;
  expect(player.endReason?.code).toMatch(/UnpublishNotify|Play\.Stop|StreamEOF/);
  expect(metadata[0]).toMatchObject({ width: 320, height: 240 });
  expect(codecs.sort()).toEqual(['avc1.64000D', 'mp4a.40.2'].sort());
  checkSamples(events, readOracle('small_h264_aac.packets.csv'));
  await source.close();
  await viewer.close();
}

describe('client against RtmpServer + LiveRelay', () => {
  it('publishes and plays the fixture (digest handshake)', async () => {
    await roundTrip({ digest: true });
  });

  it('publishes and plays the fixture (simple handshake)', async () => {
    await roundTrip({ digest: false });
  });

  it('carries extended timestamps (media starting at 16,800,000 ms) both ways', async () => {
    const started = await startRelayServer();
    server = started.server;
    const url = `rtmp://127.0.0.1:${started.port}/live/ext`;
    const viewer = client(url);
    await viewer.connect();
    const player = await viewer.play();
    const items = collect(player);
    const source = client(url);
    await source.connect();
    const publisher = await source.publish();
    await publishTags(publisher, readFlvTags(fixture('extended_ts_h264_aac.flv')));
    publisher.unpublish();
    checkSamples(await items, readOracle('extended_ts_h264_aac.packets.csv'));
  });

  it('publishes and plays over RTMPS', async () => {
    await roundTrip({ digest: true, secure: true });
  });
});

describe('rejections', () => {
  async function rejecting(inner: () => RtmpHandler): Promise<string> {
    const started = await startRelayServer({ inner });
    server = started.server;
    return `rtmp://127.0.0.1:${started.port}/live/key1`;
  }

  it('connect refused: ERR_RTMP_CONNECT_REJECTED with the status', async () => {
    const url = await rejecting(() => ({ handleConnect: () => reject('no entry') }));
    const c = client(url);
    const error = await c.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RtmpClientError);
    expect(error).toMatchObject({
      code: 'ERR_RTMP_CONNECT_REJECTED',
      step: 'connect',
      status: {
        level: 'error',
        code: 'NetConnection.Connect.Rejected',
        description: expect.stringContaining('no entry'),
      },
    });
    expect(c.connected).toBe(false);
  });

  it('publish refused: ERR_RTMP_PUBLISH_REJECTED with the status', async () => {
    const url = await rejecting(() => ({
      handlePublish: () => reject('bad key', 'NetStream.Publish.Unauthorized'),
    }));
    const c = client(url);
    await c.connect();
    const error = await c.publish().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_RTMP_PUBLISH_REJECTED',
      status: {
        level: 'error',
        code: 'NetStream.Publish.Unauthorized',
        description: expect.stringContaining('bad key'),
      },
    });
  });

  it('a key already published: NetStream.Publish.BadName', async () => {
    const url = await rejecting(() => ({}));
    const first = client(url);
    await first.connect();
    await first.publish();
    const second = client(url);
    await second.connect();
    const error = await second.publish().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_RTMP_PUBLISH_REJECTED',
      status: { code: 'NetStream.Publish.BadName' },
    });
  });

  it('play refused: ERR_RTMP_PLAY_REJECTED with the status', async () => {
    const url = await rejecting(() => ({ handlePlay: () => reject('nothing here') }));
    const c = client(url);
    await c.connect();
    const error = await c.play().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_RTMP_PLAY_REJECTED',
      status: {
        level: 'error',
        code: 'NetStream.Play.StreamNotFound',
        description: expect.stringContaining('nothing here'),
      },
    });
  });
});

describe('lifecycle', () => {
  it('closes and connects again with the same client', async () => {
    const started = await startRelayServer();
    server = started.server;
    const c = client(`rtmp://127.0.0.1:${started.port}/live/again`);
    for (let i = 0; i < 3; i++) {
      await c.connect();
      const publisher = await c.publish();
      await publisher.sendMetadata({ width: 2, height: 2 });
      await c.close();
      expect(c.connected).toBe(false);
      expect(publisher.ended).toBe(true);
      await expect(publisher.sendTag(9, 0, new Uint8Array(5))).rejects.toMatchObject({
        code: 'ERR_RTMP_CLOSED',
      });
    }
  });

  it('a server that stops surfaces a disconnect to players and publishers', async () => {
    const started = await startRelayServer();
    server = started.server;
    const url = `rtmp://127.0.0.1:${started.port}/live/gone`;
    const source = client(url);
    await source.connect();
    const publisher = await source.publish();
    const viewer = client(url);
    await viewer.connect();
    const player = await viewer.play();
    const closed = new Promise<unknown>((resolve) => viewer.once('close', resolve));
    const items = collect(player).then(
      () => 'ended',
      (e: unknown) => e,
    );
    await server.stop();
    server = undefined;
    const outcome = await items;
    // The server says goodbye (UnpublishNotify/Play.Stop) before closing, or the socket just closes.
    if (outcome !== 'ended') expect(outcome).toMatchObject({ code: 'ERR_RTMP_CLOSED' });
    await closed;
    expect(viewer.connected).toBe(false);
    await expect(publisher.sendTag(9, 0, new Uint8Array(5))).rejects.toBeInstanceOf(RtmpClientError);
  });
});
