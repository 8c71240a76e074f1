import { Buffer } from 'node:buffer';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { RtmpConnection } from '@rtmp/connection';
import { FlvReader } from '@rtmp/flv-demux';
import { ffmpegPlay, ffmpegPublish, fixture, hasTool, readFixture, run, until } from '@rtmp/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LiveRelay, type LiveRelayOptions, type RtmpHandler, RtmpServer } from '../src/index.js';
import { describeTag, expectedForJoiner, syntheticStream, type Tag } from './helpers/relay-model.js';
import { connectLive, recordTags, sendTags, startStream } from './helpers/rtmp-peers.js';
import { RecordingSubscriber, TestPublisher } from './helpers/subscriber.js';

// Subscribers and non-session publishers of a relay inside a real RtmpServer, against real peers: FFmpeg publishing
// and playing, ffprobe reading what a subscriber serialized, RTMP players on the connection core.

const haveTools = hasTool('ffmpeg') && hasTool('ffprobe');

let server: RtmpServer | undefined;
const connections: RtmpConnection[] = [];
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtmp-subscribers-'));
});
afterEach(async () => {
  for (const c of connections.splice(0)) c.close();
  await server?.stop();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function startRelay(
  options: LiveRelayOptions = {},
  inner?: () => RtmpHandler,
): Promise<{ relay: LiveRelay; port: number; events: string[] }> {
  const relay = new LiveRelay(options);
  const events: string[] = [];
  relay.on('demand', (key) => events.push(`demand ${key}`));
  relay.on('idle', (key) => events.push(`idle ${key}`));
  server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: relay.handler(inner) });
  return { relay, port: await server.start(), events };
}

async function player(
  port: number,
  key: string,
): Promise<{ connection: RtmpConnection; tags: Tag[]; streamId: number }> {
  const connection = await connectLive(port);
  connections.push(connection);
  const tags = recordTags(connection);
  const streamId = await startStream(connection, 'play', key);
  return { connection, tags, streamId };
}

/** ffprobe's packets of a file, as the `.packets.csv` oracles list them. */
async function packetsCsv(file: string): Promise<string[]> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-show_entries', 'packet=codec_type,stream_index,pts,dts,size,flags'],
    ...['-of', 'csv=p=0', file],
  ]).done;
  return stdout
    .trim()
    .split('\n')
    .map((l) => l.replace(/,+$/, ''));
}

