// A paused player of the relay beside realtime ones; our client plays the publisher and the players, the server runs
// in the hostile tests' harness.
import { randomBytes } from 'node:crypto';
import { classifyTag, classifyVideoTag } from '@rtmp/flv-demux';
import type { ClientSession } from '@rtmp/server';
import { sleep } from '@rtmp/testing';
import { afterEach, expect, it } from 'vitest';
import { isFrame } from '../../../client/test/helpers/media.js';
import { flvTags } from '../../../server/test/hostile/lib.js';
import { type Harness, startHarness } from '../../../server/test/hostile/server-harness.js';
import { player, publisher, type TestPlayer } from '../helpers/peers.js';

const MAX_QUEUE = 512 * 1024;
const FRAME = 100 * 1024; // 25 fps x 100 KiB = 2.5 MB/s: enough to fill loopback socket buffers in a few seconds
const FPS = 25;
const GOP = 25;
const SECONDS = 8;

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** A coded video frame (not a sequence header). */
function isVideoFrame(m: { type: number; payload: Uint8Array }): boolean {
  return m.type === 9 && isFrame(classifyVideoTag(m.payload));
}

it('a paused player is bounded by the queue limit, skipped to a keyframe, then disconnected; others stay realtime', async () => {
  h = await startHarness({ idleTimeout: 0, pingInterval: 0 }, { maxPlayerQueue: MAX_QUEUE });
  const harness = h;
  const slow: ClientSession[] = [];
  harness.relay.on('slowPlayer', (_key, session) => slow.push(session));
  const tags = flvTags('small_h264_aac.flv');
  const avcHeader = tags.find((t) => t.type === 9 && classifyTag(9, t.body)?.kind === 'config')!;
  const aacHeader = tags.find((t) => t.type === 8 && classifyTag(8, t.body)?.kind === 'config')!;
  const pub = await publisher(harness.port, 'heavy');
  const good = await player(harness.port, 'heavy');
  const paused = await player(harness.port, 'heavy');
  const hiccup = await player(harness.port, 'heavy');
  const sessionOf = (p: TestPlayer) =>
    [...harness.server.sessions].find((s) => s.remote.endsWith(`:${p.client.connection!.socket.localPort}`))!;
  const pausedSession = sessionOf(paused);
  paused.client.connection!.socket.pause();

  let maxQueued = 0;
  const sampler = setInterval(() => {
    if (!pausedSession.closed) maxQueued = Math.max(maxQueued, pausedSession.connection.writableLength);
  }, 5);

  const random = randomBytes(FRAME);
  const sentAt = new Map<number, number>();
  pub.publisher.write(9, 0, avcHeader.body);
  pub.publisher.write(8, 0, aacHeader.body);
  const started = Date.now();
  const frames = FPS * SECONDS;
  for (let i = 0; i < frames; i++) {
    const ts = Math.round((i * 1000) / FPS);
    // Paced in real time: the publisher must never be slowed by the paused player.
    const due = started + ts - Date.now();
    if (due > 0) await sleep(due);
    if (i === FPS * 3) hiccup.client.connection!.socket.pause();
    if (i === FPS * 3 + 40) hiccup.client.connection!.socket.resume();
    const body = new Uint8Array(FRAME + 9);
    body.set([i % GOP === 0 ? 0x17 : 0x27, 1, 0, 0, 0, 0, 0x01, 0x90, 0x00]);
    body.set([i % GOP === 0 ? 0x65 : 0x41], 9);
    body.set(random.subarray(1), 10);
    sentAt.set(ts, Date.now());
    pub.publisher.write(9, ts, body);
  }
  const publishMs = Date.now() - started;
  await sleep(500);
  clearInterval(sampler);

  // The paused player: disconnected as a slow consumer, its queue never far above the limit.
  expect(slow).toContain(pausedSession);
  expect(pausedSession.closed).toBe(true);
  const pausedRecord = [...harness.sessions.values()]
    .flat()
    .find((r) => pausedSession.remote.endsWith(`:${r.remotePort}`));
  expect(pausedRecord?.errors.map((e) => e.code)).toEqual(['ERR_RTMP_SLOW_CONSUMER']);
  expect(maxQueued).toBeLessThanOrEqual(MAX_QUEUE + 2 * (FRAME + 64));

  // The good player: every frame, in real time.
  const goodVideo = good.media.filter(isVideoFrame);
  expect(goodVideo.length).toBe(frames);
  const lags = goodVideo.map((m) => m.at - sentAt.get(m.timestamp)!);
  const maxLag = Math.max(...lags);
  expect(maxLag).toBeLessThan(1000);
  expect(publishMs).toBeLessThan(SECONDS * 1000 + 1000);

  // The briefly paused player: whatever it missed, it resumed on a keyframe and was not dropped.
  const hv = hiccup.media.filter(isVideoFrame);
  const problems: string[] = [];
  for (let i = 1; i < hv.length; i++) {
    const gap = hv[i]!.timestamp - hv[i - 1]!.timestamp > 1000 / FPS + 1;
    if (gap && classifyVideoTag(hv[i]!.payload).kind !== 'keyframe')
      problems.push(`resumed at ${hv[i]!.timestamp} on a non-keyframe`);
  }
  expect(problems).toEqual([]);
  // 1.6 s of pause fits in the socket buffers plus the queue: nothing lost, still connected.
  expect(hv.length).toBe(frames);
  expect(hiccup.client.connection?.closed).toBe(false);
  console.log(
    `slow player: max server queue ${maxQueued} B (limit ${MAX_QUEUE}); good player max lag ${maxLag} ms;` +
      ` hiccup player got ${hv.length}/${frames} frames, connected: ${hiccup.client.connected}`,
  );
  for (const c of [pub, good, hiccup, paused]) c.client.destroy();
}, 30_000);
