/**
 * Browser glass-to-glass latency of HTTP-FLV and WS-FLV: our ingest app (apps/ingest, built) beside
 * node-media-server 4.4.3, measured the same way in the same run.
 *
 * `@rtmp/client` publishes a 640x360 30 fps H.264 (no B-frames) + AAC file in real time and records when it writes
 * each video frame; Debian's Chromium (playwright-core) plays the stream with mpegts.js and its live latency chasing
 * (the dashboard's settings) and reports when each frame is shown (`requestVideoFrameCallback`: the frame's media
 * time and its expected display time). Both are epoch milliseconds of one machine clock (`performance.timeOrigin +
 * performance.now()` in each process). A raw HTTP-FLV reader in this process records when each video tag arrives:
 * publisher -> server -> viewer over loopback, the server's share of the total. The player subscribes before the
 * publish starts, so its media time 0 is the stream's timestamp 0.
 *
 * Usage (in bench/, after `pnpm turbo run build`): `node --import tsx browser/latency.ts [--seconds=20] [--runs=2]`
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { publishFlv, RtmpClient } from '@rtmp/client';
import { FlvReader } from '@rtmp/flv-demux';
import { freePort, launchChromium, percentile, sleep, superviseServer } from '@rtmp/testing';
import { cacheDir } from '../src/media.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k!, v ?? 'true'] as const;
  }),
);
const SECONDS = Number(args.get('seconds') ?? 20);
const RUNS = Number(args.get('runs') ?? 2);
/** Frames of the first seconds are left out: the player starts, then chases down to its target latency. */
const WARMUP_MS = 5_000;

const now = () => performance.timeOrigin + performance.now();

/** The source: 60 s of 640x360 30 fps H.264 without B-frames (GOP 1 s) + AAC, made once. */
function sourceFile(): string {
  const file = path.join(cacheDir, 'testsrc2-360p30-nobf-aac-60s.flv');
  if (existsSync(file)) return file;
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${file}.partial`;
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30'],
    ...[
      '-f',
      'lavfi',
      '-i',
      'sine',
      '-t',
      '60',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-bf',
      '0',
      '-g',
      '30',
    ],
    ...['-b:v', '1M', '-c:a', 'aac', '-f', 'flv', partial],
  ]);
  renameSync(partial, file);
  return file;
}

/** A server under test: where to publish, and the HTTP base of its `/<app>/<key>.flv`. */
interface Server {
  name: string;
  rtmp: string;
  http: string;
  stop(): Promise<void>;
}

async function startOurs(): Promise<Server> {
  const cli = path.resolve(here, '../../apps/ingest/dist/cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run pnpm turbo run build first`);
  const [port, httpPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [cli, '--port', String(port), '--http-port', String(httpPort), '--host', '127.0.0.1'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RTMP_INGEST_PLAY_WAIT: '60000', RTMP_INGEST_LOG_LEVEL: 'warn' },
    },
  );
  const running = await superviseServer(child, {
    port: httpPort,
    name: 'ours',
    dir: mkdtempSync(path.join(tmpdir(), 'lat-ours-')),
  });
  return {
    name: 'ours (apps/ingest)',
    rtmp: `rtmp://127.0.0.1:${port}/live`,
    http: `127.0.0.1:${httpPort}`,
    stop: running.stop,
  };
}

async function startNms(): Promise<Server> {
  const [port, httpPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(tmpdir(), 'lat-nms-'));
  const child = spawn(
    process.execPath,
    [path.join(here, '../src/servers/nms.cjs'), String(port), dir, String(httpPort)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'production' },
    },
  );
  const running = await superviseServer(child, { port, name: 'node-media-server', dir });
  await sleep(300);
  return {
    name: 'node-media-server 4.4.3',
    rtmp: `rtmp://127.0.0.1:${port}/live`,
    http: `127.0.0.1:${httpPort}`,
    stop: running.stop,
  };
}

/** A raw HTTP-FLV reader: when each video tag (by timestamp) arrived, epoch ms. */
function tap(http: string, key: string): { arrivals: Map<number, number>; close(): void } {
  const [host, port] = http.split(':');
  const socket = connect(Number(port), host);
  socket.setNoDelay(true);
  socket.write(`GET /live/${key}.flv HTTP/1.1\r\nHost: ${http}\r\n\r\n`);
  const arrivals = new Map<number, number>();
  const reader = new FlvReader();
  let head = true;
  let pending: Buffer = Buffer.alloc(0);
  let chunkLeft = -1;
  const push = (body: Buffer) => {
    const at = now();
    for (const tag of reader.push(body))
      if (tag.type === 9 && !arrivals.has(tag.timestamp)) arrivals.set(tag.timestamp, at);
  };
  socket.on('data', (data: Buffer) => {
    pending = pending.byteLength === 0 ? data : Buffer.concat([pending, data]);
    if (head) {
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      pending = pending.subarray(end + 4);
      head = false;
    }
    // Chunked transfer coding, undone by hand.
    for (;;) {
      if (chunkLeft < 0) {
        const eol = pending.indexOf('\r\n');
        if (eol < 0) return;
        chunkLeft = Number.parseInt(pending.subarray(0, eol).toString('latin1'), 16);
        pending = pending.subarray(eol + 2);
        if (!(chunkLeft > 0)) return;
      }
      if (pending.byteLength < chunkLeft + 2) return;
      push(pending.subarray(0, chunkLeft));
      pending = pending.subarray(chunkLeft + 2);
      chunkLeft = -1;
    }
  });
  socket.on('error', () => undefined);
  return { arrivals, close: () => socket.destroy() };
}

