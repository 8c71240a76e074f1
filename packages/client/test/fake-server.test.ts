import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { FlvReader, StreamDemuxer } from '@rtmp/flv-demux';
import type { RtmpServer } from '@rtmp/server';
import { type RtmpCommand, RtmpConnection } from '@rtmp/server';
import { afterEach, describe, expect, it } from 'vitest';
import { RtmpClient } from '../src/index.js';
import { checkSamples, collect, startRelayServer } from './helpers/media.js';
import { fixture, readOracle } from './helpers/tools.js';

/**
 * A scripted server on the connection core (server role): answers connect and createStream, then does what the
 * test says with publish/play. Lets tests hold a step open or stop reading.
 */
async function fakeServer(onCommand: (connection: RtmpConnection, command: RtmpCommand) => void) {
  const connections: RtmpConnection[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    const connection = new RtmpConnection(socket, { role: 'server', idleTimeout: 0 });
    connections.push(connection);
    connection.on('command', (command) => {
      if (command.name === 'connect') {
        connection.reply(command, [
          { fmsVer: 'FAKE/1' },
          { level: 'status', code: 'NetConnection.Connect.Success' },
        ]);
      } else if (command.name === 'createStream') {
        connection.reply(command, [null, 1]);
      } else onCommand(connection, command);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `rtmp://127.0.0.1:${port}/live/k`,
    connections,
    close: () => {
      for (const c of connections) c.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('steps held open by the server', () => {
  it('publish without Publish.Start times out, and an AbortSignal aborts play', async () => {
    const fake = await fakeServer(() => {});
    cleanups.push(fake.close);
    const publisher = new RtmpClient({ url: fake.url });
    cleanups.push(() => publisher.close());
    await publisher.connect();
    await expect(publisher.publish({ timeout: 200 })).rejects.toMatchObject({
      code: 'ERR_RTMP_TIMEOUT',
      step: 'publish',
    });
    expect(publisher.connected).toBe(false);

    const player = new RtmpClient({ url: fake.url });
    cleanups.push(() => player.close());
    await player.connect();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(player.play({ signal: controller.signal })).rejects.toMatchObject({
      code: 'ERR_RTMP_ABORTED',
      step: 'play',
    });
    // The client can connect again after a failed step.
    await player.connect();
    expect(player.connected).toBe(true);
  });

  it('sends releaseStream and FCPublish before publish, and publish with the type', async () => {
    const seen: string[] = [];
    const fake = await fakeServer((connection, command) => {
      seen.push(`${command.name}:${command.args.map(String).join(',')}`);
      if (command.name === 'publish') connection.sendStatus(1, 'status', 'NetStream.Publish.Start', 'go');
    });
    cleanups.push(fake.close);
    const client = new RtmpClient({ url: `${fake.url}?token=1` });
    cleanups.push(() => client.close());
    await client.connect();
    await client.publish({ type: 'record' });
    expect(seen).toEqual(['releaseStream:k?token=1', 'FCPublish:k?token=1', 'publish:k?token=1,record']);
  });
});

describe('backpressure', () => {
  it('sendTag waits while the server does not read, and never buffers more than one message past the mark', async () => {
    const fake = await fakeServer((connection, command) => {
      if (command.name === 'publish') {
        connection.sendStatus(1, 'status', 'NetStream.Publish.Start', 'go');
        // Stop reading: the client's socket buffer fills up.
        connection.socket.pause();
      }
    });
    cleanups.push(fake.close);
    const client = new RtmpClient({ url: fake.url });
    cleanups.push(() => client.close({ timeout: 500 }));
    await client.connect();
    const publisher = await client.publish();
    const body = new Uint8Array(256 * 1024);
    body[0] = 0x27;
    let pending: Promise<void> | undefined;
    let sent = 0;
    for (let i = 0; i < 1000 && !pending; i++) {
      const p = publisher.sendTag(9, i * 40, body);
      sent++;
      let settled = false;
      p.then(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (!settled) pending = p;
    }
    expect(pending, 'a send should have blocked').toBeDefined();
    expect(publisher.needDrain).toBe(true);
    // Node's own buffer holds at most the high-water mark plus the one message written past it (and its headers).
    const highWaterMark = client.connection?.socket.writableHighWaterMark ?? 0;
    expect(publisher.writableLength).toBeLessThan(highWaterMark + body.byteLength + 4096);
    expect(publisher.write(9, 0, body)).toBe(false);
    expect(sent).toBeLessThan(1000);
    // The server reads again: the pending send resolves.
    for (const c of fake.connections) c.socket.resume();
    await pending;
  });
});

describe('demuxed samples', () => {
  let server: RtmpServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('sendEvent publishes StreamDemuxer events that play back identical', async () => {
    const started = await startRelayServer();
    server = started.server;
    const url = `rtmp://127.0.0.1:${started.port}/live/events`;
    const viewer = new RtmpClient({ url });
    cleanups.push(() => viewer.close());
    await viewer.connect();
    const player = await viewer.play();
    const items = collect(player);

    const source = new RtmpClient({ url });
    cleanups.push(() => source.close());
    await source.connect();
    const publisher = await source.publish();
    const reader = new FlvReader();
    const demuxer = new StreamDemuxer();
    for (const tag of reader.push(readFileSync(fixture('small_h264_aac.flv')))) {
      for (const event of demuxer.push(tag.type, tag.timestamp, tag.body)) await publisher.sendEvent(event);
    }
    publisher.unpublish();
    const events = await items;
    checkSamples(events, readOracle('small_h264_aac.packets.csv'));
    expect(events.find((e) => e.kind === 'metadata')).toMatchObject({ name: 'onMetaData' });
  });
});
