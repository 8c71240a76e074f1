// The server's relay, play controls, stale publishers, commands and limits, driven by our client.
import * as net from 'node:net';
import type { RtmpMessage } from '@rtmp/chunk';
import type { RtmpClient, RtmpPlayer } from '@rtmp/client';
import type { RtmpError } from '@rtmp/connection';
import { classifyVideoTag, type TagKind } from '@rtmp/flv-demux';
import { type ClientSession, LiveRelay, RtmpServer, type RtmpServerOptions } from '@rtmp/server';
import { freezableProxy, until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type Recorded, recordingHandler } from '../../server/test/helpers/recorder.js';
import { aac, avc, connectedClient, statusOf } from './helpers/peers.js';

/** A video message as one letter: H sequence header, K keyframe, v any other frame. */
const VIDEO_LETTER: Record<TagKind, string> = {
  config: 'H',
  keyframe: 'K',
  frame: 'v',
  sequenceEnd: 'E',
  metadata: 'M',
  command: 'C',
  unknown: '?',
};

let server: RtmpServer | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await server?.stop();
  server = undefined;
});

/** {@link connectedClient}, destroyed after the test. */
async function client(port: number): Promise<RtmpClient> {
  const c = await connectedClient(port);
  cleanups.push(() => c.destroy());
  return c;
}

async function start(options: RtmpServerOptions): Promise<{ port: number; errors: RtmpError[] }> {
  server = new RtmpServer({ host: '127.0.0.1', port: 0, ...options });
  const errors: RtmpError[] = [];
  server.on('sessionError', (_s, e) => errors.push(e));
  return { port: await server.start(), errors };
}

function track(player: RtmpPlayer): RtmpMessage[] {
  const got: RtmpMessage[] = [];
  player.on('message', (m) => {
    // The tag header only (5 bytes: what classifyVideoTag reads of a legacy AVC tag).
    if (m.type === 8 || m.type === 9) got.push({ ...m, payload: m.payload.slice(0, 5) });
  });
  return got;
}

const tick = () => new Promise((r) => setImmediate(r));

describe('relay: a slow player', () => {
  it('is bounded by maxPlayerQueue, skipped to the next keyframe, then disconnected; others unaffected', async () => {
    const maxQueue = 256 * 1024;
    const frameSize = 32 * 1024;
    const relay = new LiveRelay({ maxPlayerQueue: maxQueue });
    const sessions = new Set<ClientSession>();
    let maxSeen = 0;
    let relayed = 0;
    const { port, errors } = await start({
      handler: relay.handler((_o, session) => {
        sessions.add(session);
        return {
          // Runs after the relay wrote the message to every player: sample each player's queue.
          handleMessage: () => {
            relayed++;
            for (const s of sessions) {
              if (s.playingStreams.length > 0) maxSeen = Math.max(maxSeen, s.connection.writableLength);
            }
          },
        };
      }),
    });
    const slowEvents: string[] = [];
    relay.on('slowPlayer', (key) => slowEvents.push(key));

    const fast = await client(port);
    const fastGot = track(await fast.play({ name: 'slow', demux: false }));
    const slow = await client(port);
    await slow.play({ name: 'slow', demux: false });
    const slowSocket = slow.connection!.socket;
    // Seen from the server: the paused client socket would never notice the close itself.
    const slowClosed = new Promise<void>((r) =>
      server!.on('disconnect', (session) => {
        if (session.remote.endsWith(`:${slowSocket.localPort}`)) r();
      }),
    );
    slowSocket.pause(); // stops reading: the kernel buffers fill, then the server's socket queue grows.

    const publisher = await client(port);
    const stream = await publisher.publish({ name: 'slow' });
    stream.write(9, 0, avc.header());
    const frames = 600;
    for (let i = 0; i < frames; i++) {
      stream.write(9, i * 40, avc.frame(i % 25 === 0, frameSize));
      // Pace the publisher a little so the fast reader is never the one behind.
      if (i % 4 === 0) await tick();
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => fastGot.length === frames + 1, 10_000, `fast player media (${fastGot.length})`);
    await slowClosed;
    expect(slowEvents).toEqual(['live/slow']);
    expect(errors.map((e) => e.code)).toEqual(['ERR_RTMP_SLOW_CONSUMER']);
    // Bounded: it stops growing within one message (plus chunk headers) of the limit.
    expect(maxSeen).toBeLessThanOrEqual(maxQueue + frameSize + 1024);
    expect(relayed).toBe(frames + 1);
    expect(publisher.connection?.closed).toBe(false);
    expect(fast.connection?.closed).toBe(false);
    // The fast player got every frame in order.
    expect(fastGot.map((m) => m.timestamp)).toEqual([0, ...Array.from({ length: frames }, (_, i) => i * 40)]);
    publisher.destroy();
    fast.destroy();
    slow.destroy();
  });
});

