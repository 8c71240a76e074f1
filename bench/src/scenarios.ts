import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSeconds, type RawFlvTag as FlvTag, memory } from '@rtmp/testing';
import { LitePlayer } from './lite-player.js';
import { RealtimePublisher } from './peers.js';
import type { RunningServer, ServerName } from './servers.js';
import { startServer } from './servers.js';

/** Ingest figures of one server. */
export interface IngestResult {
  server: ServerName;
  runs: { cpu: number; bytes: number; wall: number }[];
  /** Server CPU seconds per GB (1e9 bytes) of file sent, over all runs. */
  cpuPerGb: number;
  /** The best (lowest) run, less disturbed by the other load on a shared machine. */
  bestCpuPerGb: number;
  /** Ingest throughput, MB/s of file over wall time (FFmpeg as fast as the server reads). */
  mbPerSecond: number;
  peakRss: number;
}

function runFfmpeg(file: string, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-i', file, '-c', 'copy', '-f', 'flv', url],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${stderr}`)),
    );
  });
}

/**
 * FFmpeg publishes the file with `-c copy` and no `-re` (as fast as the server takes it) `runs` times into each
 * server. The servers run side by side and the runs are interleaved, so a burst of other load on the shared
 * machine hits all three alike.
 */
export async function ingest(
  servers: readonly ServerName[],
  file: string,
  runs: number,
): Promise<IngestResult[]> {
  const bytes = statSync(file).size;
  const running: RunningServer[] = [];
  try {
    for (const name of servers) running.push(await startServer(name));
    await sleep(500);
    const results = new Map<ServerName, IngestResult['runs']>(servers.map((s) => [s, []]));
    for (let run = 0; run < runs; run++) {
      for (const server of running) {
        const cpu0 = cpuSeconds(server.pid);
        const t0 = performance.now();
        await runFfmpeg(file, `${server.url}/ingest${run}`);
        const wall = (performance.now() - t0) / 1000;
        // Let the server finish the bytes FFmpeg left in the socket and the teardown.
        await sleep(300);
        const cpu = cpuSeconds(server.pid) - cpu0;
        results.get(server.name)?.push({ cpu, bytes, wall });
        console.log(
          `  ingest ${server.name} run ${run + 1}: ${cpu.toFixed(2)} CPU s, ${wall.toFixed(2)} s wall, ${(cpu / (bytes / 1e9)).toFixed(1)} CPU s/GB`,
        );
      }
    }
    return running.map((server) => {
      const list = results.get(server.name) ?? [];
      const cpu = list.reduce((a, r) => a + r.cpu, 0);
      const total = list.reduce((a, r) => a + r.bytes, 0);
      const wall = list.reduce((a, r) => a + r.wall, 0);
      return {
        server: server.name,
        runs: list,
        cpuPerGb: cpu / (total / 1e9),
        bestCpuPerGb: Math.min(...list.map((r) => r.cpu / (r.bytes / 1e9))),
        mbPerSecond: total / 1e6 / wall,
        peakRss: memory(server.pid).peak,
      };
    });
  } finally {
    await Promise.all(running.map((s) => s.stop()));
  }
}

