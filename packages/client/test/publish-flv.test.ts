import { readFileSync } from 'node:fs';
import { decodeAmf0 } from '@rtmp/amf';
import { FlvReader, type FlvTag } from '@rtmp/flv-demux';
import { fixture, readOracle, until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type FlvTagInput,
  newPublishFlvStats,
  publishFlv,
  RtmpClient,
  type RtmpPublisher,
  type TagRole,
} from '../src/index.js';
import { type ScriptedServer, scriptedServer } from './helpers/scripted-server.js';

const servers: ScriptedServer[] = [];
const clients: RtmpClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close({ timeout: 1_000 })));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function publishing(): Promise<{ server: ScriptedServer; publisher: RtmpPublisher }> {
  const server = await scriptedServer();
  servers.push(server);
  const client = new RtmpClient({ url: server.url });
  clients.push(client);
  await client.connect();
  return { server, publisher: await client.publish() };
}

function fileTags(name: string): FlvTag[] {
  const reader = new FlvReader();
  const tags = reader.push(readFileSync(fixture(name)));
  reader.end();
  return tags;
}

const AVC_HEADER = Uint8Array.of(0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x0d, 0xff, 0xe0, 0);
const key = (timestamp: number): FlvTagInput => ({
  type: 9,
  timestamp,
  body: Uint8Array.of(0x17, 1, 0, 0, 0, 0, 0, 0, 2, 0x65, 0x88),
});
const inter = (timestamp: number): FlvTagInput => ({
  type: 9,
  timestamp,
  body: Uint8Array.of(0x27, 1, 0, 0, 0, 0, 0, 0, 2, 0x41, 0x9a),
});
const aac = (timestamp: number): FlvTagInput => ({ type: 8, timestamp, body: Uint8Array.of(0xaf, 1, 0x21) });