describe('play controls', () => {
  it('receiveAudio / receiveVideo / pause filter media; video resumes at a keyframe', async () => {
    const relay = new LiveRelay();
    let relayed = 0;
    const { port } = await start({
      handler: relay.handler(() => ({
        handleMessage: () => {
          relayed++;
        },
      })),
    });
    const player = await client(port);
    const played = await player.play({ name: 'ctl', demux: false });
    const got = track(played);
    const pid = played.streamId;
    const publisher = await client(port);
    const stream = await publisher.publish({ name: 'ctl' });
    // The client has no methods for these play controls: its connection core sends them.
    const controls = player.connection!;
    let sent = 0;
    let ts = 0;
    // Everything the relay wrote before answering this call is already in the player's TCP stream.
    const settle = async () => {
      await until(() => relayed >= sent, 2_000, 'relay');
      await controls.call('getStreamLength', [null, 'ctl']);
    };
    stream.write(9, 0, avc.header());
    stream.write(8, 0, aac.header());
    sent += 2;
    // One round: four video frames (the first a keyframe when `key`), each followed by an audio frame.
    const round = async (key = true) => {
      for (let i = 0; i < 4; i++) {
        ts += 20;
        stream.write(9, ts, avc.frame(key && i === 0, 100));
        stream.write(8, ts, aac.frame(50));
        sent += 2;
      }
      await settle();
    };
    let mark = 0;
    const since = () => {
      const out = got
        .slice(mark)
        .map((m) => (m.type === 9 ? VIDEO_LETTER[classifyVideoTag(m.payload).kind] : 'a'))
        .join('');
      mark = got.length;
      return out;
    };

    await round();
    expect(since()).toBe('HaKavavava'); // the two sequence headers, then the round

    controls.sendCommand('receiveAudio', 0, [null, false], pid);
    await round();
    expect(since()).toBe('Kvvv');

    controls.sendCommand('receiveAudio', 0, [null, true], pid);
    controls.sendCommand('receiveVideo', 0, [null, false], pid);
    await round();
    expect(since()).toBe('aaaa');

    // Video back on in the middle of a GOP: inter frames are skipped until the next keyframe, audio goes on.
    controls.sendCommand('receiveVideo', 0, [null, true], pid);
    await round(false);
    expect(since()).toBe('aaaa');
    await round();
    expect(since()).toBe('Kavavava');

    const paused = statusOf(player, 'NetStream.Pause.Notify');
    controls.sendCommand('pause', 0, [null, true, ts], pid);
    await paused;
    await round();
    expect(since()).toBe('');

    const unpaused = statusOf(player, 'NetStream.Unpause.Notify');
    controls.sendCommand('pause', 0, [null, false, ts], pid);
    await unpaused;
    await round(false);
    expect(since()).toBe('aaaa');
    await round();
    expect(since()).toBe('Kavavava');
    player.destroy();
    publisher.destroy();
  });
});

describe('stale publishers', () => {
  async function frozenPublisher(port: number, key: string) {
    const proxy = await freezableProxy(port);
    cleanups.push(() => proxy.close());
    const a = await client(proxy.port);
    const stream = await a.publish({ name: key });
    stream.write(9, 0, avc.header());
    stream.write(9, 0, avc.frame(true, 1000));
    await new Promise((r) => setTimeout(r, 50));
    // From here the server sees a peer that is silent but whose socket never closed (no FIN, no RST).
    proxy.freeze();
    return a;
  }

  it('a live key refuses a second publisher, but a dead one is replaced once stale', async () => {
    const relay = new LiveRelay({ stalePublisherTimeout: 600 });
    // Long idle timeout: only the relay's stale check can free the key in this test.
    const { port, errors } = await start({ handler: relay.handler(), idleTimeout: 30_000, pingInterval: 0 });
    await frozenPublisher(port, 'stale');
    expect(relay.isLive('live/stale')).toBe(true);

    const b = await client(port);
    await expect(b.publish({ name: 'stale' })).rejects.toThrow('NetStream.Publish.BadName');
    b.destroy();

    await new Promise((r) => setTimeout(r, 700));
    const c = await client(port);
    const { streamId: id } = await c.publish({ name: 'stale' });
    expect(id).toBe(1);
    expect(relay.isLive('live/stale')).toBe(true);
    await until(() => errors.some((e) => e.code === 'ERR_RTMP_STREAM_BUSY'), 5_000, 'stale publisher closed');
    expect(errors.map((e) => e.code).sort()).toEqual(['ERR_RTMP_PUBLISH_REJECTED', 'ERR_RTMP_STREAM_BUSY']);
    c.destroy();
  });

  it('pings detect a dead publisher and free its key within the idle timeout', async () => {
    const relay = new LiveRelay({ stalePublisherTimeout: 60_000 });
    const { port, errors } = await start({ handler: relay.handler(), idleTimeout: 800, pingInterval: 200 });
    await frozenPublisher(port, 'dead');
    const frozenAt = Date.now();
    await until(() => !relay.isLive('live/dead'), 3_000, 'key freed');
    // The idle timeout, not the 60 s stale-publisher one; the slack is for a loaded machine's timers.
    expect(Date.now() - frozenAt).toBeLessThan(800 + 1200);
    expect(errors.map((e) => e.code)).toEqual(['ERR_RTMP_PING_TIMEOUT']);
    const again = await client(port);
    await again.publish({ name: 'dead' });
    again.destroy();
  });
});