/** Fan-out figures of one server at one player count. */
export interface FanoutResult {
  server: ServerName;
  players: number;
  /** Players that completed setup (connect, createStream, play) and were not dropped during the window. */
  playersOk: number;
  setupFailures: number;
  /** Server CPU time over the measurement window, in % of one core. */
  cpuPercent: number;
  peakRss: number;
  rss: number;
  /** Payload bytes each player received / payload bytes the publisher sent in the window: min and median. */
  minDelivered: number;
  medianDelivered: number;
  /** Players that got at least 95% of the bytes. */
  playersAt95: number;
  latencyP50: number;
  latencyP90: number;
  latencyP99: number;
  latencySamples: number;
  /** rtmpdump players: FLV bytes written / payload bytes sent (slightly above 1: FLV tag headers). */
  rtmpdump: number[];
  /** Bitrate of the publisher over the window, Mbit/s. */
  publishMbps: number;
  /** CPU of the harness process (publisher + players) over the window, % of one core: near 100 = saturated. */
  harnessCpuPercent: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

interface RtmpdumpPlayer {
  bytes: number;
  counting: boolean;
  stop(): Promise<void>;
}

function startRtmpdump(url: string): RtmpdumpPlayer {
  const child = spawn('rtmpdump', ['-q', '-v', '-r', url, '-o', '-'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const player: RtmpdumpPlayer = {
    bytes: 0,
    counting: false,
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
  child.stdout.on('data', (d: Buffer) => {
    if (player.counting) player.bytes += d.length;
  });
  return player;
}

/**
 * One realtime publisher and `players` players (plus `rtmpdumps` rtmpdump players) on a fresh server. Players
 * join, everything settles for `warmup` ms, then for `duration` ms the server's CPU time and every player's bytes
 * and video latencies are counted. Publisher and players share this process and its clock.
 */
export async function fanout(
  name: ServerName,
  tags: readonly FlvTag[],
  players: number,
  options: { duration: number; warmup: number; rtmpdumps: number },
): Promise<FanoutResult> {
  const server = await startServer(name);
  const stream = `fan${players}`;
  const url = new URL(`${server.url}/${stream}`);
  const publisher = new RealtimePublisher(url, stream, tags);
  const list: LitePlayer[] = [];
  const dumps: RtmpdumpPlayer[] = [];
  let setupFailures = 0;
  try {
    await publisher.start();
    await sleep(1_000);
    for (let i = 0; i < players; i += 25) {
      const batch: LitePlayer[] = [];
      for (let j = i; j < Math.min(players, i + 25); j++) batch.push(new LitePlayer(url, stream, publisher));
      const settled = await Promise.allSettled(batch.map((p) => p.start()));
      settled.forEach((s, k) => {
        const player = batch[k];
        if (s.status === 'fulfilled' && player) list.push(player);
        else {
          setupFailures++;
          player?.stop();
          if (setupFailures <= 3 && s.status === 'rejected')
            console.log(`  player setup failed: ${s.reason}`);
        }
      });
    }
    for (let i = 0; i < options.rtmpdumps; i++) dumps.push(startRtmpdump(`${server.url}/${stream}`));
    await sleep(options.warmup);

    const cpu0 = cpuSeconds(server.pid);
    const harness0 = process.cpuUsage();
    const t0 = performance.now();
    for (const p of list) p.counting = true;
    for (const d of dumps) d.counting = true;
    await sleep(options.duration);
    for (const p of list) p.counting = false;
    for (const d of dumps) d.counting = false;
    const t1 = performance.now();
    const cpu = cpuSeconds(server.pid) - cpu0;
    const harness = process.cpuUsage(harness0);
    const mem = memory(server.pid);

    const expected = publisher.bytesBetween(t0, t1);
    const alive = list.filter((p) => !p.closedEarly);
    const ratios = list.map((p) => (p.closedEarly ? 0 : p.bytes / expected)).sort((a, b) => a - b);
    const latencies = list.flatMap((p) => p.latencies).sort((a, b) => a - b);
    return {
      server: name,
      players,
      playersOk: alive.length,
      setupFailures,
      cpuPercent: (cpu / ((t1 - t0) / 1000)) * 100,
      peakRss: mem.peak,
      rss: mem.current,
      minDelivered: ratios[0] ?? 0,
      medianDelivered: quantile(ratios, 0.5),
      playersAt95: ratios.filter((r) => r >= 0.95).length,
      latencyP50: quantile(latencies, 0.5),
      latencyP90: quantile(latencies, 0.9),
      latencyP99: quantile(latencies, 0.99),
      latencySamples: latencies.length,
      rtmpdump: dumps.map((d) => d.bytes / expected),
      publishMbps: (expected * 8) / 1e6 / ((t1 - t0) / 1000),
      harnessCpuPercent: ((harness.user + harness.system) / 1e3 / (t1 - t0)) * 100,
    };
  } finally {
    publisher.stop();
    for (const p of list) p.stop();
    await Promise.all(dumps.map((d) => d.stop()));
    await server.stop();
  }
}
