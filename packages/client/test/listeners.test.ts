import { once } from 'node:events';
import { until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RtmpClient, type RtmpClientError } from '../src/index.js';
import { type ScriptedServer, scriptedServer } from './helpers/scripted-server.js';

// A throwing listener is a bug in the application: it is never swallowed. While the connection is open it ends the
// client with ERR_RTMP_HANDLER_FAILED (cause: the exception), as a throwing listener of the connection core does;
// once nothing is left to end, the exception becomes a process warning.

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(...args: Parameters<typeof scriptedServer>): Promise<ScriptedServer> {
  const server = await scriptedServer(...args);
  cleanups.push(server.close);
  return server;
}

function newClient(url: string): RtmpClient {
  const client = new RtmpClient({ url, timeout: 5_000 });
  cleanups.push(() => client.close());
  return client;
}

// A video tag (AVC keyframe) and the AVC sequence header it needs.
const AVC_HEADER = Uint8Array.of(0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x0d, 0xff, 0xe0, 0);
const AVC_FRAME = Uint8Array.of(0x17, 1, 0, 0, 0, 0, 0, 0, 2, 0x65, 0x88);

describe('listener errors', () => {
  it("a throwing client 'command' listener ends the client with ERR_RTMP_HANDLER_FAILED", async () => {
    const server = await serve((peer, command) => {
      if (command.name === 'connect') peer.connection.sendCommand('onBWDone', 0, [null]);
    });
    const client = newClient(server.url);
    const bug = new Error('bug in a command listener');
    client.on('command', (command) => {
      if (command.name === 'onBWDone') throw bug;
    });
    const closed = once(client, 'close') as Promise<[RtmpClientError | undefined]>;
    // The connect reply and onBWDone may come in one read: the connect may or may not complete first.
    const connected = client.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    const [error] = await closed;
    expect(error).toMatchObject({
      name: 'RtmpClientError',
      code: 'ERR_RTMP_HANDLER_FAILED',
      step: 'connection',
    });
    expect(error?.cause).toBe(bug);
    expect(error?.message).toContain("the client's 'command' event");
    const connectError = await connected;
    if (connectError !== undefined) expect(connectError).toMatchObject({ code: 'ERR_RTMP_HANDLER_FAILED' });
    expect(client.connected).toBe(false);
  });

  it("a throwing client 'status' listener fails the publish and every later send with the same error", async () => {
    const server = await serve();
    const client = newClient(server.url);
    await client.connect();
    const bug = new TypeError('status listener bug');
    client.on('status', (status) => {
      if (status.code === 'NetStream.Publish.Start') throw bug;
    });
    const publisher = await client.publish();
    await until(() => publisher.ended, 5_000, 'the publish to end');
    const sent = publisher.sendTag(9, 0, AVC_FRAME);
    await expect(sent).rejects.toMatchObject({ code: 'ERR_RTMP_HANDLER_FAILED', cause: bug });
  });

  it("a throwing player listener ends the client; the player's iterator throws the same error", async () => {
    const server = await serve((peer, command) => {
      if (command.name === 'play') {
        const stream = command.streamId;
        peer.connection.send({ type: 9, streamId: stream, timestamp: 0, payload: AVC_HEADER });
        peer.connection.send({ type: 9, streamId: stream, timestamp: 0, payload: AVC_FRAME });
        peer.connection.send({ type: 9, streamId: stream, timestamp: 40, payload: AVC_FRAME });
      }
    });
    const client = newClient(server.url);
    await client.connect();
    const player = await client.play();
    const bug = new Error('video listener bug');
    let calls = 0;
    player.on('video', () => {
      calls++;
      throw bug;
    });
    const items: string[] = [];
    let failure: unknown;
    try {
      for await (const item of player) items.push(item.kind);
    } catch (error) {
      failure = error;
    }
    expect(failure).toMatchObject({ name: 'RtmpClientError', code: 'ERR_RTMP_HANDLER_FAILED', cause: bug });
    expect((failure as Error).message).toContain("the player's 'video' event");
    // Nothing is delivered after the failure.
    expect(calls).toBe(1);
    expect(player.closed).toBe(true);
    expect(client.connected).toBe(false);
  });

  it("a throwing 'close' listener, with nothing left to end, becomes a process warning", async () => {
    const server = await serve();
    const client = newClient(server.url);
    await client.connect();
    const bug = new Error('close listener bug');
    client.on('close', () => {
      throw bug;
    });
    const warned = once(process, 'warning');
    await client.close();
    const [warning] = await warned;
    expect(warning).toMatchObject({ name: 'RtmpClientError', code: 'ERR_RTMP_HANDLER_FAILED', cause: bug });
  });
});
