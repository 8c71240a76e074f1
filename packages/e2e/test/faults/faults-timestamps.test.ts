// Timestamps and chunking through publish, demux, relay and an FFmpeg player; our client is the publisher, the
// server runs in the hostile tests' harness.
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { classifyTag, TimestampUnwrapper } from '@rtmp/flv-demux';
import type { MediaEvent } from '@rtmp/server';
import { ffmpegPlay, hasTool, readOracle, run, sleep, until } from '@rtmp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flvTags } from '../../../server/test/hostile/lib.js';
import { type Harness, startHarness } from '../../../server/test/hostile/server-harness.js';
import { publisher, type TestPublisher, tagType } from '../helpers/peers.js';

const haveTools = hasTool('ffmpeg') && hasTool('ffprobe');
const tags = flvTags('small_h264_aac.flv').filter((t) => t.type !== 18);
const oracle = readOracle('small_h264_aac.packets.csv');

type Packet = { codec_type: string; size: string; flags: string; pts: number; dts: number };
async function packets(file: string): Promise<Packet[]> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'packet=codec_type,size,flags,pts,dts',
    '-of',
    'json',
    file,
  ]).done;
  return (JSON.parse(stdout || '{"packets":[]}') as { packets: Packet[] }).packets;
}

let h: Harness;
let dir: string;
/** dts of every demuxed video sample, per stream key, as the server's demuxer produced them. */
const demuxed = new Map<string, number[]>();

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtmp-ts-'));
  h = await startHarness({ idleTimeout: 10_000, pingInterval: 0 }, {}, () => ({
    handleVideoData: (event: MediaEvent, ctx) => {
      if (event.kind !== 'video') return;
      const list = demuxed.get(ctx.streamKey) ?? [];
      demuxed.set(ctx.streamKey, list);
      list.push(event.dts);
    },
  }));
});
afterAll(async () => {
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A proxy that forwards the publisher's first `limit` bytes to the server one byte per TCP write. */
async function trickleProxy(
  target: number,
  limit: number,
): Promise<{ port: number; close(): void; bytes: () => number; busy: () => boolean }> {
  let forwarded = 0;
  let busy = false;
  const server = net.createServer((down) => {
    const up = net.connect(target, '127.0.0.1');
    up.setNoDelay(true);
    const queue: Buffer[] = [];
    let pumping = false;
    const pump = async () => {
      pumping = true;
      busy = true;
      while (queue.length > 0) {
        const chunk = queue.shift()!;
        if (forwarded >= limit) {
          await new Promise((r) => up.write(chunk, r));
          forwarded += chunk.length;
          continue;
        }
        for (let i = 0; i < chunk.length; i++) {
          // Wait until each byte is handed to the kernel, so Node cannot coalesce writes (writev).
          await new Promise((r) => up.write(chunk.subarray(i, i + 1), r));
          forwarded++;
        }
      }
      pumping = false;
      busy = false;
    };
    down.on('data', (d: Buffer) => {
      queue.push(d);
      if (!pumping) void pump();
    });
    up.on('data', (d) => down.write(d));
    for (const s of [up, down]) s.on('error', () => {});
    down.on('close', () => setTimeout(() => up.destroy(), 2000));
    up.on('close', () => down.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => server.close(),
    bytes: () => forwarded,
    busy: () => busy,
  };
}

interface Run {
  key: string;
  offset?: number;
  chunkSizes?: number[];
  /** Forward the first this-many bytes of the publisher one byte per TCP write. */
  trickle?: number;
  /** Replace the body of every keyframe by this many bytes (same NAL header). */
  bigKeyframes?: number;
}

async function publishAndPlay(
  r: Run,
): Promise<{ played: Packet[]; sent: { type: number; ts: number; size: number }[] }> {
  const url = `rtmp://127.0.0.1:${h.port}/live/${r.key}`;
  const out = path.join(dir, `${r.key}.flv`);
  const player = ffmpegPlay(url, out, 60_000);
  await until(
    () => h.relay.stats().some((s) => s.key === `live/${r.key}` && s.players === 1),
    10_000,
    'player',
  );
  const proxy = r.trickle ? await trickleProxy(h.port, r.trickle) : undefined;
  const pub: TestPublisher = await publisher(proxy ? proxy.port : h.port, r.key);
  // Chunk size changes between messages are not in the client's API: its connection core sends them.
  const core = pub.client.connection!;
  const sent: { type: number; ts: number; size: number }[] = [];
  let i = 0;
  for (const tag of tags) {
    if (r.chunkSizes && i % 10 === 0) core.setChunkSize(r.chunkSizes[(i / 10) % r.chunkSizes.length]!);
    let body = tag.body;
    if (r.bigKeyframes && classifyTag(tag.type, body)?.kind === 'keyframe') {
      const big = new Uint8Array(r.bigKeyframes);
      big.set(body.subarray(0, 5));
      new DataView(big.buffer).setUint32(5, big.length - 9);
      big[9] = 0x65;
      body = big;
    }
    const ts = (tag.timestamp + (r.offset ?? 0)) % 2 ** 32;
    pub.publisher.write(tagType(tag.type), ts, body);
    sent.push({ type: tag.type, ts, size: body.length });
    i++;
    // Keep the trickle proxy's queue (and the player) in step; pace big frames a little.
    if (i % 20 === 0) await sleep(5);
  }
  // Wait for the bytes to reach the server before unpublishing.
  await until(() => pub.publisher.writableLength === 0, 30_000, 'publisher flushed');
  if (proxy) await until(() => !proxy.busy(), 60_000, 'trickle proxy drained');
  await sleep(300);
  void pub.client.close();
  const result = await player.done;
  expect(result.code, result.stderr.slice(-800)).toBe(0);
  proxy?.close();
  return { played: await packets(out), sent };
}

/** The played packets must be the fixture's, in order, with the right sizes and keyframe flags. */
function expectSameMedia(played: Packet[], bigKeyframes?: number) {
  expect(played.length).toBe(oracle.length);
  // The player's mux order may interleave audio and video differently: compare per track.
  for (const type of ['video', 'audio'] as const) {
    const got = played.filter((p) => p.codec_type === type);
    const want = oracle.filter((p) => p.type === type);
    expect(
      got.map((p) => (bigKeyframes && p.flags.startsWith('K') && type === 'video' ? -1 : Number(p.size))),
    ).toEqual(want.map((p) => (bigKeyframes && p.keyframe && type === 'video' ? -1 : p.size)));
    expect(got.map((p) => p.flags.startsWith('K'))).toEqual(want.map((p) => p.keyframe));
  }
}

/** dts per track: monotonic, and spaced exactly as the source (whatever base the player chose). */
function expectTimeline(played: Packet[]) {
  for (const type of ['video', 'audio'] as const) {
    const got = played.filter((p) => p.codec_type === type).map((p) => p.dts);
    const want = oracle.filter((p) => p.type === type).map((p) => p.dts);
    for (let i = 1; i < got.length; i++) expect(got[i]! - got[i - 1]!).toBe(want[i]! - want[i - 1]!);
  }
}

describe.skipIf(!haveTools)(
  'timestamps and chunking through publish -> demux -> relay -> FFmpeg player',
  () => {
    it('crosses 0xFFFFFF ms (extended timestamps) with monotonic, correct timestamps', async () => {
      const offset = 0xffffff - 1500;
      const { played } = await publishAndPlay({ key: 'ts24', offset });
      expectSameMedia(played);
      expectTimeline(played);
      const dts = demuxed.get('ts24')!;
      expect(dts.length).toBe(100);
      expect(dts[0]).toBe(offset);
      expect(dts.at(-1)).toBeGreaterThan(0xffffff);
      for (let i = 1; i < dts.length; i++) expect(dts[i]!).toBeGreaterThan(dts[i - 1]!);
    });

    it('crosses 2^32 ms (32-bit wrap) with monotonic, correct timestamps at the player', async () => {
      const offset = 2 ** 32 - 1500;
      const { played } = await publishAndPlay({ key: 'ts32', offset });
      expectSameMedia(played);
      expectTimeline(played);
      // The demuxer reports RTMP's u32 timestamps as received: across 2^32 they wrap, and stay monotonic in serial-number
      // arithmetic (RFC 1982), which is what the protocol defines; TimestampUnwrapper gives a handler one timeline.
      const dts = demuxed.get('ts32')!;
      expect(dts.length).toBe(100);
      for (let i = 1; i < dts.length; i++) {
        const step = (dts[i]! - dts[i - 1]! + 2 ** 32) % 2 ** 32;
        expect(step).toBeGreaterThan(0);
        expect(step).toBeLessThan(2 ** 31);
      }
      expect(dts[0]).toBe(offset);
      expect(dts.at(-1)).toBeLessThan(4000);
      const timeline = new TimestampUnwrapper();
      const unwrapped = dts.map((t) => timeline.unwrap(t));
      const sourceDts = oracle.filter((p) => p.type === 'video').map((p) => p.dts);
      expect(unwrapped).toEqual(sourceDts.map((t) => offset + t));
      console.log(
        `2^32 wrap: demuxer dts ${dts[0]} .. ${dts.at(-1)}; player dts ${played[0]?.dts} .. ${played.at(-1)?.dts}`,
      );
    });

    it('follows chunk size changes mid-stream (1 byte .. 16 MiB)', async () => {
      const { played } = await publishAndPlay({
        key: 'chunks',
        chunkSizes: [1, 7, 128, 4096, 65536, 0xffffff, 2, 1000],
      });
      expectSameMedia(played);
    });

    it('carries 4K-sized keyframes larger than 1 MB', async () => {
      const { played, sent } = await publishAndPlay({ key: 'big', bigKeyframes: 1_300_000 });
      expectSameMedia(played, 1_300_000);
      const keyframes = played.filter((p) => p.codec_type === 'video' && p.flags.startsWith('K'));
      expect(keyframes.map((p) => Number(p.size))).toEqual(
        sent.filter((s) => s.type === 9 && s.size === 1_300_000).map((s) => s.size - 5),
      );
    });

    // 64 KiB byte by byte covers the handshake, every command, the sequence headers and the first GOP's first
    // keyframe; the whole 225 KB session takes ~12 s this way (set RTMP_TRICKLE_ALL=1 to run it).
    it('reassembles a publisher whose bytes arrive one byte per TCP write', async () => {
      const started = Date.now();
      const limit = process.env.RTMP_TRICKLE_ALL === '1' ? Number.POSITIVE_INFINITY : 64 * 1024;
      const { played } = await publishAndPlay({ key: 'trickle', trickle: limit });
      console.log(`1-byte writes: whole session in ${Date.now() - started} ms`);
      expectSameMedia(played);
      expectTimeline(played);
    }, 60_000);
  },
);