const oracle = () =>
  readFileSync(fixture('small_h264_aac.packets.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.replace(/,+$/, ''));

function fixtureTags(name: string): Tag[] {
  return new FlvReader()
    .push(readFixture(name))
    .filter((t): t is typeof t & { type: 8 | 9 | 18 } => t.type === 8 || t.type === 9 || t.type === 18)
    .map((t) => ({ type: t.type, timestamp: t.timestamp, body: t.body }));
}

/** An FLV file (header with audio and video flags, PreviousTagSize0) of the FLV tags a subscriber received. */
function flvFile(subscriber: RecordingSubscriber): Buffer {
  const header = Buffer.from([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]);
  return Buffer.concat([header, ...subscriber.items.map((item) => item.flvTag())]);
}

describe.skipIf(!haveTools)('subscribers of a relay fed by FFmpeg', () => {
  it('an HTTP-FLV-like subscriber: ffprobe reads its FLV tags packet for packet; it got what an RTMP player got', async () => {
    const { relay, port, events } = await startRelay();
    const flv = new RecordingSubscriber('http-flv');
    const ws = new RecordingSubscriber('ws-flv');
    relay.subscribe('live/flv', flv);
    relay.subscribe('live/flv', ws);
    const rtmp = await player(port, 'flv');
    const published = await ffmpegPublish(fixture('small_h264_aac.flv'), `rtmp://127.0.0.1:${port}/live/flv`)
      .done;
    expect(published.code, published.stderr).toBe(0);
    await until(() => flv.ended !== undefined, 10_000, 'the end of the stream');
    await until(() => rtmp.tags.length >= flv.tags.length, 10_000, 'the RTMP player');
    expect(rtmp.tags.map(describeTag)).toEqual(flv.tags.map(describeTag));
    expect(ws.items).toEqual(flv.items);
    for (const [i, item] of flv.items.entries()) expect(ws.items[i]!.flvTag()).toBe(item.flvTag());
    const file = path.join(dir, 'subscriber.flv');
    writeFileSync(file, flvFile(flv));
    expect(await packetsCsv(file)).toEqual(oracle());
    expect(events).toEqual(['demand live/flv', 'idle live/flv']);
    expect(relay.stats()).toEqual([]);
  });
});

describe('subscribers and RTMP players over TCP (connection-core publisher), E-RTMP', () => {
  const multitrack = () =>
    syntheticStream({
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
        { codec: 'opus', track: 2, init: Uint8Array.of(0x4f, 0x70, 0x75, 0x73, 1, 2), channelConfig: true },
      ],
      frames: 60,
      gop: 15,
      nano: true,
      changeAt: 30,
      endAt: 50,
    });

  it.each([
    ['a StreamMuxer multitrack stream (avc + hvc1, mp4a + Opus, ModEx, change, end)', multitrack],
    ['the E-RTMP lab AV1 + Opus file', () => fixtureTags('enhanced/av1_opus_testsrc.flv')],
    ['the legacy H.264 + AAC fixture', () => fixtureTags('small_h264_aac.flv')],
  ])('%s: from the start and mid-stream, a subscriber gets what an RTMP player gets', async (_name, make) => {
    const source = make();
    const joinAt = Math.floor(source.length / 2) + 3;
    const { relay, port } = await startRelay({ maxGopBytes: 1 << 30 });
    const first = { rtmp: await player(port, 'k'), subscriber: new RecordingSubscriber('ws-flv') };
    relay.subscribe('live/k', first.subscriber);
    const publisher = await connectLive(port);
    connections.push(publisher);
    const streamId = await startStream(publisher, 'publish', 'k');
    await sendTags(publisher, streamId, source.slice(0, joinAt));
    const before = expectedForJoiner(source.slice(0, joinAt), 0).length;
    await until(() => first.rtmp.tags.length >= before, 10_000, `the first ${before} tags`);
    const late = { rtmp: await player(port, 'k'), subscriber: new RecordingSubscriber('http-flv') };
    relay.subscribe('live/k', late.subscriber);
    await until(() => relay.stats('live/k')?.players === 4, 10_000, 'the late player');
    await sendTags(publisher, streamId, source.slice(joinAt));
    const wantFirst = expectedForJoiner(source, 0).map(describeTag);
    const wantLate = expectedForJoiner(source, joinAt).map(describeTag);
    await until(
      () => first.rtmp.tags.length >= wantFirst.length && late.rtmp.tags.length >= wantLate.length,
      10_000,
      'every tag',
    );
    expect(first.rtmp.tags.map(describeTag)).toEqual(wantFirst);
    expect(first.subscriber.tags.map(describeTag)).toEqual(wantFirst);
    expect(late.rtmp.tags.map(describeTag)).toEqual(wantLate);
    expect(late.subscriber.tags.map(describeTag)).toEqual(wantLate);
    expect({ ...relay.stats('live/k')!.playersByProtocol }).toEqual({ rtmp: 2, 'ws-flv': 1, 'http-flv': 1 });
  });
});

describe.skipIf(!haveTools)('a publisher that is not a session', () => {
  it('feeds an FFmpeg player every packet: started on demand, as a pull would be', async () => {
    const { relay, port, events } = await startRelay();
    const source = fixtureTags('small_h264_aac.flv');
    const pull = new TestPublisher();
    relay.on('demand', (key) => {
      if (key !== 'live/pulled') return;
      // An upstream that delivers in bursts, off the demand callback, as a client playing an origin would.
      setImmediate(async () => {
        expect(relay.publish(key, pull)).toBe(true);
        for (let i = 0; i < source.length; i += 25) {
          for (const tag of source.slice(i, i + 25)) {
            relay.push(key, pull, {
              type: tag.type,
              streamId: 1,
              timestamp: tag.timestamp,
              payload: tag.body,
            });
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        relay.unpublish(key, pull);
      });
    });
    const out = path.join(dir, 'pulled.flv');
    const played = await ffmpegPlay(`rtmp://127.0.0.1:${port}/live/pulled`, out).done;
    expect(played.code, played.stderr).toBe(0);
    expect(await packetsCsv(out)).toEqual(oracle());
    await until(() => events.includes('idle live/pulled'), 5_000, 'idle');
    expect(events).toEqual(['demand live/pulled', 'idle live/pulled']);
  });

  it('a stale one is replaced by an FFmpeg publisher, a fresh one refuses it (BadName); subscribers stay', async () => {
    const { relay, port } = await startRelay({ stalePublisherTimeout: 400 });
    const url = `rtmp://127.0.0.1:${port}/live/stale`;
    const subscriber = new RecordingSubscriber('hls');
    relay.subscribe('live/stale', subscriber);
    const pull = new TestPublisher();
    expect(relay.publish('live/stale', pull)).toBe(true);
    // The publisher stays fresh (a message every 100 ms, under the 400 ms stale timeout) for as long as FFmpeg's
    // first attempt takes, however slow FFmpeg is to start on a loaded machine; then it falls silent and goes stale.
    const sendHeader = () =>
      relay.push('live/stale', pull, {
        type: 9,
        streamId: 0,
        timestamp: 0,
        payload: Uint8Array.of(0x17, 0, 0, 0, 0),
      });
    sendHeader();
    const keepFresh = setInterval(sendHeader, 100);
    let refused: Awaited<ReturnType<typeof ffmpegPublish>['done']>;
    try {
      refused = await ffmpegPublish(fixture('small_h264_aac.flv'), url).done;
    } finally {
      clearInterval(keepFresh);
    }
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('NetStream.Publish.BadName');
    expect(pull.closedWith).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 450));
    const published = await ffmpegPublish(fixture('small_h264_aac.flv'), url).done;
    expect(published.code, published.stderr).toBe(0);
    expect(pull.closedWith?.code).toBe('ERR_RTMP_STREAM_BUSY');
    await until(() => subscriber.ended !== undefined, 5_000, 'the end of the stream');
    // It stayed through the replacement and got FFmpeg's stream from its first keyframe: all 100 video frames.
    const frames = subscriber.tags.filter((t) => t.type === 9 && t.body[1] === 1);
    expect(frames.length).toBe(100);
    expect(frames[0]!.body[0]).toBe(0x17);
  });
});

describe('demand and idle with RTMP players (the relay handler on handlePlayStart / handleStop)', () => {
  it('the first player of a key that is not live raises demand, the last to leave idle; inner hooks still run', async () => {
    const calls: string[] = [];
    const { port, events } = await startRelay({}, () => ({
      handlePlayStart: (info) => {
        calls.push(`playStart ${info.name}`);
      },
      handleStop: (context) => {
        calls.push(`stop ${context.streamKey}`);
      },
      handleDisconnect: () => {
        calls.push('disconnect');
      },
    }));
    const a = await player(port, 'd');
    await until(() => events.length === 1, 5_000, 'demand');
    const b = await player(port, 'd');
    expect(events).toEqual(['demand live/d']);
    a.connection.sendCommand('deleteStream', 0, [null, a.streamId]);
    b.connection.close();
    await until(() => events.length === 2, 5_000, 'idle');
    expect(events).toEqual(['demand live/d', 'idle live/d']);
    await until(() => calls.includes('disconnect'), 5_000, 'disconnect');
    expect(calls.slice(0, 4)).toEqual(['playStart d', 'playStart d', 'stop d', 'stop d']);
  });
});
