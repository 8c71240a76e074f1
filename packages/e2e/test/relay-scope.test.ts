import type { RtmpClient } from '@rtmp/client';
import { classifyVideoTag } from '@rtmp/flv-demux';
import { LiveRelay, RtmpServer } from '@rtmp/server';
import { until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { isFrame } from '../../client/test/helpers/media.js';
import { avc, connectedClient } from './helpers/peers.js';

let server: RtmpServer | undefined;
const clients: RtmpClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await server?.stop();
  server = undefined;
});

async function startRelay(relay: LiveRelay): Promise<number> {
  server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: relay.handler() });
  return server.start();
}

/** Our client connected to `app`. */
async function client(port: number, app: string): Promise<RtmpClient> {
  const c = await connectedClient(port, { app });
  clients.push(c);
  return c;
}

/** A player of `app`/`name`; collects the first payload byte after the FLV video header of each frame. */
async function player(port: number, app: string, name: string): Promise<number[]> {
  const c = await client(port, app);
  const got: number[] = [];
  const played = await c.play({ name, demux: false });
  played.on('message', (m) => {
    if (m.type === 9 && isFrame(classifyVideoTag(m.payload))) got.push(m.payload[5]!);
  });
  return got;
}

/** A publisher of `app`/`name` that sends a header and a keyframe whose bytes are all `mark`. */
async function publish(port: number, app: string, name: string, mark: number): Promise<() => void> {
  const c = await client(port, app);
  const stream = await c.publish({ name });
  stream.write(9, 0, avc.header());
  let ts = 0;
  const send = () => stream.write(9, (ts += 40), avc.frame(true, 64, mark));
  send();
  return send;
}

describe('LiveRelay.handler stream keys', () => {
  it('scopes streams by app by default: the same name in two apps is two streams', async () => {
    const relay = new LiveRelay();
    const port = await startRelay(relay);
    const liveViewer = await player(port, 'live', 'abc');
    const otherViewer = await player(port, 'other/', 'abc'); // trailing slash: the same app
    const sendLive = await publish(port, 'live', 'abc', 0xaa);
    // Without scoping this second publish would get NetStream.Publish.BadName.
    const sendOther = await publish(port, 'other', 'abc', 0xbb);
    sendLive();
    sendOther();
    await until(() => liveViewer.length >= 2 && otherViewer.length >= 2, 5_000, 'media');
    expect(new Set(liveViewer)).toEqual(new Set([0xaa]));
    expect(new Set(otherViewer)).toEqual(new Set([0xbb]));
    expect(relay.liveKeys().sort()).toEqual(['live/abc', 'other/abc']);
    expect(relay.isLive('abc')).toBe(false);
    expect(relay.stats('other/abc')).toMatchObject({ publishing: true, players: 1 });
  });

  it("scope 'global' keeps one namespace across apps", async () => {
    const relay = new LiveRelay({ scope: 'global' });
    const port = await startRelay(relay);
    const otherViewer = await player(port, 'other', 'abc');
    const sendLive = await publish(port, 'live', 'abc', 0xaa);
    await expect(publish(port, 'other', 'abc', 0xbb)).rejects.toThrow('NetStream.Publish.BadName');
    sendLive();
    await until(() => otherViewer.length >= 2, 5_000, 'media');
    expect(new Set(otherViewer)).toEqual(new Set([0xaa]));
    expect(relay.liveKeys()).toEqual(['abc']);
  });

  it('takes a key function, and events report the keys it makes', async () => {
    const relay = new LiveRelay({ scope: (app, name) => `${app}:${name.toLowerCase()}` });
    const events: string[] = [];
    relay.on('publish', (key) => events.push(`publish ${key}`));
    relay.on('play', (key) => events.push(`play ${key}`));
    relay.on('unpublish', (key) => events.push(`unpublish ${key}`));
    const port = await startRelay(relay);
    const viewer = await player(port, 'live', 'ABC');
    const send = await publish(port, 'live', 'abc', 0xcc);
    send();
    await until(() => viewer.length >= 2, 5_000, 'media');
    expect(relay.isLive('live:abc')).toBe(true);
    clients[1]!.destroy();
    await until(() => !relay.isLive('live:abc'), 5_000, 'unpublish');
    expect(events).toEqual(['play live:abc', 'publish live:abc', 'unpublish live:abc']);
  });
});
