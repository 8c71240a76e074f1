// Enhanced RTMP v2 connect negotiation, server side: the server states its own capabilities (not the client's), a
// handler sees both and narrows the answer, and a client that announces nothing gets the legacy answer.
import { type AmfValue, createAmfObject, EcmaArray } from '@rtmp/amf';
import { fourCcFlags } from '@rtmp/connection';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acceptConnect,
  CapsEx,
  type ConnectInfo,
  type EnhancedRtmpCapabilities,
  FourCcInfo,
  LiveRelay,
  type RtmpError,
  RtmpServer,
  type RtmpServerOptions,
  reject,
  SERVER_CAPABILITIES,
} from '../src/index.js';
import { narrowCapabilities } from '../src/server/enhanced.js';
import { handshaken, serverPerTest } from './raw-peer.js';

const servers = serverPerTest();

const ALL_FOURCCS = [
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
];

/** Connects with `properties` in the command object; the command object of the server's `_result`. */
async function answerTo(
  port: number,
  properties: Record<string, AmfValue>,
): Promise<Record<string, AmfValue>> {
  const c = await handshaken(port);
  try {
    const reply = await c.call('connect', [{ app: 'live', ...properties }]);
    return { ...(reply.commandObject as Record<string, AmfValue>) };
  } finally {
    c.destroy();
  }
}

async function start(options: Partial<RtmpServerOptions> = {}, seen: ConnectInfo[] = []): Promise<number> {
  const relay = new LiveRelay();
  return servers.start({
    handler: relay.handler(() => ({ handleConnect: (info) => void seen.push(info) })),
    ...options,
  });
}

const LEGACY = { fmsVer: 'FMS/3,0,1,123', capabilities: 31, mode: 1 };
const STATED = {
  ...LEGACY,
  fourCcList: ALL_FOURCCS,
  videoFourCcInfoMap: { '*': FourCcInfo.CanForward },
  audioFourCcInfoMap: { '*': FourCcInfo.CanForward },
  capsEx: 15,
};