describe('commands', () => {
  it('closeStream ends a play and a publish on that stream only; FCSubscribe gets onFCSubscribe', async () => {
    const records: Recorded[] = [];
    const stops: string[] = [];
    const { port } = await start({
      handler: recordingHandler(records, () => ({
        handleStop: (context) => {
          stops.push(`${context.streamKey}@${context.streamId}`);
        },
      })),
    });
    const c = await client(port);
    const fc = new Promise<unknown[]>((resolve) =>
      c.on('command', (command) => {
        if (command.name === 'onFCSubscribe') resolve(command.args);
      }),
    );
    // FCSubscribe, closeStream and a publish on a given stream id are not in the client's API: its core sends them.
    const core = c.connection!;
    await core.call('FCSubscribe', [null, 'sub']);
    expect(await fc).toEqual([expect.objectContaining({ code: 'NetStream.Play.Start', description: 'sub' })]);

    const { streamId: play } = await c.play({ name: 'p', demux: false });
    const { streamId: pub } = await c.publish({ name: 'q' });
    core.sendCommand('closeStream', 0, [null], play);
    await until(() => stops.length === 1, 2_000, 'stop');
    expect(stops).toEqual([`p@${play}`]);
    expect(records[0]!.unpublished).toEqual([]);
    core.sendCommand('closeStream', 0, [null], pub);
    await until(() => records[0]!.unpublished.length === 1, 2_000, 'unpublish');
    // The stream id stays usable after closeStream: publish on it again.
    const again = statusOf(c, 'NetStream.Publish.Start');
    core.sendCommand('publish', 0, [null, 'q2', 'live'], pub);
    await again;
    c.destroy();
  });
});

describe('limits', () => {
  it('handshake timeout closes a silent socket; other sessions go on', async () => {
    const { port, errors } = await start({ handler: () => ({}), handshakeTimeout: 200 });
    const silent = net.connect(port, '127.0.0.1');
    silent.on('error', () => {});
    silent.resume();
    const started = Date.now();
    await new Promise((r) => silent.once('close', r));
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await until(() => errors.length === 1, 1_000, 'error');
    expect(errors.map((e) => e.code)).toEqual(['ERR_RTMP_HANDSHAKE_TIMEOUT']);
    // A half-sent handshake (C0 and part of C1) times out the same way.
    const half = net.connect(port, '127.0.0.1');
    half.on('error', () => {});
    half.resume();
    half.write(Buffer.alloc(100, 3));
    await new Promise((r) => half.once('close', r));
    await until(() => errors.length === 2, 1_000, 'error');
    expect(errors[1]!.code).toBe('ERR_RTMP_HANDSHAKE_TIMEOUT');
    const ok = await client(port);
    expect(ok.connection?.closed).toBe(false);
    ok.destroy();
  });

  it('idle timeout closes a connected client that sends nothing', async () => {
    const { port, errors } = await start({ handler: () => ({}), idleTimeout: 300, pingInterval: 0 });
    const c = await client(port);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    const started = Date.now();
    await closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    await until(() => errors.length === 1, 1_000, 'error');
    expect(errors[0]!.code).toBe('ERR_RTMP_IDLE_TIMEOUT');
  });

  it('maxMessageSize: a larger message ends that connection only', async () => {
    const records: Recorded[] = [];
    const { port, errors } = await start({
      handler: recordingHandler(records),
      maxMessageSize: 10_000,
      demux: false,
    });
    const big = await client(port);
    const stream = await big.publish({ name: 'big' });
    const other = await client(port);
    stream.write(9, 0, avc.frame(true, 9_000));
    await until(() => records[0]!.video.length === 1, 2_000, 'first frame');
    stream.write(9, 40, avc.frame(false, 10_001));
    await new Promise<void>((r) => big.once('close', () => r()));
    await until(() => errors.length === 1, 1_000, 'error');
    expect(errors.map((e) => e.code)).toEqual(['ERR_RTMP_MESSAGE_TOO_LARGE']);
    expect(records[0]!.video.map((v) => (v.kind === 'raw' ? v.body.byteLength : -1))).toEqual([9_000]);
    expect(records[0]!.disconnects.map((e) => e?.code)).toEqual(['ERR_RTMP_MESSAGE_TOO_LARGE']);
    expect((await other.connection!.call('getStreamLength', [null, 'x'])).args[0]).toBe(0);
    other.destroy();
  });

  it('maxConnections refuses the extra connection, then accepts again once one left', async () => {
    const refused: string[] = [];
    const { port } = await start({ handler: () => ({}), maxConnections: 2 });
    server!.on('connectionRefused', (e) => refused.push(e.code));
    const a = await client(port);
    const b = await client(port);
    const extra = net.connect(port, '127.0.0.1');
    extra.on('error', () => {});
    extra.resume();
    await new Promise((r) => extra.once('close', r));
    expect(refused).toEqual(['ERR_RTMP_MAX_CONNECTIONS']);
    a.destroy();
    await until(() => server!.sessions.size === 1, 2_000, 'a gone');
    const c = await client(port);
    c.destroy();
    b.destroy();
  });
});
