// Enhanced RTMP v2 connect negotiation between @rtmp/client and @rtmp/server, and what the server sees of a real
// legacy client (FFmpeg 5.1).
import {
  CapsEx,
  CLIENT_CAPABILITIES,
  FourCcInfo,
  type NegotiatedEnhancedRtmp,
  type RtmpClient,
} from '@rtmp/client';
import {
  acceptConnect,
  type ConnectInfo,
  type RtmpHandler,
  type RtmpServer,
  SERVER_CAPABILITIES,
} from '@rtmp/server';
import { ffmpegPublish, fixture, hasTool, until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { connectedClient } from './helpers/peers.js';
import { startRelayServer } from './helpers/relay.js';

const servers: RtmpServer[] = [];
const clients: RtmpClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function relayServer(inner?: () => RtmpHandler) {
  const started = await startRelayServer(inner ? { inner } : {});
  servers.push(started.server);
  return started;
}

async function client(
  port: number,
  options: Parameters<typeof connectedClient>[1] = {},
): Promise<RtmpClient> {
  const c = await connectedClient(port, options);
  clients.push(c);
  return c;
}

/** The server side of the only connection. */
function onlySession(server: RtmpServer) {
  const [session, ...more] = server.sessions;
  expect(more).toEqual([]);
  return session!;
}

describe('E-RTMP connect negotiation, our client and our server', () => {
  it('each side states its own capabilities and reads the other: the same settlement on both ends', async () => {
    const { server, port } = await relayServer();
    const c = await client(port);
    const fromClient = c.connectResult!.enhancedRtmp;
    expect(fromClient).toEqual({
      client: CLIENT_CAPABILITIES,
      server: SERVER_CAPABILITIES,
      capsEx: CapsEx.Multitrack | CapsEx.ModEx | CapsEx.TimestampNanoOffset,
    });
    const fromServer: NegotiatedEnhancedRtmp | undefined = onlySession(server).enhancedRtmp;
    expect(fromServer).toEqual(fromClient);
  });

  it("a handler narrows the server's answer per client; the client reads the narrowed one", async () => {
    const seen: ConnectInfo[] = [];
    const { port } = await relayServer(() => ({
      handleConnect: (info) => {
        seen.push(info);
        // Ask to state AV1 decoding too (the server only forwards: not granted), and withdraw Reconnect.
        return acceptConnect({
          videoFourCcInfoMap: { '*': FourCcInfo.CanForward, av01: FourCcInfo.CanDecode },
          audioFourCcInfoMap: { '*': FourCcInfo.CanForward },
          capsEx: (info.serverEnhancedRtmp?.capsEx ?? 0) & ~CapsEx.Reconnect,
        });
      },
    }));
    const c = await client(port, { capsEx: CapsEx.Multitrack });
    expect(seen[0]!.enhancedRtmp?.capsEx).toBe(CapsEx.Multitrack);
    expect(seen[0]!.serverEnhancedRtmp).toBe(SERVER_CAPABILITIES);
    // av01 CanDecode is not the server's to state (it only forwards): withdrawn; the rest as asked.
    expect(c.connectResult!.enhancedRtmp.server).toEqual({
      videoFourCcInfoMap: { '*': FourCcInfo.CanForward },
      audioFourCcInfoMap: { '*': FourCcInfo.CanForward },
      capsEx: CapsEx.Multitrack | CapsEx.ModEx | CapsEx.TimestampNanoOffset,
    });
    expect(c.connectResult!.enhancedRtmp.capsEx).toBe(CapsEx.Multitrack);
  });

  it('a client that announces nothing gets the legacy answer and settles nothing', async () => {
    const { server, port } = await relayServer();
    const c = await client(port, { enhancedRtmp: false });
    expect({ ...(c.connectResult!.properties as object) }).toEqual({
      fmsVer: 'FMS/3,0,1,123',
      capabilities: 31,
      mode: 1,
    });
    expect(c.connectResult!.enhancedRtmp).toEqual({ client: undefined, server: undefined, capsEx: 0 });
    expect(onlySession(server).enhancedRtmp).toEqual({ client: undefined, server: undefined, capsEx: 0 });
  });
});

describe.skipIf(!hasTool('ffmpeg'))('a real legacy client', () => {
  it('FFmpeg 5.1 announces nothing of E-RTMP: the handler sees nothing, the server states nothing', async () => {
    const seen: ConnectInfo[] = [];
    const { server, port } = await relayServer(() => ({ handleConnect: (info) => void seen.push(info) }));
    const sessions: (NegotiatedEnhancedRtmp | undefined)[] = [];
    server.on('publish', (session) => sessions.push(session.enhancedRtmp));
    const ffmpeg = ffmpegPublish(fixture('small_h264_aac.flv'), `rtmp://127.0.0.1:${port}/live/ffmpeg`);
    await until(() => sessions.length === 1, 15_000, 'FFmpeg published');
    ffmpeg.child.kill('SIGKILL');
    await ffmpeg.done;
    expect(seen[0]!.properties.flashVer).toMatch(/^FMLE\/3\.0/);
    expect(seen[0]!.enhancedRtmp).toBeUndefined();
    expect(seen[0]!.serverEnhancedRtmp).toBeUndefined();
    expect(sessions[0]).toEqual({ client: undefined, server: undefined, capsEx: 0 });
  });
});
