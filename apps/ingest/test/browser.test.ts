/// <reference lib="dom" />
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ffmpegTestPatternArgs,
  hasChromium,
  hasFfmpegEncoder,
  hasTool,
  launchChromium,
  type Running,
  type RunningChromium,
  run,
  sleep,
} from '@rtmp/testing';
import type HlsJs from 'hls.js';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './flv-clients.js';
import { APP_DIR, type RunningApp, startApp } from './helpers.js';

// A real Chromium plays, in the dashboard, what FFmpeg publishes (H.264 + AAC, as a user runs it) over WS-FLV and
// HTTP-FLV with mpegts.js, served by the app itself.

/** Where the screenshots go (gitignored): kept as test artifacts. */
const OUTPUT = resolve(APP_DIR, 'test-output');

/** What the page's video element shows at one moment. */
interface Playback {
  currentTime: number;
  frames: number;
  dropped: number;
  mediaError: number | null;
  playerErrors: unknown[];
  readyState: number;
}

function playback(page: Page, dashboard = true): Promise<Playback> {
  return page.evaluate((dashboard: boolean) => {
    const video = document.querySelector('video');
    if (video === null) throw new Error('no video element');
    const quality = video.getVideoPlaybackQuality();
    const state = dashboard
      ? (window as unknown as { dashboard: { errors: unknown[] } }).dashboard
      : { errors: [] };
    return {
      currentTime: video.currentTime,
      frames: quality.totalVideoFrames,
      dropped: quality.droppedVideoFrames,
      mediaError: video.error === null ? null : video.error.code,
      playerErrors: state.errors,
      readyState: video.readyState,
    };
  }, dashboard);
}

/**
 * Makes the page keep every error hls.js reports, fatal or not, in `window.hlsErrors` (the dashboard shows only the
 * fatal ones): `Hls`, when the served hls.js defines it, is replaced by a subclass that listens to its own errors.
 */
async function recordHlsErrors(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const errors: string[] = [];
    (window as unknown as { hlsErrors: string[] }).hlsErrors = errors;
    let recording: typeof HlsJs | undefined;
    Object.defineProperty(window, 'Hls', {
      configurable: true,
      get: () => recording,
      set(Hls: typeof HlsJs) {
        recording = class extends Hls {
          constructor(config?: ConstructorParameters<typeof HlsJs>[0]) {
            super(config);
            this.on(Hls.Events.ERROR, (_event, data) => {
              errors.push(`${data.fatal ? 'fatal ' : ''}${data.details}: ${data.error?.message ?? ''}`);
            });
          }
        };
      },
    });
  });
}

/**
 * The non-fatal errors hls.js 1.7 reports when its page cannot run for a few hundred ms (a loaded CI machine): the
 * buffer runs dry (`bufferStalledError`), and sometimes it then loads part 0 of the next segment before the last
 * part of the current one and seeks over the hole it left (`bufferSeekOverHole`, aborting a load on the way). That
 * is hls.js: a playlist update that lists both parts arrives while it was blocked, and its fragment lookup takes the
 * next segment (hls.js#5028 is the same skip). A page that blocks its main thread 600 ms every 1.1 s shows it every
 * few runs, on playlists whose parts ffprobe reads without a gap (hls.test.ts checks every sample against the
 * oracle). Nothing else is forgiven: a media error, a fatal error or any other non-fatal one fails the test.
 */
const STARVED_PLAYER = /^(bufferStalledError|bufferNudgeOnStall|bufferSeekOverHole|aborted): /;

const ready = hasChromium() && hasTool('ffmpeg') && hasFfmpegEncoder('libx264');