describe('the server states its own E-RTMP capabilities', () => {
  it('the default statement: every codec forwarded, every known FourCC, capsEx 15', () => {
    expect(SERVER_CAPABILITIES).toEqual({
      fourCcList: ALL_FOURCCS,
      videoFourCcInfoMap: { '*': 4 },
      audioFourCcInfoMap: { '*': 4 },
      capsEx: CapsEx.Reconnect | CapsEx.Multitrack | CapsEx.ModEx | CapsEx.TimestampNanoOffset,
    });
    expect(Object.isFrozen(SERVER_CAPABILITIES)).toBe(true);
  });

  it.each<[string, Record<string, AmfValue>]>([
    ['fourCcList only (FFmpeg 6.1+ with -rtmp_enhanced_codecs)', { fourCcList: ['hvc1'] }],
    ['capsEx only', { capsEx: CapsEx.Reconnect }],
    ['a video map only', { videoFourCcInfoMap: { av01: FourCcInfo.CanDecode } }],
    [
      'an audio map as an ECMA array',
      { audioFourCcInfoMap: new EcmaArray(Object.assign(createAmfObject(), { Opus: 1 })) },
    ],
    ['an empty fourCcList', { fourCcList: [] }],
    [
      'everything (OBS 30 style)',
      {
        fourCcList: ['av01', 'vp09', 'hvc1'],
        videoFourCcInfoMap: { '*': 4, av01: 3 },
        audioFourCcInfoMap: { Opus: 1 },
        capsEx: 15,
      },
    ],
  ])('to a client announcing %s: the server statement, not an echo', async (_name, announced) => {
    const port = await start();
    expect(await answerTo(port, announced)).toEqual(STATED);
  });

  it('to a client announcing nothing of E-RTMP, or only values of the wrong type: the legacy answer', async () => {
    const port = await start();
    expect(await answerTo(port, {})).toEqual(LEGACY);
    expect(await answerTo(port, { fourCcList: 'av01', capsEx: 'all', videoFourCcInfoMap: 5 })).toEqual(
      LEGACY,
    );
    expect(await answerTo(port, { capsEx: -1 })).toEqual(LEGACY);
  });

  it('the handler sees what the client announced (read leniently) and what the server will state', async () => {
    const seen: ConnectInfo[] = [];
    const port = await start({}, seen);
    await answerTo(port, {
      fourCcList: ['av01', 7, 'toolong', '*', 'Opus'],
      videoFourCcInfoMap: { av01: 3, hvc1: 'x', '*': 4, toolong: 1 },
      capsEx: 6,
    });
    await answerTo(port, { flashVer: 'FMLE/3.0' });
    expect(seen[0]!.enhancedRtmp).toEqual({
      fourCcList: ['av01', '*', 'Opus'],
      videoFourCcInfoMap: { av01: 3, '*': 4 },
      capsEx: 6,
    });
    expect(seen[0]!.serverEnhancedRtmp).toBe(SERVER_CAPABILITIES);
    expect(seen[1]!.enhancedRtmp).toBeUndefined();
    expect(seen[1]!.serverEnhancedRtmp).toBeUndefined();
  });

  it('a long list or map is read up to 64 entries', async () => {
    const seen: ConnectInfo[] = [];
    const port = await start({}, seen);
    const many = Array.from({ length: 100 }, (_, i) => `c${String(i).padStart(3, '0')}`);
    await answerTo(port, {
      fourCcList: many,
      audioFourCcInfoMap: Object.fromEntries(many.map((f) => [f, 1])),
    });
    expect(seen[0]!.enhancedRtmp?.fourCcList).toEqual(many.slice(0, 64));
    expect(Object.keys(seen[0]!.enhancedRtmp?.audioFourCcInfoMap ?? {})).toEqual(many.slice(0, 64));
  });

  it('session.enhancedRtmp: both statements and the capsEx bits both made', async () => {
    const port = await start();
    const c = await handshaken(port);
    await c.call('connect', [{ app: 'live', capsEx: CapsEx.Multitrack | CapsEx.ModEx | 0x100 }]);
    const [session] = [...servers.server.sessions];
    expect(session!.enhancedRtmp).toEqual({
      client: { capsEx: 0x106 },
      server: SERVER_CAPABILITIES,
      capsEx: CapsEx.Multitrack | CapsEx.ModEx,
    });
    expect(session!.canReconnect).toBe(false);
    c.destroy();

    const legacy = await handshaken(port);
    await legacy.call('connect', [{ app: 'live' }]);
    const other = [...servers.server.sessions].find((s) => s !== session);
    expect(other!.enhancedRtmp).toEqual({ client: undefined, server: undefined, capsEx: 0 });
    legacy.destroy();
  });

  it('the enhancedRtmp option replaces the statement; false states nothing', async () => {
    const custom: EnhancedRtmpCapabilities = {
      videoFourCcInfoMap: { av01: FourCcInfo.CanForward },
      capsEx: CapsEx.Multitrack,
    };
    let port = await start({ enhancedRtmp: custom });
    expect(await answerTo(port, { capsEx: 15, fourCcList: ['av01'] })).toEqual({
      ...LEGACY,
      videoFourCcInfoMap: { av01: 4 },
      capsEx: 2,
    });
    await servers.server.stop();
    port = await start({ enhancedRtmp: false });
    expect(await answerTo(port, { capsEx: 15, fourCcList: ['av01'] })).toEqual(LEGACY);
  });

  it.each<[string, unknown]>([
    ['not an object', 5],
    ['a fourCcList that is not a list', { fourCcList: 'av01' }],
    ['a fourCcList entry that is no FourCC', { fourCcList: ['av1'] }],
    ['a map that is not an object', { videoFourCcInfoMap: [4] }],
    ['a map key that is no FourCC', { audioFourCcInfoMap: { opus1: 4 } }],
    ['a map value that is no integer', { audioFourCcInfoMap: { Opus: 1.5 } }],
    ['a negative capsEx', { capsEx: -1 }],
  ])('an enhancedRtmp option with %s is ERR_RTMP_INVALID_OPTION', (_name, option) => {
    expect(
      () => new RtmpServer({ handler: () => ({}), enhancedRtmp: option as EnhancedRtmpCapabilities }),
    ).toThrow(expect.objectContaining({ code: 'ERR_RTMP_INVALID_OPTION' }) as RtmpError);
  });
});

