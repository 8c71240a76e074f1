import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ffmpegTestPatternArgs, hasTool, run, sleep } from '@rtmp/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { APP_DIR, type RunningApp, startApp } from './helpers.js';
import { launchChromium, startPlayerServer } from './hls-browser.js';

/** Screenshots of the tests, kept as artifacts (the folder's own .gitignore keeps them out of git). */
const OUTPUT = join(APP_DIR, 'test-output');

const ready = hasTool('ffmpeg') && hasTool('chromium', ['--version']);
const apps: RunningApp[] = [];
afterAll(async () => {
  await Promise.all(apps.map((a) => a.stop()));
});

interface PlaybackState {
  currentTime: number;
  frames: number;
  fatal: string | null;
  /** Every error hls.js reported, fatal or not. */
  errors: string[];
  /** The video element's own `MediaError` code, if any. */
  mediaError: number | null;
  latency: number | null;
  lowLatency: boolean;
}

describe.skipIf(!ready)('hls.js plays the ingest app HLS in Debian Chromium (playwright-core)', () => {
  for (const lowLatency of [true, false]) {
    it(`${lowLatency ? 'LL-HLS (lowLatencyMode)' : 'HLS'}: currentTime advances, frames are decoded, hls.js reports no error`, async () => {
      const app = await startApp(lowLatency ? [] : ['--hls-segment', '1']);
      apps.push(app);
      const publish = run('ffmpeg', ffmpegTestPatternArgs(`${app.url}/cam`, 40), 60_000);
      const page$ = await startPlayerServer();
      const { browser, close } = await launchChromium();
      try {
        for (let i = 0; i < 100 && (await app.api()).streams.length === 0; i++) await sleep(50);
        const page = await browser.newPage();
        const src = `http://127.0.0.1:${app.httpPort}/live/cam/index.m3u8`;
        await page.goto(`${page$.base}/?src=${encodeURIComponent(src)}&lowLatency=${lowLatency ? 1 : 0}`);
        // Evaluated in the page (a string: this package's TypeScript has no DOM types).
        const state = (): Promise<PlaybackState> =>
          page.evaluate<PlaybackState>(`(() => {
            const video = document.querySelector('video');
            return {
              currentTime: video.currentTime,
              frames: video.getVideoPlaybackQuality().totalVideoFrames,
              fatal: window.hlsFatal,
              errors: window.hlsErrors,
              mediaError: video.error === null ? null : video.error.code,
              latency: Number.isFinite(window.hls.latency) ? window.hls.latency : null,
              lowLatency: window.hls.lowLatencyMode,
            };
          })()`);
        let first = await state();
        for (let i = 0; i < 100 && first.currentTime === 0 && first.fatal === null; i++) {
          await sleep(100);
          first = await state();
        }
        expect(first.fatal).toBeNull();
        expect(first.currentTime).toBeGreaterThan(0);
        await sleep(4000);
        const second = await state();
        expect(second.fatal).toBeNull();
        // Not even a non-fatal one: a part or segment whose media ends before the time the playlist gives it made
        // hls.js in low-latency mode load the first segment over and over, then report bufferAppendNoProgress.
        expect(second.errors).toEqual([]);
        expect(second.mediaError).toBeNull();
        expect(second.currentTime - first.currentTime).toBeGreaterThan(2);
        expect(second.frames - first.frames).toBeGreaterThan(40);
        expect(second.lowLatency).toBe(lowLatency);
        mkdirSync(OUTPUT, { recursive: true });
        await page.screenshot({ path: join(OUTPUT, `hls-chromium${lowLatency ? '-ll' : ''}.png`) });
        console.log(
          `hls.js ${lowLatency ? 'LL-HLS' : 'HLS'}: latency ${second.latency?.toFixed(2)} s, errors ${JSON.stringify(second.errors)}`,
        );
      } finally {
        await close();
        await page$.close();
        publish.child.kill('SIGKILL');
        await publish.done;
      }
    });
  }
});