describe.skipIf(!ready)('the dashboard in Chromium', () => {
  let app: RunningApp;
  let chromium: RunningChromium;
  let publisher: Running;

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    app = await startApp(['--log-level', 'warn']);
    publisher = run('ffmpeg', ffmpegTestPatternArgs(`${app.url}/browser`, 120), 130_000);
    await eventually(async () => (await app.api()).streams.length === 1, 15_000, 'the FFmpeg publish');
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    publisher?.child.kill('SIGKILL');
    await app?.stop();
  });

  it("the README's five-line HTML snippet plays the stream", async () => {
    const readme = readFileSync(resolve(APP_DIR, 'README.md'), 'utf8');
    const snippet = /```html\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet?.trim().split('\n')).toHaveLength(5);
    const page = await chromium.context.newPage();
    try {
      await page.goto(`http://127.0.0.1:${app.httpPort}/api/dashboard`);
      await page.setContent(
        snippet!
          .replaceAll('localhost:8080', `127.0.0.1:${app.httpPort}`)
          .replace('live/test', 'live/browser'),
      );
      await eventually(
        async () => (await playback(page, false)).frames > 10,
        15_000,
        'frames from the snippet',
      );
    } finally {
      await page.close();
    }
  });

  for (const via of ['ws-flv', 'http-flv'] as const) {
    it(`plays the stream over ${via}: time advances, frames are decoded, no media error`, async () => {
      const page = await chromium.context.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      try {
        await page.goto(`http://127.0.0.1:${app.httpPort}/?play=live/browser&via=${via}`);
        // The dashboard lists the stream with its codecs.
        await page.waitForSelector('tr[data-stream="live/browser"]');
        expect(await page.textContent('tr[data-stream="live/browser"]')).toContain('avc1');
        await eventually(async () => (await playback(page)).frames > 0, 15_000, 'a first decoded frame');
        const first = await playback(page);
        await sleep(3_000);
        const later = await playback(page);
        expect(later.currentTime - first.currentTime).toBeGreaterThan(1.5);
        expect(later.frames - first.frames).toBeGreaterThan(30);
        expect(later.mediaError).toBeNull();
        expect(later.playerErrors).toEqual([]);
        expect(pageErrors).toEqual([]);
        // The viewer is counted under its protocol, in the API and in /metrics.
        const [stream] = (await app.api()).streams;
        expect(stream?.playersByProtocol).toEqual({ [via]: 1 });
        const metrics = await (await fetch(`http://127.0.0.1:${app.httpPort}/metrics`)).text();
        expect(metrics).toContain(`rtmp_viewers{protocol="${via}"} 1`);
        // Let the page poll once more, so the screenshot shows the viewer.
        await sleep(1_200);
        await page.screenshot({ path: resolve(OUTPUT, `dashboard-${via}.png`) });
      } finally {
        await page.close();
      }
    });
  }

  /**
   * Opens the dashboard, presses the HLS button and watches `seconds` of playback; with `starve`, the page blocks
   * its own main thread that many ms every 1.13 s (a slow device, a loaded machine).
   */
  async function watchHls(options: { seconds: number; starve?: number; screenshot?: string }) {
    const page = await chromium.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await recordHlsErrors(page);
    if (options.starve !== undefined) {
      await page.addInitScript((ms: number) => {
        setInterval(() => {
          const end = performance.now() + ms;
          while (performance.now() < end);
        }, 1130);
      }, options.starve);
    }
    try {
      await page.goto(`http://127.0.0.1:${app.httpPort}/`);
      // HLS is on by default (on demand): the dashboard offers its button, served hls.js plays it.
      await page.waitForSelector('tr[data-stream="live/browser"] button[data-play="hls"]');
      await page.click('tr[data-stream="live/browser"] button[data-play="hls"]');
      await eventually(async () => (await playback(page)).frames > 0, 30_000, 'a first decoded HLS frame');
      const first = await playback(page);
      await sleep(options.seconds * 1000);
      const later = await playback(page);
      const hlsErrors = await page.evaluate(() => (window as unknown as { hlsErrors: string[] }).hlsErrors);
      if (options.screenshot !== undefined)
        await page.screenshot({ path: resolve(OUTPUT, options.screenshot) });
      return { first, later, hlsErrors, pageErrors };
    } finally {
      await page.close();
    }
  }

  it('plays the stream over LL-HLS with hls.js from the HLS button: time advances, frames are decoded, no error (a starved page aside)', async () => {
    const { first, later, hlsErrors, pageErrors } = await watchHls({
      seconds: 3,
      screenshot: 'dashboard-hls.png',
    });
    expect(later.currentTime - first.currentTime).toBeGreaterThan(1.5);
    expect(later.frames - first.frames).toBeGreaterThan(30);
    expect(later.mediaError).toBeNull();
    expect(later.playerErrors).toEqual([]);
    // No non-fatal error either (bufferAppendNoProgress came from parts whose audio ended short of their time),
    // except what hls.js reports when the page itself is starved of CPU (see STARVED_PLAYER).
    expect(hlsErrors.filter((e) => !STARVED_PLAYER.test(e))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('a starved viewer (its page blocked 600 ms of every 1.13 s) keeps playing over LL-HLS: no fatal or media error', async () => {
    const { first, later, hlsErrors, pageErrors } = await watchHls({ seconds: 6, starve: 600 });
    // Half the wall clock is blocked; playback still moves at about real time between the blocks.
    expect(later.currentTime - first.currentTime).toBeGreaterThan(3);
    expect(later.frames - first.frames).toBeGreaterThan(60);
    expect(later.mediaError).toBeNull();
    expect(later.playerErrors).toEqual([]);
    expect(hlsErrors.filter((e) => !STARVED_PLAYER.test(e))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
