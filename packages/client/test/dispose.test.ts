import { until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RtmpClient } from '../src/index.js';
import { type ScriptedServer, scriptedServer } from './helpers/scripted-server.js';

// `await using` on what publish and play resolve with: the stream is withdrawn at the end of the scope, the
// connection stays.

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('Symbol.asyncDispose', () => {
  it('await using a publisher unpublishes it at the end of the scope (FCUnpublish, deleteStream)', async () => {
    server = await scriptedServer();
    await using client = new RtmpClient({ url: server.url });
    await client.connect();
    let inScope: boolean;
    {
      await using publisher = await client.publish();
      await publisher.sendTag(9, 0, Uint8Array.of(0x17, 2, 0, 0, 0));
      inScope = publisher.ended;
      expect(typeof publisher[Symbol.asyncDispose]).toBe('function');
    }
    expect(inScope).toBe(false);
    const peer = server.peers[0]!;
    await until(() => peer.commands.some((c) => c.name === 'deleteStream'), 5_000, 'deleteStream');
    expect(peer.commands.map((c) => c.name).slice(-2)).toEqual(['FCUnpublish', 'deleteStream']);
    expect(client.connected).toBe(true);
  });

  it('await using a player stops it at the end of the scope (deleteStream); disposing twice is harmless', async () => {
    server = await scriptedServer();
    await using client = new RtmpClient({ url: server.url });
    await client.connect();
    let player: Awaited<ReturnType<RtmpClient['play']>>;
    {
      await using playing = await client.play();
      player = playing;
      expect(playing.closed).toBe(false);
    }
    expect(player.closed).toBe(true);
    await player[Symbol.asyncDispose]();
    const peer = server.peers[0]!;
    await until(() => peer.commands.some((c) => c.name === 'deleteStream'), 5_000, 'deleteStream');
    expect(peer.commands.filter((c) => c.name === 'deleteStream')).toHaveLength(1);
    expect(client.connected).toBe(true);
  });
});
