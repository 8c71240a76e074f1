// ClientSession.sendDemuxed with our client as the player: the state checks before and after play.
import { type ClientSession, RtmpServer } from '@rtmp/server';
import { until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { connectedClient } from './helpers/peers.js';

let server: RtmpServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('ClientSession.sendDemuxed', () => {
  it('refuses a sample before its codec event, and sends nothing to a stream that is not playing', async () => {
    const sessions: ClientSession[] = [];
    server = new RtmpServer({
      host: '127.0.0.1',
      port: 0,
      handler: (_o, session) => {
        sessions.push(session);
        return {};
      },
    });
    const port = await server.start();
    const c = await connectedClient(port, { tcUrl: 'rtmp://x/live' });
    const sample = {
      kind: 'audio' as const,
      codec: 'aac' as const,
      track: 0,
      timestamp: 0,
      payload: new Uint8Array(4),
      timestampOffsetNano: 0,
    };
    const session = sessions[0]!;
    expect(session.sendDemuxed(sample)).toBe(false);
    await c.play({ name: 'x', demux: false });
    expect(() => session.sendDemuxed(sample)).toThrow(
      expect.objectContaining({ code: 'ERR_RTMP_INVALID_STATE' }),
    );
    // Every media message of the connection, as the core receives them.
    const received: number[] = [];
    c.connection!.on('message', (m) => received.push(m.type, m.payload.byteLength));
    const config = new Uint8Array([0x12, 0x10]);
    expect(
      session.sendDemuxed({
        kind: 'codec',
        mediaType: 'audio',
        codec: 'aac',
        track: 0,
        timestamp: 0,
        initData: config,
        info: { codec: 'mp4a.40.2' } as never,
      }),
    ).toBe(true);
    expect(session.sendDemuxed(sample)).toBe(true);
    await until(() => received.length === 4, 2_000, 'media');
    // AAC sequence header: 2-byte tag header + config; frame: 2 + 4.
    expect(received).toEqual([8, 4, 8, 6]);
    c.destroy();
  });
});
