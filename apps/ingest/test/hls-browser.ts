import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium: never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Chromium headless, as this machine runs it: no sandbox (root), no GPU, no QUIC, and none of the background
 * network traffic the closed network refuses; a fresh profile each time (playwright's `launch` makes a new
 * temporary user data dir and removes it on close).
 */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  return {
    browser,
    close: () => browser.close(),
  };
}

const require = createRequire(import.meta.url);

/** hls.js from npm (its minified browser build), as a page loads it. */
export function hlsJsSource(): string {
  return readFileSync(require.resolve('hls.js/dist/hls.min.js'), 'utf8');
}

/**
 * The player page: hls.js plays `?src=` in a muted video, with `?lowLatency=1` for LL-HLS; the page keeps hls.js's
 * errors in `window.hlsErrors` (and the first fatal one in `window.hlsFatal`), and `window.hls` for inspection.
 */
export const PLAYER_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>hls.js</title></head>
<body style="margin:0;background:#000">
<video id="video" muted autoplay playsinline style="width:640px;height:480px"></video>
<script src="/hls.min.js"></script>
<script>
  const params = new URLSearchParams(location.search);
  window.hlsErrors = [];
  window.hlsFatal = null;
  const video = document.getElementById('video');
  const hls = new Hls({ lowLatencyMode: params.get('lowLatency') === '1', debug: false });
  window.hls = hls;
  hls.on(Hls.Events.ERROR, (_event, data) => {
    window.hlsErrors.push(data.details + (data.error ? ': ' + data.error.message : '') + ' @' + video.currentTime.toFixed(2));
    if (data.fatal && window.hlsFatal === null) window.hlsFatal = data.type + ' ' + data.details;
  });
  hls.loadSource(params.get('src'));
  hls.attachMedia(video);
  video.play().catch(() => {});
</script>
</body></html>`;

/** Serves {@link PLAYER_PAGE} and hls.js on 127.0.0.1 (another origin than the app: CORS is exercised). */
export async function startPlayerServer(): Promise<{ base: string; server: Server; close(): Promise<void> }> {
  const hlsJs = hlsJsSource();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/hls.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(hlsJs);
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PLAYER_PAGE);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
