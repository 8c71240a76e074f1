import * as net from 'node:net';
import type { AmfValue } from '@rtmp/amf';
import { type RtmpCommand, RtmpConnection } from '@rtmp/connection';
import { until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RtmpClient } from '../src/index.js';

/**
 * A scripted server on the connection core (server role): answers connect and createStream, then does what the
 * test says with publish/play. Lets tests hold a step open or stop reading.
 */
async function fakeServer(
  onCommand: (connection: RtmpConnection, command: RtmpCommand) => void,
  options: { holdCreateStream?: () => boolean } = {},
) {
  const connections: RtmpConnection[] = [];
  const connects: RtmpCommand[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    const connection = new RtmpConnection(socket, { role: 'server', idleTimeout: 0 });
    connections.push(connection);
    connection.on('command', (command) => {
      if (command.name === 'connect') {
        connects.push(command);
        connection.reply(command, [
          { fmsVer: 'FAKE/1' },
          { level: 'status', code: 'NetConnection.Connect.Success' },
        ]);
      } else if (command.name === 'createStream' && !options.holdCreateStream?.()) {
        connection.reply(command, [null, 1]);
      } else onCommand(connection, command);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `rtmp://127.0.0.1:${port}/live/k`,
    connections,
    connects,
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
    const seen: string[] = [];
    let answer = false;
    const fake = await fakeServer((connection, command) => {
      seen.push(command.name);
      if (command.name === 'publish' && answer) {
        connection.sendStatus(command.streamId, 'status', 'NetStream.Publish.Start', 'go');
      }
    });
    cleanups.push(fake.close);
    const publisher = new RtmpClient({ url: fake.url });
    cleanups.push(() => publisher.close());
    await publisher.connect();
    await expect(publisher.publish({ timeout: 200 })).rejects.toMatchObject({
      code: 'ERR_RTMP_TIMEOUT',
      step: 'publish',
    });
    // The publish is withdrawn, not the connection: the same connection publishes again.
    expect(publisher.connected).toBe(true);
    await expect.poll(() => seen.slice(2)).toEqual(['publish', 'FCUnpublish', 'deleteStream']);
    answer = true;
    const again = await publisher.publish({ timeout: 2_000 });
    expect(again.ended).toBe(false);

    const player = new RtmpClient({ url: fake.url });
    cleanups.push(() => player.close());
    await player.connect();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(player.play({ signal: controller.signal })).rejects.toMatchObject({
      code: 'ERR_RTMP_ABORTED',
      step: 'play',
    });
    // The aborted play is withdrawn; the connection goes on.
    expect(player.connected).toBe(true);
    await expect(player.createStream()).resolves.toBe(1);
  });

  it('an aborted createStream is withdrawn: its late reply is dropped and the connection goes on', async () => {
    let hold = true;
    const held: RtmpCommand[] = [];
    const fake = await fakeServer(
      (_connection, command) => {
        if (command.name === 'createStream') held.push(command);
      },
      { holdCreateStream: () => hold },
    );
    cleanups.push(fake.close);
    const client = new RtmpClient({ url: fake.url });
    cleanups.push(() => client.close());
    const commands: string[] = [];
    client.on('command', (command) => commands.push(command.name));
    await client.connect();
    const controller = new AbortController();
    const pending = client.createStream({ signal: controller.signal });
    await expect.poll(() => held.length).toBe(1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_RTMP_ABORTED', step: 'createStream' });
    // The late answer to the withdrawn transaction is not mistaken for anything else.
    fake.connections[0]!.reply(held[0]!, [null, 7]);
    hold = false;
    await expect(client.createStream()).resolves.toBe(1);
    expect(client.connected).toBe(true);
    expect(commands).toEqual([]);
    expect(client.connection?.needDrain).toBe(false);
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

describe('connect and play arguments', () => {
  it('sends the configured connect properties, E-RTMP capabilities included', async () => {
    const fake = await fakeServer(() => {});
    cleanups.push(fake.close);
    const client = new RtmpClient({
      url: fake.url,
      flashVer: 'LNX 9,0,124,2',
      fourCcList: ['av01', 'hvc1', 'Opus'],
      capsEx: 4,
      videoFourCcInfoMap: { av01: 1 },
      properties: { pageUrl: 'https://example.com' },
      connectArgs: ['user', 'secret'],
    });
    cleanups.push(() => client.close());
    const result = await client.connect();
    expect(result.properties).toMatchObject({ fmsVer: 'FAKE/1' });
    const connect = fake.connects[0]!;
    expect(connect.commandObject).toMatchObject({
      app: 'live',
      tcUrl: fake.url.replace(/\/k$/, ''),
      flashVer: 'LNX 9,0,124,2',
      fourCcList: ['av01', 'hvc1', 'Opus'],
      capsEx: 4,
      videoFourCcInfoMap: { av01: 1 },
      pageUrl: 'https://example.com',
      objectEncoding: 0,
    });
    expect(connect.args).toEqual(['user', 'secret']);
  });

  it('sends play with start, duration and reset, then Set Buffer Length', async () => {
    const plays: RtmpCommand[] = [];
    const fake = await fakeServer((connection, command) => {
      if (command.name !== 'play') return;
      plays.push(command);
      connection.sendStatus(command.streamId, 'status', 'NetStream.Play.Reset', 'reset');
      connection.sendStatus(command.streamId, 'status', 'NetStream.Play.Start', 'go');
      connection.sendData(command.streamId, ['onMetaData', { width: 8, height: 6 }]);
      connection.sendStatus(command.streamId, 'status', 'NetStream.Play.Stop', 'done');
    });
    cleanups.push(fake.close);
    const client = new RtmpClient({ url: fake.url });
    cleanups.push(() => client.close());
    await client.connect();
    const player = await client.play({ start: 5000, duration: 2000, reset: false });
    const metadata: unknown[] = [];
    player.on('metadata', (m) => metadata.push(m));
    const ended = new Promise((resolve) => player.once('end', resolve));
    // Metadata and the end arrived with Play.Start: they are held until listeners could attach.
    expect(await ended).toEqual({ code: 'NetStream.Play.Stop', description: 'done' });
    expect(metadata).toEqual([{ width: 8, height: 6 }]);
    expect(plays[0]?.args).toEqual(['k', 5000, 2000, false]);
    expect(plays[0]?.streamId).toBe(1);
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

describe('player backpressure', () => {
  it('pauses the socket while the iterator lags behind highWaterMark, and resumes when it catches up', async () => {
    const fake = await fakeServer((connection, command) => {
      if (command.name !== 'play') return;
      connection.sendStatus(command.streamId, 'status', 'NetStream.Play.Start', 'go');
      const body = Uint8Array.of(0xaf, 1, 1, 2, 3);
      for (let i = 0; i < 200; i++)
        connection.send({ type: 8, streamId: command.streamId, timestamp: i * 23, payload: body });
      connection.sendUserControl({ type: 'streamEof', streamId: command.streamId });
    });
    cleanups.push(fake.close);
    const client = new RtmpClient({ url: fake.url });
    cleanups.push(() => client.close());
    await client.connect();
    const player = await client.play({ demux: false, highWaterMark: 16 });
    const iterator = player[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toMatchObject({ kind: 'raw', type: 8 });
    // Once the queue passes the mark the socket is paused (messages already read stay queued).
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(client.connection?.socket.isPaused()).toBe(true);
    let count = 1;
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      count++;
    }
    expect(count).toBe(200);
    expect(player.endReason?.code).toBe('StreamEOF');
    expect(client.connection?.socket.isPaused()).toBe(false);
  });
});

describe('reconnect requests from a hostile server', () => {
  it('malformed ones are statuses only; nothing throws and the connection goes on', async () => {
    const fake = await fakeServer(() => {});
    cleanups.push(fake.close);
    const client = new RtmpClient({ url: fake.url, capsEx: 1 });
    cleanups.push(() => client.close());
    await client.connect();
    const requests: string[] = [];
    const statuses: string[] = [];
    client.on('reconnectRequest', (r) => requests.push(r.tcUrl));
    client.on('status', (s) => statuses.push(s.code));
    const connection = fake.connections[0]!;
    const code = 'NetConnection.Connect.ReconnectRequest';
    const send = (info: AmfValue) => connection.sendCommand('onStatus', 0, [null, info], 0);
    send({ level: 'status', code, tcUrl: 42 });
    send({ level: 'status', code, tcUrl: 'javascript:alert(1)' });
    send({ level: 'status', code, tcUrl: 'http://example.com/live' });
    send({ level: 'status', code, tcUrl: 'rtmp://' });
    send({ level: 'status', code, tcUrl: `rtmp://x/${'a'.repeat(100_000)}` });
    send({ level: 'status', code, tcUrl: { nested: true } });
    send({ level: 'status', code, tcUrl: null });
    send({ level: 'status', code, tcUrl: '' });
    // An own "__proto__" key on the wire: it must neither pollute nor be read as the info object's prototype.
    const polluting = Object.create(null) as Record<string, AmfValue>;
    polluting.level = 'status';
    polluting.code = code;
    Object.defineProperty(polluting, '__proto__', {
      value: { tcUrl: 'rtmp://polluted/live' },
      enumerable: true,
    });
    send(polluting);
    connection.sendStatus(1, 'status', code, 'on a stream, not the connection');
    await until(() => statuses.length === 10, 5_000, 'ten statuses');
    // null, '' and a missing tcUrl (the "__proto__" one) mean this connection's own.
    const own = `rtmp://127.0.0.1:${new URL(fake.url).port}/live`;
    expect(requests).toEqual([`rtmp://x/${'a'.repeat(100_000)}`, own, own, own]);
    expect(({} as Record<string, unknown>).tcUrl).toBeUndefined();
    expect(client.connected).toBe(true);
    expect(await client.createStream()).toBe(1);
  });
});
