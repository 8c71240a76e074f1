/**
 * HLS latency and cost, beside nginx-rtmp's own HLS, in one run (`pnpm --filter @rtmp/bench hls`).
 *
 * Latency, glass to glass in Chromium: a source whose every frame carries its number in 16 black/white blocks
 * (FFmpeg's geq) is published in real time with `@rtmp/client` (each video message's send time recorded); hls.js
 * plays the server's HLS in Debian's Chromium (playwright-core), and on every presented frame
 * (`requestVideoFrameCallback`, `expectedDisplayTime`) the page reads the blocks back from a canvas. Latency = the
 * frame's display time minus its send time, one machine clock. Rows: ours LL-HLS (hls.js `lowLatencyMode`), ours
 * regular HLS with `--hls-segment 1` (hls.js default live sync, 3 segments), nginx-rtmp `hls on` (MPEG-TS,
 * `hls_fragment 1s`) served as files.
 *
 * Cost: CPU seconds of the server process per GB ingested (FFmpeg `-c copy` publishing the 720p30 3 Mbps source
 * as fast as the server takes it), with HLS muxing every stream against without, for both servers.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cpuSeconds,
  freePort,
  hasNginxRtmp,
  percentile,
  readFlvFile,
  run,
  startNginxRtmp,
  superviseServer,
  toolAvailable,
} from '@rtmp/testing';
import { chromium } from 'playwright-core';
import { monotonicMs } from '../src/clock.js';
import { cacheDir, ingestSource } from '../src/media.js';
import { RealtimePublisher } from '../src/peers.js';
import { videoKey } from '../src/video-key.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const CLI = path.join(root, 'apps/ingest/dist/cli.js');
const require = createRequire(import.meta.url);
const HLS_JS = require.resolve('hls.js/dist/hls.min.js');
const HLS_JS_VERSION = (
  JSON.parse(readFileSync(require.resolve('hls.js/package.json'), 'utf8')) as { version: string }
).version;

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k ?? '', v ?? 'true'] as const;
  }),
);
const SECONDS = Number(args.get('seconds') ?? 20);
const WARMUP = Number(args.get('warmup') ?? 8);
const COPIES = Number(args.get('copies') ?? 3);
const RUNS = Number(args.get('runs') ?? 3);

/** 60 s of 320x240 30 fps H.264 (no B-frames, GOP 1 s) + AAC; rows 224-239 hold the frame number in 16 blocks. */
function latencySource(): string {
  const file = path.join(cacheDir, 'hls-latency-320x240-framebits-60s.flv');
  if (existsSync(file)) return file;
  mkdirSync(cacheDir, { recursive: true });
  const bits = "nullsrc=size=320x16:rate=30,format=gray,geq=lum='255*mod(floor(N/pow(2\\,floor(X/20)))\\,2)'";
  const partial = `${file}.partial.flv`;
  const { status } = spawnSync(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x224:rate=30', '-f', 'lavfi', '-i', bits],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
      ...[
        '-filter_complex',
        '[0:v][1:v]vstack=inputs=2,format=yuv420p[v]',
        '-map',
        '[v]',
        '-map',
        '2:a',
        '-t',
        '60',
      ],
      ...[
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-profile:v',
        'baseline',
        '-bf',
        '0',
        '-g',
        '30',
        '-b:v',
        '800k',
      ],
      ...['-c:a', 'aac', '-b:a', '64k', '-f', 'flv', partial],
    ],
    { stdio: 'inherit' },
  );
  if (status !== 0) throw new Error('ffmpeg could not make the latency source');
  renameSync(partial, file);
  return file;
}

interface Target {
  label: string;
  /** Where the publisher sends `live/cam`. */
  rtmp: string;
  /** The playlist hls.js loads. */
  playlist: string;
  lowLatency: boolean;
  pid: number;
  stop(): Promise<void>;
}

