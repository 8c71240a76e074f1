// Enhanced RTMP v2 connect negotiation, client side: what the client announces by default and on request, and how
// it reads the server's statement. Servers here are the connection core in the server role, answering `connect`
// with a given command object.
import * as net from 'node:net';
import type { AmfValue } from '@rtmp/amf';
import { type RtmpCommand, RtmpConnection } from '@rtmp/connection';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CapsEx,
  CLIENT_CAPABILITIES,
  FourCcInfo,
  RtmpClient,
  type RtmpClientError,
  type RtmpClientOptions,
} from '../src/index.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server answering `connect` with `answer` as its command object; the connect commands it received. */
async function answeringServer(
  answer: Record<string, AmfValue>,
): Promise<{ url: string; connects: RtmpCommand[] }> {
  const connects: RtmpCommand[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    const connection = new RtmpConnection(socket, { role: 'server', idleTimeout: 0 });
    connection.on('command', (command) => {
      if (command.name !== 'connect') return;
      connects.push(command);
      connection.reply(command, [answer, { level: 'status', code: 'NetConnection.Connect.Success' }]);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `rtmp://127.0.0.1:${(server.address() as net.AddressInfo).port}/live/k`, connects };
}

async function connectTo(url: string, options: Omit<RtmpClientOptions, 'url'> = {}) {
  const client = new RtmpClient({ url, ...options });
  cleanups.push(() => client.destroy());
  return client.connect();
}

const E_RTMP_KEYS = ['fourCcList', 'videoFourCcInfoMap', 'audioFourCcInfoMap', 'capsEx'];

describe('what the client announces', () => {
  it('by default: every known FourCC, every codec forwarded, capsEx Multitrack | ModEx | TimestampNanoOffset', async () => {
    expect(CLIENT_CAPABILITIES).toEqual({
      fourCcList: [
        'avc1',
        'hvc1',
        'vvc1',
        'av01',
        'vp09',
        'vp08',
        'mp4a',
        'Opus',
        'fLaC',
        'ac-3',
        'ec-3',
        '.mp3',
      ],
      videoFourCcInfoMap: { '*': FourCcInfo.CanForward },
      audioFourCcInfoMap: { '*': FourCcInfo.CanForward },
      capsEx: CapsEx.Multitrack | CapsEx.ModEx | CapsEx.TimestampNanoOffset,
    });
    const server = await answeringServer({ fmsVer: 'X/1' });
    await connectTo(server.url);
    expect(server.connects[0]!.commandObject).toMatchObject(CLIENT_CAPABILITIES);
  });

  it('each option replaces its default; properties still override last', async () => {
    const server = await answeringServer({ fmsVer: 'X/1' });
    const result = await connectTo(server.url, {
      capsEx: CapsEx.Reconnect,
      videoFourCcInfoMap: { av01: FourCcInfo.CanDecode },
      properties: { fourCcList: ['av01'] },
    });
    expect(server.connects[0]!.commandObject).toMatchObject({
      fourCcList: ['av01'],
      videoFourCcInfoMap: { av01: 1 },
      audioFourCcInfoMap: { '*': 4 },
      capsEx: 1,
    });
    expect(result.enhancedRtmp.client).toEqual({
      fourCcList: ['av01'],
      videoFourCcInfoMap: { av01: 1 },
      audioFourCcInfoMap: { '*': 4 },
      capsEx: 1,
    });
  });

  it('enhancedRtmp: false sends a legacy connect; with an E-RTMP option it is ERR_RTMP_INVALID_OPTION', async () => {
    const server = await answeringServer({ fmsVer: 'X/1', capsEx: 15 });
    const result = await connectTo(server.url, { enhancedRtmp: false });
    const sent = server.connects[0]!.commandObject as Record<string, AmfValue>;
    for (const key of E_RTMP_KEYS) expect(sent).not.toHaveProperty(key);
    expect(result.enhancedRtmp).toEqual({ client: undefined, server: { capsEx: 15 }, capsEx: 0 });
    expect(() => new RtmpClient({ url: server.url, enhancedRtmp: false, capsEx: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_RTMP_INVALID_OPTION' }) as RtmpClientError,
    );
  });
});

describe("the server's statement", () => {
  it('is read into connect().enhancedRtmp and connectResult, with the capsEx bits both stated', async () => {
    const server = await answeringServer({
      fmsVer: 'X/1',
      fourCcList: ['av01', 'Opus'],
      videoFourCcInfoMap: { '*': 4, av01: 1 },
      audioFourCcInfoMap: { Opus: 4 },
      capsEx: CapsEx.Reconnect | CapsEx.Multitrack,
    });
    const client = new RtmpClient({ url: server.url });
    cleanups.push(() => client.destroy());
    const result = await client.connect();
    expect(result.enhancedRtmp.server).toEqual({
      fourCcList: ['av01', 'Opus'],
      videoFourCcInfoMap: { '*': 4, av01: 1 },
      audioFourCcInfoMap: { Opus: 4 },
      capsEx: 3,
    });
    expect(result.enhancedRtmp.capsEx).toBe(CapsEx.Multitrack);
    expect(client.connectResult?.enhancedRtmp).toBe(result.enhancedRtmp);
  });

  it('a server that states nothing of E-RTMP (nginx-rtmp, FMS): server undefined, no capsEx', async () => {
    const server = await answeringServer({ fmsVer: 'FMS/3,0,1,123', capabilities: 31 });
    const result = await connectTo(server.url);
    expect(result.enhancedRtmp.server).toBeUndefined();
    expect(result.enhancedRtmp.capsEx).toBe(0);
    expect(result.enhancedRtmp.client).toEqual(CLIENT_CAPABILITIES);
  });

  it('values of the wrong type count as absent (read leniently, never a failed connect)', async () => {
    const server = await answeringServer({
      fourCcList: 'av01',
      capsEx: 'x',
      videoFourCcInfoMap: { av01: 'y' },
    });
    const result = await connectTo(server.url);
    expect(result.enhancedRtmp.server).toEqual({ videoFourCcInfoMap: {} });
    expect(result.status.code).toBe('NetConnection.Connect.Success');
  });
});
