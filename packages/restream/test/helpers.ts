// In-process peers of the tests: relay servers on 127.0.0.1, our client publishing the fixture, players collecting
// what they receive.
import { readFileSync } from 'node:fs';
import { publishFlv, RtmpClient, type RtmpClientOptions, type RtmpPlayer } from '@rtmp/client';
import { FlvReader, type FlvTag } from '@rtmp/flv-demux';
import { LiveRelay, type LiveRelayOptions, RtmpServer, type RtmpServerOptions } from '@rtmp/server';
import { fixture } from '@rtmp/testing';

/** A relay server listening on 127.0.0.1. */
export interface RelayServer {
  relay: LiveRelay;
  server: RtmpServer;
  port: number;
  /** `rtmp://127.0.0.1:<port>/live`. */
  url: string;
  stop(): Promise<void>;
}

/** Starts an `RtmpServer` with a `LiveRelay` on 127.0.0.1 (`port` 0: a free one). */
export async function relayServer(
  options: { port?: number; relay?: LiveRelayOptions; server?: Partial<RtmpServerOptions> } = {},
): Promise<RelayServer> {
  const relay = new LiveRelay(options.relay);
  const server = new RtmpServer({
    host: '127.0.0.1',
    port: options.port ?? 0,
    handler: relay.handler(),
    ...options.server,
  });
  const port = await server.start();
  const scheme = options.server?.tls === undefined ? 'rtmp' : 'rtmps';
  return { relay, server, port, url: `${scheme}://127.0.0.1:${port}/live`, stop: () => server.stop() };
}

/** Every tag of `small_h264_aac.flv` (4 s, H.264 + AAC, a keyframe every 2 s). */
export function fixtureTags(): FlvTag[] {
  const reader = new FlvReader();
  const tags = reader.push(readFileSync(fixture('small_h264_aac.flv')));
  reader.end();
  return tags;
}

/** Publishes the fixture to `url` with our client (`realtime`: paced by its timestamps) and closes. */
export async function publishFixture(
  url: string,
  options: { realtime?: boolean; tags?: FlvTag[]; client?: Omit<RtmpClientOptions, 'url'> } = {},
): Promise<void> {
  const client = new RtmpClient({ ...options.client, url });
  await client.connect();
  const publisher = await client.publish();
  await publishFlv(publisher, options.tags ?? fixtureTags(), { realtime: options.realtime ?? false });
  await client.close();
}

/** A received message, as compared with the fixture's tags. */
export interface ReceivedTag {
  type: number;
  timestamp: number;
  body: Buffer;
}

/** A player of `url` collecting every audio, video and metadata message until the stream ends. */
export interface Collector {
  client: RtmpClient;
  player: RtmpPlayer;
  tags: ReceivedTag[];
  /** Resolves once the play ended (or the connection closed). */
  done: Promise<void>;
}

/** Connects, plays `url` without demuxing and collects what arrives. */
export async function collect(url: string, options: Omit<RtmpClientOptions, 'url'> = {}): Promise<Collector> {
  const client = new RtmpClient({ ...options, url });
  await client.connect();
  const player = await client.play({ demux: false });
  const tags: ReceivedTag[] = [];
  player.on('message', (m) => {
    if (m.type === 8 || m.type === 9 || m.type === 18) {
      tags.push({ type: m.type, timestamp: m.timestamp, body: Buffer.from(m.payload) });
    }
  });
  const done = new Promise<void>((resolve) => {
    player.once('end', () => resolve());
    player.once('close', () => resolve());
  });
  return { client, player, tags, done };
}

/** The audio and video tags of a list, as comparable rows. */
export function mediaRows(tags: readonly { type: number; timestamp: number; body: Uint8Array }[]) {
  return tags
    .filter((t) => t.type === 8 || t.type === 9)
    .map((t) => ({ type: t.type, timestamp: t.timestamp, body: Buffer.from(t.body).toString('base64') }));
}

/**
 * A TCP proxy to 127.0.0.1:`target` whose {@link StallingProxy.stall} makes the connections open at that moment
 * stop reading what the client sends (TCP backpressure builds up at the client, as with a congested uplink); later
 * connections are forwarded normally.
 */
export interface StallingProxy {
  port: number;
  stall(): void;
  close(): Promise<void>;
}

export async function stallingProxy(target: number): Promise<StallingProxy> {
  const { createServer, connect } = await import('node:net');
  const open = new Set<import('node:net').Socket>();
  const server = createServer((down) => {
    const up = connect(target, '127.0.0.1');
    for (const s of [down, up]) {
      s.on('error', () => {});
      open.add(s);
      s.on('close', () => open.delete(s));
    }
    down.pipe(up);
    up.pipe(down);
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    stall: () => {
      for (const s of open) {
        s.unpipe();
        s.pause();
      }
    },
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