async function startOurs(
  extra: string[],
): Promise<{ pid: number; rtmp: string; http: string; stop(): Promise<void> }> {
  const port = await freePort();
  const httpPort = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'hls-bench-ours-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      CLI,
      '--port',
      String(port),
      '--http-port',
      String(httpPort),
      '--host',
      '127.0.0.1',
      '--log-level',
      'warn',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } },
  );
  const server = await superviseServer(child, { port, name: 'ours', dir });
  return {
    pid: server.pid,
    rtmp: `rtmp://127.0.0.1:${port}/live`,
    http: `http://127.0.0.1:${httpPort}`,
    stop: server.stop,
  };
}

/** A static file server with CORS for nginx-rtmp's hls_path (playlists not cached, as nginx would be set up). */
async function serveFolder(folder: string): Promise<{ base: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const name = path.basename((req.url ?? '/').split('?')[0] ?? '/');
    const file = path.join(folder, name);
    if (!existsSync(file)) {
      res.writeHead(404, { 'access-control-allow-origin': '*' }).end();
      return;
    }
    const playlist = name.endsWith('.m3u8');
    res.writeHead(200, {
      'access-control-allow-origin': '*',
      'content-type': playlist ? 'application/vnd.apple.mpegurl' : 'video/mp2t',
      'cache-control': playlist ? 'no-cache' : 'max-age=60',
      'content-length': String(statSync(file).size),
    });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function startNginxHls(
  hls: boolean,
): Promise<{ pid: number; rtmp: string; folder: string; stop(): Promise<void> }> {
  const folder = mkdtempSync(path.join(tmpdir(), 'hls-bench-nginx-'));
  const nginx = await startNginxRtmp({
    logLevel: 'warn',
    extraApplication: hls ? `hls on; hls_path ${folder}; hls_fragment 1s; hls_playlist_length 6s;` : '',
  });
  return {
    pid: nginx.pid,
    rtmp: nginx.url,
    folder,
    stop: async () => {
      await nginx.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

const PAGE = (hlsJs: string) => `<!doctype html><html><body style="margin:0">
<video id="v" muted autoplay playsinline width="320" height="240"></video>
<script>${hlsJs}</script>
<script>
const params = new URLSearchParams(location.search);
window.samples = []; window.fatal = null;
const video = document.getElementById('v');
const canvas = document.createElement('canvas'); canvas.width = 320; canvas.height = 16;
const ctx = canvas.getContext('2d', { willReadFrequently: true });
const hls = new Hls({ lowLatencyMode: params.get('ll') === '1' });
hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal && !window.fatal) window.fatal = d.details; });
hls.loadSource(params.get('src')); hls.attachMedia(video); video.play().catch(() => {});
function onFrame(_now, meta) {
  ctx.drawImage(video, 0, 224, 320, 16, 0, 0, 320, 16);
  const px = ctx.getImageData(0, 0, 320, 16).data;
  let n = 0;
  for (let k = 0; k < 16; k++) if (px[(8 * 320 + k * 20 + 10) * 4] > 128) n += 2 ** k;
  window.samples.push([n, performance.timeOrigin + meta.expectedDisplayTime]);
  video.requestVideoFrameCallback(onFrame);
}
video.requestVideoFrameCallback(onFrame);
</script></body></html>`;

interface LatencyResult {
  label: string;
  frames: number;
  p50: number;
  p95: number;
  fatal: string | null;
}

/** Publishes the latency source to `target.rtmp`/cam and measures glass-to-glass latency in Chromium with hls.js. */
async function latency(target: Target, source: string): Promise<LatencyResult> {
  const tags = readFlvFile(source);
  const videoKeys = tags.filter((t) => t.type === 9 && t.body[1] === 1).map((t) => videoKey(t.body));
  const publisher = new RealtimePublisher(new URL(target.rtmp), 'cam', tags);
  // monotonicMs (the publisher's clock) to epoch ms (the page's performance.timeOrigin + ...), one machine clock.
  const epochOffset = Date.now() - monotonicMs();
  const hlsJs = readFileSync(HLS_JS, 'utf8');
  const page$ = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE(hlsJs)),
  );
  await new Promise<void>((r) => page$.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      ...[
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
      ],
      ...['--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
    ],
  });
  try {
    await publisher.start();
    // A GOP or two so that the first playlist has a segment (nginx-rtmp writes its playlist after the first).
    await new Promise((r) => setTimeout(r, 2500));
    const page = await browser.newPage();
    const pageUrl = `http://127.0.0.1:${(page$.address() as AddressInfo).port}/?ll=${target.lowLatency ? 1 : 0}&src=${encodeURIComponent(target.playlist)}`;
    await page.goto(pageUrl);
    await new Promise((r) => setTimeout(r, WARMUP * 1000));
    await page.evaluate('window.samples = []');
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const { samples, fatal } = await page.evaluate<{ samples: [number, number][]; fatal: string | null }>(
      '({ samples: window.samples, fatal: window.fatal })',
    );
    const latencies: number[] = [];
    for (const [frame, shownAt] of samples) {
      const key = videoKeys[frame];
      const sent = key === undefined ? undefined : publisher.sentAt.get(key);
      if (sent === undefined || Number.isNaN(sent)) continue;
      latencies.push(shownAt - (sent + epochOffset));
    }
    latencies.sort((a, b) => a - b);
    return {
      label: target.label,
      frames: latencies.length,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      fatal,
    };
  } finally {
    publisher.stop();
    await browser.close();
    page$.closeAllConnections();
    page$.close();
  }
}

interface CostResult {
  label: string;
  /** Median over the rounds of CPU seconds per GB ingested. */
  cpuPerGb: number;
  /** Every round's figure, in order. */
  rounds: number[];
  gb: number;
}

interface CostServer {
  label: string;
  pid: number;
  rtmp: string;
  stop(): Promise<void>;
}

/** FFmpeg `-c copy` publishing `file` to `<rtmp>/<name>` without pacing: as fast as the server takes it. */
async function publishFast(server: CostServer, file: string, name: string): Promise<void> {
  const argv = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', file, '-c', 'copy', '-f', 'flv'];
  const result = await run('ffmpeg', [...argv, `${server.rtmp}/${name}`], 300_000).done;
  if (result.code !== 0) throw new Error(`${server.label}: ffmpeg failed: ${result.stderr}`);
}

/**
 * CPU seconds of each server process per GB ingested. Every server runs for the whole measurement and gets one
 * unmeasured warm-up ingest; then rounds publish to each in turn (the order rotating each round), so that the
 * machine's other load falls on all of them alike; the median round is reported.
 */
async function costs(servers: readonly CostServer[], file: string): Promise<CostResult[]> {
  const gb = statSync(file).size / 1e9;
  for (const server of servers) await publishFast(server, file, 'warmup');
  const rounds = servers.map(() => [] as number[]);
  for (let round = 0; round < RUNS; round++) {
    for (let k = 0; k < servers.length; k++) {
      const i = (k + round) % servers.length;
      const server = servers[i]!;
      const before = cpuSeconds(server.pid);
      await publishFast(server, file, `run${round}`);
      rounds[i]!.push((cpuSeconds(server.pid) - before) / gb);
    }
  }
  return servers.map((server, i) => {
    const sorted = [...rounds[i]!].sort((a, b) => a - b);
    return { label: server.label, cpuPerGb: percentile(sorted, 50), rounds: rounds[i]!, gb: gb * RUNS };
  });
}

async function main(): Promise<void> {
  for (const tool of ['ffmpeg', 'ffprobe', 'chromium']) {
    if (!toolAvailable(tool, tool === 'chromium' ? ['--version'] : undefined))
      throw new Error(`${tool} is needed`);
  }
  if (!existsSync(CLI)) throw new Error(`build the app first: ${CLI}`);
  const withNginx = hasNginxRtmp();
  const source = latencySource();
  const latencies: LatencyResult[] = [];

  // Latency: each server alone, one after the other.
  {
    const ours = await startOurs([]);
    latencies.push(
      await latency(
        {
          label: 'ours, LL-HLS (parts 0.25 s, GOP 1 s), hls.js lowLatencyMode',
          rtmp: ours.rtmp,
          playlist: `${ours.http}/live/cam/index.m3u8`,
          lowLatency: true,
          pid: ours.pid,
          stop: ours.stop,
        },
        source,
      ),
    );
    await ours.stop();
  }
  {
    const ours = await startOurs(['--hls-segment', '1']);
    latencies.push(
      await latency(
        {
          label: 'ours, LL-HLS playlist with 1 s segments, hls.js without lowLatencyMode',
          rtmp: ours.rtmp,
          playlist: `${ours.http}/live/cam/index.m3u8`,
          lowLatency: false,
          pid: ours.pid,
          stop: ours.stop,
        },
        source,
      ),
    );
    await ours.stop();
  }
  {
    const ours = await startOurs(['--hls-segment', '1', '--no-hls-low-latency']);
    latencies.push(
      await latency(
        {
          label: 'ours, plain HLS playlist (--no-hls-low-latency), 1 s segments, hls.js default',
          rtmp: ours.rtmp,
          playlist: `${ours.http}/live/cam/index.m3u8`,
          lowLatency: false,
          pid: ours.pid,
          stop: ours.stop,
        },
        source,
      ),
    );
    await ours.stop();
  }
  if (withNginx) {
    const nginx = await startNginxHls(true);
    const files = await serveFolder(nginx.folder);
    latencies.push(
      await latency(
        {
          label: 'nginx-rtmp, hls on (MPEG-TS, hls_fragment 1s), hls.js default',
          rtmp: nginx.rtmp,
          playlist: `${files.base}/cam.m3u8`,
          lowLatency: false,
          pid: nginx.pid,
          stop: nginx.stop,
        },
        source,
      ),
    );
    await files.close();
    await nginx.stop();
  }

  // Cost: CPU per ingested GB, HLS muxing every stream against none, all servers measured in the same rounds.
  const cpuSource = ingestSource('3M', COPIES).file;
  const servers: CostServer[] = [];
  for (const [label, extra] of [
    ['ours, --hls off', ['--hls', 'off']],
    ['ours, --hls on-demand (default), no viewer', []],
    ['ours, --hls always (every stream muxed)', ['--hls', 'always']],
  ] as const) {
    servers.push({ label, ...(await startOurs([...extra])) });
  }
  if (withNginx) {
    for (const hls of [false, true]) {
      servers.push({
        label: `nginx-rtmp, hls ${hls ? 'on (hls_fragment 1s)' : 'off'}`,
        ...(await startNginxHls(hls)),
      });
    }
  }
  const costResults = await costs(servers, cpuSource);
  for (const server of servers) await server.stop();

  console.log(
    `\nGlass-to-glass latency in Chromium (hls.js ${HLS_JS_VERSION}), ${SECONDS} s measured after ${WARMUP} s:\n`,
  );
  console.log('| server and mode | frames | p50 (s) | p95 (s) | fatal error |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of latencies) {
    console.log(
      `| ${r.label} | ${r.frames} | ${(r.p50 / 1000).toFixed(2)} | ${(r.p95 / 1000).toFixed(2)} | ${r.fatal ?? 'none'} |`,
    );
  }
  console.log(
    `\nCPU per ingested GB (${COPIES} x 60 s 720p30 3 Mbps H.264 + AAC per round, ${RUNS} rounds, FFmpeg -c copy without -re):\n`,
  );
  console.log('| server and mode | CPU s per GB (median) | rounds | GB ingested |');
  console.log('| --- | --- | --- | --- |');
  for (const c of costResults) {
    const rounds = c.rounds.map((r) => r.toFixed(2)).join(', ');
    console.log(`| ${c.label} | ${c.cpuPerGb.toFixed(2)} | ${rounds} | ${c.gb.toFixed(2)} |`);
  }
}

await main();
