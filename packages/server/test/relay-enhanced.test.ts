import * as net from 'node:net';
import { RtmpConnection, type RtmpStatus } from '@rtmp/connection';
import { FlvReader, wrapSetDataFrame } from '@rtmp/flv-demux';
import { readFixture, until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveRelay, RtmpServer } from '../src/index.js';
import { describeTag, expectedForJoiner, syntheticStream, type Tag } from './helpers/relay-model.js';

// Publisher -> RtmpServer + LiveRelay -> players over TCP, both ends on RtmpConnection (the connection core): the
// players' recorded tags must be the source's, tag for tag, for a player there from the start and one joining
// mid-stream.

let server: RtmpServer | undefined;
const connections: RtmpConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) c.close();
  await server?.stop();
  server = undefined;
});

async function connect(port: number): Promise<RtmpConnection> {
  const c = new RtmpConnection(net.connect(port, '127.0.0.1'), { role: 'client' });
  connections.push(c);
  await new Promise<void>((resolve, reject) => {
    c.once('ready', () => resolve());
    c.once('close', (e) => reject(e ?? new Error('closed before ready')));
  });
  await c.call('connect', [{ app: 'live', tcUrl: `rtmp://127.0.0.1:${port}/live` }]);
  return c;
}

/** createStream then publish or play `key`; resolves with the stream id once the start status came. */
async function start(c: RtmpConnection, command: 'publish' | 'play', key: string): Promise<number> {
  const id = (await c.call('createStream', [null])).args[0] as number;
  const want = command === 'publish' ? 'NetStream.Publish.Start' : 'NetStream.Play.Start';
  const started = new Promise<void>((resolve, reject) => {
    const on = (s: RtmpStatus) => {
      if (s.level !== 'error' && s.code !== want) return;
      c.off('status', on);
      if (s.level === 'error') reject(new Error(s.code));
      else resolve();
    };
    c.on('status', on);
  });
  c.sendCommand(command, 0, command === 'publish' ? [null, key, 'live'] : [null, key], id);
  await started;
  return id;
}

/** The audio, video and data messages a player receives (data as sent, `|RtmpSampleAccess` left out). */
function record(c: RtmpConnection): Tag[] {
  const tags: Tag[] = [];
  c.on('message', (m) => {
    if (m.type === 8 || m.type === 9)
      tags.push({ type: m.type, timestamp: m.timestamp, body: m.payload.slice() });
  });
  c.on('data', (d) => {
    if (d.values[0] !== '|RtmpSampleAccess')
      tags.push({ type: 18, timestamp: d.timestamp, body: d.payload.slice() });
  });
  return tags;
}

async function send(c: RtmpConnection, streamId: number, tags: readonly Tag[]): Promise<void> {
  for (const tag of tags) {
    // Publishers wrap metadata in @setDataFrame; the server strips it before the relay.
    const payload = tag.type === 18 ? wrapSetDataFrame(tag.body) : tag.body;
    if (!c.send({ type: tag.type, streamId, timestamp: tag.timestamp, payload })) {
      await new Promise((resolve) => c.once('drain', () => resolve(undefined)));
    }
  }
}

/**
 * Publishes `source` to a relay; one player plays from the start, a second joins after `joinAt` tags. Returns what
 * each received once every expected tag arrived.
 */
async function relayOverTcp(source: readonly Tag[], joinAt: number): Promise<{ first: Tag[]; late: Tag[] }> {
  const relay = new LiveRelay({ maxGopBytes: 1 << 30 });
  server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: relay.handler() });
  const port = await server.start();
  const firstPlayer = await connect(port);
  const first = record(firstPlayer);
  await start(firstPlayer, 'play', 'k');
  const publisher = await connect(port);
  const streamId = await start(publisher, 'publish', 'k');
  await send(publisher, streamId, source.slice(0, joinAt));
  // Every tag so far went through the relay once the first player has what it should have by now.
  const before = expectedForJoiner(source.slice(0, joinAt), 0).length;
  await until(() => first.length >= before, 10_000, `the first ${before} tags`);
  const latePlayer = await connect(port);
  const late = record(latePlayer);
  await start(latePlayer, 'play', 'k');
  await until(() => relay.stats('live/k')?.players === 2, 10_000, 'the late player');
  await send(publisher, streamId, source.slice(joinAt));
  const wantFirst = expectedForJoiner(source, 0).length;
  const wantLate = expectedForJoiner(source, joinAt).length;
  await until(() => first.length >= wantFirst && late.length >= wantLate, 10_000, 'every tag');
  return { first, late };
}

async function check(source: readonly Tag[], joinAt: number): Promise<void> {
  const { first, late } = await relayOverTcp(source, joinAt);
  expect(first.map(describeTag)).toEqual(expectedForJoiner(source, 0).map(describeTag));
  expect(late.map(describeTag)).toEqual(expectedForJoiner(source, joinAt).map(describeTag));
}

function fixtureTags(name: string): Tag[] {
  return new FlvReader()
    .push(readFixture(name))
    .filter((t): t is typeof t & { type: 8 | 9 | 18 } => t.type === 8 || t.type === 9 || t.type === 18)
    .map((t) => ({ type: t.type, timestamp: t.timestamp, body: t.body }));
}

describe('E-RTMP through the relay over TCP (RtmpConnection publisher and players)', () => {
  it.each(['enhanced/av1_opus_testsrc.flv', 'enhanced/av1_opus_mptestsrc.flv'])(
    'the E-RTMP lab file %s, players from the start and mid-GOP',
    async (name) => {
      const source = fixtureTags(name);
      await check(source, Math.floor(source.length / 2) + 3);
    },
  );

  it('a StreamMuxer multitrack stream: avc + hvc1 video, mp4a + Opus audio, ModEx nano offsets, resolution change, end of sequence', async () => {
    const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
    const source = syntheticStream({
      video: [
        {
          codec: 'avc',
          track: 0,
          init: Uint8Array.of(1, 0x64, 0, 0x1f, 0xff),
          changed: Uint8Array.of(1, 0x64, 0, 0x28, 0xff),
        },
        {
          codec: 'hevc',
          track: 1,
          init: Uint8Array.of(1, 1, 0x60),
          changed: Uint8Array.of(1, 1, 0x61),
          colorInfo: true,
        },
      ],
      audio: [
        { codec: 'aac', track: 1, init: Uint8Array.of(0x12, 0x10) },
        { codec: 'opus', track: 2, init: Uint8Array.from([...ascii('OpusHead'), 1, 2]), channelConfig: true },
      ],
      frames: 60,
      gop: 15,
      nano: true,
      changeAt: 30,
      endAt: 50,
    });
    // Join after the resolution change, mid-GOP.
    await check(
      source,
      source.findIndex((t) => t.timestamp === 36 * 40),
    );
  });

  it('legacy H.264 + AAC as before', async () => {
    const source = fixtureTags('small_h264_aac.flv');
    await check(source, 137);
  });
});