interface Row {
  server: string;
  transport: string;
  frames: number;
  glass: number[];
  share: number[];
  errors: string[];
}

async function measure(
  server: Server,
  transport: 'ws-flv' | 'http-flv',
  pageBase: string,
  run: number,
  context: Awaited<ReturnType<typeof launchChromium>>['context'],
): Promise<Row> {
  const key = `lat-${transport}-${run}`;
  const src = `${transport === 'ws-flv' ? 'ws' : 'http'}://${server.http}/live/${key}.flv`;
  const page = await context.newPage();
  await page.goto(`${pageBase}/?src=${encodeURIComponent(src)}`);
  const probe = tap(server.http, key);
  // Both viewers subscribe before the publish starts.
  await sleep(1_500);
  const sent = new Map<number, number>();
  const client = new RtmpClient({ url: `${server.rtmp}/${key}` });
  await client.connect();
  const publisher = await client.publish();
  const tags = new FlvReader()
    .push(readFileSync(sourceFile()))
    .filter((t) => t.type === 8 || t.type === 9 || t.type === 18)
    .map((t) => ({ type: t.type as 8 | 9 | 18, timestamp: t.timestamp, body: t.body }));
  await publishFlv(publisher, tags, {
    realtime: true,
    duration: SECONDS * 1000,
    onTag: (tag) => {
      if (tag.type === 9 && !sent.has(tag.timestamp)) sent.set(tag.timestamp, now());
    },
  });
  await sleep(1_000);
  const presented = await page.evaluate(
    () => (globalThis as unknown as { presented: [number, number][] }).presented,
  );
  const errors = await page.evaluate(() => (globalThis as unknown as { errors: string[] }).errors);
  await client.close();
  probe.close();
  await page.close();
  const first = Math.min(...sent.values());
  const glass: number[] = [];
  for (const [mediaTime, shownAt] of presented) {
    const timestamp = Math.round(mediaTime * 1000);
    // FLV timestamps are whole milliseconds: the frame is the one whose timestamp is within 2 ms.
    let sentAt: number | undefined;
    for (let d = 0; d <= 2 && sentAt === undefined; d++)
      sentAt = sent.get(timestamp + d) ?? sent.get(timestamp - d);
    if (sentAt === undefined || sentAt - first < WARMUP_MS) continue;
    glass.push(shownAt - sentAt);
  }
  const share: number[] = [];
  for (const [timestamp, arrivedAt] of probe.arrivals) {
    const sentAt = sent.get(timestamp);
    if (sentAt !== undefined && sentAt - first >= WARMUP_MS) share.push(arrivedAt - sentAt);
  }
  return {
    server: server.name,
    transport,
    frames: presented.length,
    glass: glass.sort((a, b) => a - b),
    share: share.sort((a, b) => a - b),
    errors,
  };
}

async function main(): Promise<void> {
  sourceFile();
  const pageHtml = readFileSync(path.join(here, 'latency-page.html'));
  const mpegts = readFileSync(require.resolve('mpegts.js'));
  const pages = createServer((req, res) => {
    const body = req.url?.startsWith('/mpegts.js') ? mpegts : pageHtml;
    res
      .writeHead(200, { 'content-type': req.url?.startsWith('/mpegts.js') ? 'text/javascript' : 'text/html' })
      .end(body);
  });
  const pagePort = await freePort();
  await new Promise<void>((resolve) => pages.listen(pagePort, '127.0.0.1', resolve));
  const chromium = await launchChromium();
  const rows: Row[] = [];
  try {
    for (const start of [startOurs, startNms]) {
      const server = await start();
      try {
        for (let run = 0; run < RUNS; run++) {
          for (const transport of ['ws-flv', 'http-flv'] as const) {
            const row = await measure(
              server,
              transport,
              `http://127.0.0.1:${pagePort}`,
              run,
              chromium.context,
            );
            rows.push(row);
            console.log(
              `${row.server} ${row.transport} run ${run + 1}: ${row.frames} frames shown, glass-to-glass p50 ${fmt(percentile(row.glass, 50))} ms, server share p50 ${fmt(percentile(row.share, 50))} ms${row.errors.length ? `, errors ${row.errors.join('; ')}` : ''}`,
            );
          }
        }
      } finally {
        await server.stop();
      }
    }
  } finally {
    await chromium.close();
    pages.close();
  }
  console.log(
    `\n${SECONDS} s per run, ${RUNS} runs per row, first ${WARMUP_MS / 1000} s of each run left out; ms, epoch clock of this machine\n`,
  );
  console.log(
    '| server | transport | frames measured | glass-to-glass p50 | p95 | server share p50 | p95 | max |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const server of [...new Set(rows.map((r) => r.server))]) {
    for (const transport of ['ws-flv', 'http-flv']) {
      const mine = rows.filter((r) => r.server === server && r.transport === transport);
      const glass = mine.flatMap((r) => r.glass).sort((a, b) => a - b);
      const share = mine.flatMap((r) => r.share).sort((a, b) => a - b);
      console.log(
        `| ${server} | ${transport.toUpperCase()} | ${glass.length} | ${fmt(percentile(glass, 50))} | ${fmt(percentile(glass, 95))} | ${fmt(percentile(share, 50))} | ${fmt(percentile(share, 95))} | ${fmt(share.at(-1) ?? Number.NaN)} |`,
      );
    }
  }
}

function fmt(ms: number): string {
  return Number.isFinite(ms) ? ms.toFixed(ms < 10 ? 1 : 0) : '–';
}

await main();