describe('the connect decision narrows the statement', () => {
  async function withDecision(
    decide: (info: ConnectInfo) => ReturnType<typeof acceptConnect> | ReturnType<typeof reject> | undefined,
  ): Promise<number> {
    return servers.start({ handler: new LiveRelay().handler(() => ({ handleConnect: decide })) });
  }

  it('withdraws capsEx bits and codecs; never adds what the server does not state', async () => {
    const port = await withDecision(() =>
      acceptConnect({
        fourCcList: ['av01', 'Opus', 'zzzz'],
        videoFourCcInfoMap: { av01: FourCcInfo.CanForward | FourCcInfo.CanDecode },
        capsEx: CapsEx.Multitrack | CapsEx.ModEx | 0x40,
      }),
    );
    expect(await answerTo(port, { capsEx: 15 })).toEqual({
      ...LEGACY,
      fourCcList: ['av01', 'Opus'],
      videoFourCcInfoMap: { av01: FourCcInfo.CanForward },
      capsEx: CapsEx.Multitrack | CapsEx.ModEx,
    });
  });

  it('acceptConnect(false) states nothing; it cannot make a legacy client get E-RTMP', async () => {
    let port = await withDecision(() => acceptConnect(false));
    expect(await answerTo(port, { capsEx: 15 })).toEqual(LEGACY);
    await servers.server.stop();
    port = await withDecision(() => acceptConnect(SERVER_CAPABILITIES));
    expect(await answerTo(port, {})).toEqual(LEGACY);
  });

  it('narrowing per client: a client without Reconnect is told nothing of it', async () => {
    const port = await withDecision((info) =>
      info.serverEnhancedRtmp && ((info.enhancedRtmp?.capsEx ?? 0) & CapsEx.Reconnect) === 0
        ? acceptConnect({
            ...info.serverEnhancedRtmp,
            capsEx: (info.serverEnhancedRtmp.capsEx ?? 0) & ~CapsEx.Reconnect,
          })
        : undefined,
    );
    expect((await answerTo(port, { capsEx: CapsEx.Multitrack })).capsEx).toBe(14);
    expect((await answerTo(port, { capsEx: CapsEx.Reconnect })).capsEx).toBe(15);
  });

  it('a refusal still refuses', async () => {
    const port = await withDecision(() => reject('no'));
    const c = await handshaken(port);
    await expect(c.call('connect', [{ app: 'live', capsEx: 15 }])).rejects.toMatchObject({
      code: 'ERR_RTMP_CALL_FAILED',
    });
    c.destroy();
  });
});

describe('narrowCapabilities', () => {
  const fourCc = fc.constantFrom('av01', 'hvc1', 'avc1', 'Opus', '*');
  const map = fc.dictionary(fourCc, fc.integer({ min: 0, max: 7 }), { maxKeys: 5 });

  it('gives each FourCC exactly the flags both sides give it, wildcards included', () => {
    fc.assert(
      fc.property(map, map, (wanted, server) => {
        const narrowed = narrowCapabilities({ videoFourCcInfoMap: server }, { videoFourCcInfoMap: wanted });
        for (const f of ['av01', 'hvc1', 'avc1', 'Opus', 'vp09']) {
          expect(fourCcFlags(narrowed.videoFourCcInfoMap, f)).toBe(
            fourCcFlags(wanted, f) & fourCcFlags(server, f),
          );
        }
      }),
    );
  });

  it('fourCcList: the wanted entries the server lists; a wildcard on either side', () => {
    expect(narrowCapabilities({ fourCcList: ['av01', 'Opus'] }, { fourCcList: ['Opus', 'hvc1'] })).toEqual({
      fourCcList: ['Opus'],
    });
    expect(narrowCapabilities({ fourCcList: ['*'] }, { fourCcList: ['hvc1'] })).toEqual({
      fourCcList: ['hvc1'],
    });
    expect(narrowCapabilities({ fourCcList: ['av01'] }, { fourCcList: ['*'] })).toEqual({
      fourCcList: ['av01'],
    });
    expect(narrowCapabilities({ capsEx: 3 }, { fourCcList: ['av01'], capsEx: 6 })).toEqual({ capsEx: 2 });
  });
});
