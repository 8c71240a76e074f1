import { createHash } from 'node:crypto';
import { FlvReader } from '@rtmp/flv-demux';
import { fixture, hasTool, memory, readFixture, run, sleep } from '@rtmp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, metric, RawFlvViewer } from './flv-clients.js';
import { type RunningApp, startApp } from './helpers.js';

// HTTP-FLV under load, against the built app: 200 raw viewers of one stream all get every byte; a viewer that
// stops reading is dropped while the app's memory stays flat.

const tools = hasTool('ffmpeg');

/** How many times the flood repeats the fixture. */
const FLOOD_LOOPS = 400;

/**
 * The flood's pace, in times real time (~15 MiB/s): far faster than the stuck viewer's 4 MiB queue can absorb, yet
 * slow enough that the reading viewer keeps up on a CI machine whose two cores also run other suites. Unpaced, a
 * starved reader was once dropped too.
 */
const FLOOD_RATE = 300;

/** The app's `rtmp://.../live`. */
let appUrl = '';

/** The fixture's audio/video tags, as (type, timestamp, size) rows. */
function mediaRows(bytes: Uint8Array): string[] {
  return new FlvReader()
    .push(bytes)
    .filter((t) => t.type === 8 || t.type === 9)
    .map((t) => `${t.type},${t.timestamp},${t.body.byteLength}`);
}

describe.skipIf(!tools)('HTTP-FLV under load', () => {
  let app: RunningApp;
  let base: string;

  beforeAll(async () => {
    app = await startApp(['--play-wait', '20000', '--log-level', 'warn']);
    base = `http://127.0.0.1:${app.httpPort}`;
    appUrl = app.url;
  });

  afterAll(async () => {
    await app?.stop();
  });

  it('200 HTTP-FLV viewers of one stream all get every byte', async () => {
    const viewers = Array.from({ length: 200 }, () => new RawFlvViewer(app.httpPort, '/live/many.flv'));
    await eventually(
      async () => (await metric(base, 'rtmp_viewers{protocol="http-flv"}')) === 200,
      20_000,
      '200 viewers',
    );
    const published = await run(
      'ffmpeg',
      [
        '-hide_banner',
        '-nostdin',
        '-re',
        '-i',
        fixture('small_h264_aac.flv'),
        '-c',
        'copy',
        '-f',
        'flv',
        `${app.url}/many`,
      ],
      60_000,
    ).done;
    expect(published.code, published.stderr).toBe(0);
    await Promise.all(viewers.map((v) => v.closed));
    const want = mediaRows(readFixture('small_h264_aac.flv'));
    const first = viewers[0]!.bytes();
    expect(mediaRows(first)).toEqual(want);
    const digest = createHash('sha256').update(first).digest('hex');
    for (const [i, viewer] of viewers.entries()) {
      expect(viewer.status, `viewer ${i}`).toBe(200);
      expect(viewer.complete, `viewer ${i}`).toBe(true);
      expect(createHash('sha256').update(viewer.bytes()).digest('hex'), `viewer ${i}`).toBe(digest);
    }
    expect(await metric(base, 'rtmp_viewers{protocol="http-flv"}')).toBe(0);
    expect(await metric(base, 'rtmp_dropped_frames_total')).toBe(0);
  });

  it('a viewer that stops reading is dropped (ERR_RTMP_SLOW_CONSUMER) without growing memory', async () => {
    const pid = app.proc.pid!;
    const rss = () => memory(pid).current;
    // A first flood with a reading viewer only: V8 grows its heap to what a flood needs (tens of MiB) once.
    const warm = new RawFlvViewer(app.httpPort, '/live/warm.flv');
    await eventually(
      async () => (await metric(base, 'rtmp_viewers{protocol="http-flv"}')) === 1,
      10_000,
      'a viewer',
    );
    const warmBefore = rss();
    const warmPeak = await peakWhile(rss, flood('warm'));
    await warm.closed;

    const stuck = new RawFlvViewer(app.httpPort, '/live/flood.flv', { read: false });
    const reader = new RawFlvViewer(app.httpPort, '/live/flood.flv');
    await eventually(
      async () => (await metric(base, 'rtmp_viewers{protocol="http-flv"}')) === 2,
      10_000,
      'two viewers',
    );
    const before = rss();
    const peak = await peakWhile(rss, flood('flood'));
    await reader.closed;
    expect(await metric(base, 'rtmp_errors_total{code="ERR_RTMP_SLOW_CONSUMER"}')).toBe(1);
    // The stuck viewer reads again: it finds its connection cut after what the kernel and its 4 MiB queue held.
    stuck.resume();
    await stuck.closed;
    expect(stuck.complete).toBe(false);
    expect(stuck.bodyBytes).toBeLessThan(12 * 2 ** 20);
    // The reading viewer got every tag of the flood.
    expect(reader.complete).toBe(true);
    expect(reader.bodyBytes).toBe(warm.bodyBytes);
    const mib = (n: number) => (n / 2 ** 20).toFixed(1);
    console.log(
      `stuck viewer: app RSS +${mib(warmPeak - warmBefore)} MiB over the first ${mib(warm.bodyBytes)} MiB flood ` +
        `(heap growth, no stuck viewer), then +${mib(peak - before)} MiB over the same flood with a viewer that ` +
        `stopped reading (dropped after ${mib(stuck.bodyBytes)} MiB)`,
    );
    // Holding the flood for the stuck viewer would add its size (86 MiB); its queue limit is 4 MiB. What a flood
    // costs V8 (garbage not yet collected) is about the same with or without it: 20-25 MiB measured.
    expect(peak - before).toBeLessThan(40 * 2 ** 20);
    expect(await metric(base, 'rtmp_viewers{protocol="http-flv"}')).toBe(0);
  });
});

/** Publishes the fixture looped {@link FLOOD_LOOPS} times to `live/<key>` at {@link FLOOD_RATE} times real time (~86 MiB). */
async function flood(key: string): Promise<void> {
  const published = await run(
    'ffmpeg',
    [
      ...[
        '-hide_banner',
        '-nostdin',
        '-readrate',
        String(FLOOD_RATE),
        '-stream_loop',
        String(FLOOD_LOOPS - 1),
        '-i',
        fixture('small_h264_aac.flv'),
      ],
      ...['-c', 'copy', '-f', 'flv', `${appUrl}/${key}`],
    ],
    120_000,
  ).done;
  expect(published.code, published.stderr).toBe(0);
}

/** The highest value of `sample` (every 50 ms) until `work` is done. */
async function peakWhile(sample: () => number, work: Promise<void>): Promise<number> {
  let peak = sample();
  const timer = setInterval(() => {
    peak = Math.max(peak, sample());
  }, 50);
  try {
    await work;
    await sleep(200);
    return Math.max(peak, sample());
  } finally {
    clearInterval(timer);
  }
}