describe('publishFlv', () => {
  it('sends a file as fast as the server takes it: every tag in order, onMetaData wrapped, frames counted', async () => {
    const { server, publisher } = await publishing();
    const tags = fileTags('small_h264_aac.flv');
    const roles: TagRole[] = [];
    const result = await publishFlv(publisher, tags, {
      realtime: false,
      onTag: (_tag, role) => roles.push(role),
    });
    const oracle = readOracle('small_h264_aac.packets.csv');
    expect(result).toMatchObject({
      stoppedBy: 'end',
      publisher,
      videoFrames: oracle.filter((p) => p.type === 'video').length,
      audioFrames: oracle.filter((p) => p.type === 'audio').length,
      keyframes: oracle.filter((p) => p.type === 'video' && p.keyframe).length,
    });
    expect(result.videoFrames).toBe(100);
    expect(roles.filter((r) => r === 'header')).toHaveLength(2);
    expect(roles.filter((r) => r === 'data')).toHaveLength(1);
    const peer = server.peers[0]!;
    await until(() => peer.media.length === tags.length, 5_000, 'every tag');
    expect(peer.media.map((m) => [m.type, m.timestamp])).toEqual(tags.map((t) => [t.type, t.timestamp]));
    // The script tag carries @setDataFrame on the wire; everything else is the file's bytes.
    const script = tags.findIndex((t) => t.type === 18);
    expect(decodeAmf0(peer.media[script]!.payload).slice(0, 2)).toEqual(['@setDataFrame', 'onMetaData']);
    for (const [i, tag] of tags.entries()) {
      if (i !== script) expect(new Uint8Array(peer.media[i]!.payload)).toEqual(new Uint8Array(tag.body));
    }
    const sentBytes = tags.reduce((n, t) => n + t.body.byteLength, 0) + 16;
    expect(result.bytes).toBe(sentBytes);
    // The file ends with an AVC end of sequence: the publisher no longer holds a video config.
    expect([...tags.at(-1)!.body.subarray(0, 2)]).toEqual([0x17, 2]);
    expect(roles.at(-1)).toBe('end');
    expect(publisher.headers.map((t) => t.type)).toEqual([18, 8]);
  });

  it('paces by timestamp from the first frame, stops at duration, updates the given stats as it goes', async () => {
    const { server, publisher } = await publishing();
    const stats = newPublishFlvStats();
    const seen: number[] = [];
    const tags = [
      { type: 9, timestamp: 0, body: AVC_HEADER },
      key(1000),
      inter(1100),
      inter(1200),
      inter(1300),
      inter(1400),
    ];
    const began = performance.now();
    const result = await publishFlv(publisher, tags, {
      duration: 300,
      stats,
      onTag: () => seen.push(stats.videoFrames),
    });
    const elapsed = performance.now() - began;
    expect(result).toMatchObject({ stoppedBy: 'duration', videoFrames: 4, keyframes: 1, mediaMs: 300 });
    expect(stats).toMatchObject({ videoFrames: 4, mediaMs: 300 });
    expect(seen).toEqual([0, 0, 1, 2, 3]);
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(5_000);
    await until(() => server.peers[0]!.media.length === 5, 5_000, 'five tags');
  });

  it('an abort ends a paced wait at once', async () => {
    const { publisher } = await publishing();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const began = performance.now();
    const result = await publishFlv(publisher, [key(0), inter(60_000)], { signal: controller.signal });
    expect(result).toMatchObject({ stoppedBy: 'abort', videoFrames: 1 });
    expect(performance.now() - began).toBeLessThan(5_000);
  });

  it('waits for the socket when the server stops reading, and an abort ends that wait too', async () => {
    const { server, publisher } = await publishing();
    server.peers[0]!.connection.socket.pause();
    const big = new Uint8Array(256 * 1024);
    big.set([0x27, 1, 0, 0, 0]);
    let sent = 0;
    let mostBuffered = 0;
    function* endless(): Generator<FlvTagInput> {
      for (let i = 0; ; i++) yield { type: 9, timestamp: i, body: big };
    }
    const controller = new AbortController();
    const run = publishFlv(publisher, endless(), {
      realtime: false,
      signal: controller.signal,
      onTag: () => {
        mostBuffered = Math.max(mostBuffered, publisher.writableLength);
        sent++;
      },
    });
    await until(() => publisher.needDrain, 5_000, 'a full socket');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const blockedAt = sent;
    controller.abort();
    const result = await run;
    expect(result.stoppedBy).toBe('abort');
    expect(sent).toBe(blockedAt);
    // Node's buffer: below the high-water mark plus one message when the last write was accepted.
    expect(mostBuffered).toBeLessThan(4 * big.byteLength);
  });

  it('switchAt moves the stream to another publisher at a keyframe (or audio frame before any video)', async () => {
    const a = await publishing();
    const b = await publishing();
    const asked: number[] = [];
    const tags = [
      aac(0),
      { type: 9, timestamp: 0, body: AVC_HEADER },
      key(0),
      aac(20),
      inter(40),
      key(80),
      inter(120),
    ];
    async function* source(): AsyncGenerator<FlvTagInput> {
      yield* tags;
    }
    let call = 0;
    const result = await publishFlv(a.publisher, source(), {
      realtime: false,
      switchAt: (current) => {
        asked.push(call++);
        return call === 3 ? b.publisher : current === b.publisher ? undefined : current;
      },
    });
    // Asked before aac(0) (no video yet), before key(0) and before key(80); not before aac(20): video was seen.
    expect(asked).toEqual([0, 1, 2]);
    expect(result.publisher).toBe(b.publisher);
    await until(() => b.server.peers[0]!.media.length === 2, 5_000, 'the moved tags');
    expect(a.server.peers[0]!.media.map((m) => m.timestamp)).toEqual([0, 0, 0, 20, 40]);
    expect(b.server.peers[0]!.media.map((m) => m.timestamp)).toEqual([80, 120]);
  });

  it('stops when the publish ends under it, and refuses a tag type a publisher cannot send', async () => {
    const { publisher } = await publishing();
    const result = await publishFlv(publisher, [key(0), inter(40), inter(80)], {
      realtime: false,
      onTag: (tag) => {
        if (tag.timestamp === 40) publisher.unpublish();
      },
    });
    expect(result).toMatchObject({ stoppedBy: 'ended', videoFrames: 1 });
    const other = await publishing();
    await expect(
      publishFlv(other.publisher, [{ type: 20, timestamp: 0, body: new Uint8Array(1) }]),
    ).rejects.toMatchObject({ code: 'ERR_RTMP_INVALID_OPTION' });
  });
});
