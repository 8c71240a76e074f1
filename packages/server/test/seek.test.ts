// `seek` on a play stream: answered only when the handler can seek (`handleSeek`), as before otherwise.
import type { RtmpConnection, RtmpStatus } from '@rtmp/connection';
import { until } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import type { RtmpHandler, SeekInfo, StreamContext } from '../src/index.js';
import { connected, createStream, serverPerTest } from './raw-peer.js';

const servers = serverPerTest();

/** A connection playing `name` on a new stream; its statuses are collected. */
async function playing(
  port: number,
  name: string,
): Promise<{ c: RtmpConnection; id: number; statuses: RtmpStatus[] }> {
  const c = await connected(port);
  const id = await createStream(c);
  const statuses: RtmpStatus[] = [];
  c.on('status', (s) => statuses.push(s));
  c.sendCommand('play', 0, [null, name, 0], id);
  await until(() => statuses.some((s) => s.code === 'NetStream.Play.Start'));
  return { c, id, statuses };
}

describe('seek', () => {
  it('a handler that seeks gets the position; the player gets Seek.Notify; the session emits seek', async () => {
    const seeks: SeekInfo[] = [];
    const emitted: [StreamContext, number][] = [];
    const port = await servers.start({
      handler: (_o, session): RtmpHandler => {
        session.on('seek', (context, position) => emitted.push([context, position]));
        return { handleSeek: async (info) => void seeks.push(info) };
      },
    });
    const { c, id, statuses } = await playing(port, 'movie.mp4');
    c.sendCommand('seek', 0, [null, 1500], id);
    await until(() => statuses.some((s) => s.code === 'NetStream.Seek.Notify'));
    expect(seeks).toEqual([{ streamId: id, streamKey: 'movie.mp4', position: 1500 }]);
    expect(emitted).toEqual([[{ streamId: id, streamKey: 'movie.mp4' }, 1500]]);
    expect(statuses.at(-1)).toMatchObject({ level: 'status', code: 'NetStream.Seek.Notify' });
    c.destroy();
  });

  it('a handler that cannot seek returns false: Seek.Failed, the connection stays', async () => {
    const port = await servers.start({ handler: () => ({ handleSeek: () => false }) });
    const { c, id, statuses } = await playing(port, 'live-key');
    c.sendCommand('seek', 0, [null, 10], id);
    await until(() => statuses.some((s) => s.code === 'NetStream.Seek.Failed'));
    expect(statuses.at(-1)).toMatchObject({ level: 'error' });
    expect(c.closed).toBe(false);
    c.destroy();
  });

  it('without handleSeek: Call.Failed, as before', async () => {
    const port = await servers.start({ handler: () => ({}) });
    const { c, id } = await playing(port, 'x');
    await expect(c.call('seek', [null, 1000], { streamId: id })).rejects.toMatchObject({
      code: 'ERR_RTMP_CALL_FAILED',
    });
    c.destroy();
  });

  it('on a stream that does not play, or without a position: Call.Failed, the handler not called', async () => {
    const seeks: SeekInfo[] = [];
    const port = await servers.start({ handler: () => ({ handleSeek: (info) => void seeks.push(info) }) });
    const d = await connected(port);
    const idle = await createStream(d);
    await expect(d.call('seek', [null, 1000], { streamId: idle })).rejects.toMatchObject({
      code: 'ERR_RTMP_CALL_FAILED',
    });
    const { c, id } = await playing(port, 'y');
    for (const bad of [-1, 'x', null, Number.NaN]) {
      await expect(c.call('seek', [null, bad], { streamId: id })).rejects.toMatchObject({
        code: 'ERR_RTMP_CALL_FAILED',
      });
    }
    expect(seeks).toEqual([]);
    d.destroy();
    c.destroy();
  });
});
