import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { clkTck, cpuSeconds, type RawFlvTag as FlvTag, memory, percentile } from '@rtmp/testing';
import { LitePlayer } from './lite-player.js';
import { RealtimePublisher } from './peers.js';
import { ProbeProcess } from './probes.js';
import { bytesUnder, cpuTimes, emptyDir } from './proc-times.js';
import type { RunningServer, ServerName } from './servers.js';
import { startServer } from './servers.js';

/** One ingest of the whole source file into one server. */
export interface IngestRun {
  /** Server CPU seconds (user + system, all threads) from FFmpeg's start to 300 ms after its exit. */
  cpu: number;
  /** Of {@link cpu}, user time and system (kernel) time. */
  user: number;
  system: number;
  bytes: number;
  /** Wall seconds FFmpeg took. */
  wall: number;
  /** Bytes the server recorded (recording servers; 0 otherwise). */
  recorded: number;
}

/** Ingest figures of one server. */
export interface IngestResult {
  server: ServerName;
  /** The first ingest into the fresh server (not part of the warm figures): JIT and lazy loading included. */
  cold: IngestRun;
  /** The measured (warm) runs, in round order (run i of every server belongs to the same interleaved round). */
  runs: IngestRun[];
  /** Server CPU seconds per GB (1e9 bytes) of file sent, over all warm runs. */
  cpuPerGb: number;
  /** Of it, user and system time per GB. */
  userPerGb: number;
  systemPerGb: number;
  /** The best (lowest) and worst warm run. */
  bestCpuPerGb: number;
  worstCpuPerGb: number;
  /** Server CPU seconds per GB of the cold (first) ingest. */
  coldCpuPerGb: number;
  /** Ingest throughput of the warm runs, MB/s of file over wall time (FFmpeg as fast as the server reads). */
  mbPerSecond: number;
  peakRss: number;
  /** Recorded bytes / sent bytes over the warm runs (recording servers; NaN otherwise). */
  recordedRatio: number;
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

async function ingestOnce(
  server: RunningServer,
  file: string,
  bytes: number,
  stream: string,
): Promise<IngestRun> {
  const cpu0 = cpuTimes(server.pid);
  const t0 = performance.now();
  await runFfmpeg(file, `${server.url}/${stream}`);
  const wall = (performance.now() - t0) / 1000;
  // Let the server finish the bytes FFmpeg left in the socket, the teardown and the recording's last writes.
  await sleep(300);
  const cpu1 = cpuTimes(server.pid);
  const user = cpu1.user - cpu0.user;
  const system = cpu1.system - cpu0.system;
  let recorded = 0;
  if (server.recordDir !== undefined) {
    recorded = bytesUnder(server.recordDir);
    // Out of the measured window: the next run starts with an empty folder (and the disk does not fill up).
    emptyDir(server.recordDir);
  }
  return { cpu: user + system, user, system, bytes, wall, recorded };
}

/** CPU seconds per GB (1e9 bytes) of file sent in one run. */
export const perGb = (r: IngestRun): number => r.cpu / (r.bytes / 1e9);

/**
 * FFmpeg publishes the file with `-c copy` and no `-re` (as fast as the server takes it) into each server: first
 * `warmups` unmeasured ingests per server (the first is reported apart as the cold figure: a Node server spends
 * its first few hundred MB compiling its hot paths and growing its heaps and malloc arenas), then `runs` measured
 * ingests. The servers run side by side and every round is interleaved across them, so a burst of other load on
 * the shared machine hits all of them alike.
 */
export async function ingest(
  servers: readonly ServerName[],
  file: string,
  runs: number,
  warmups = 1,
): Promise<IngestResult[]> {
  const bytes = statSync(file).size;
  const running: RunningServer[] = [];
  const log = (name: ServerName, what: string, r: IngestRun): void =>
    console.log(
      `  ingest ${name} ${what}: ${r.cpu.toFixed(2)} CPU s (user ${Math.round(r.user * clkTck())} + system ` +
        `${Math.round(r.system * clkTck())} ticks), ${r.wall.toFixed(2)} s wall, ${perGb(r).toFixed(2)} CPU s/GB` +
        (r.recorded > 0 ? `, recorded ${(r.recorded / 1e6).toFixed(1)} MB` : ''),
    );
  try {
    for (const name of servers) running.push(await startServer(name));
    await sleep(500);
    const cold = new Map<ServerName, IngestRun>();
    for (let round = 0; round < warmups; round++) {
      for (const server of running) {
        const r = await ingestOnce(server, file, bytes, `warmup${round}`);
        if (round === 0) cold.set(server.name, r);
        log(server.name, `warm-up ${round + 1}${round === 0 ? ' (cold)' : ''}, not in the warm figures`, r);
      }
    }
    const results = new Map<ServerName, IngestRun[]>(servers.map((s) => [s, []]));
    for (let run = 0; run < runs; run++) {
      for (const server of running) {
        const r = await ingestOnce(server, file, bytes, `ingest${run}`);
        results.get(server.name)?.push(r);
        log(server.name, `run ${run + 1}`, r);
      }
    }
    return running.map((server) => {
      const list = results.get(server.name) ?? [];
      const sum = (pick: (r: IngestRun) => number): number => list.reduce((a, r) => a + pick(r), 0);
      const gb = sum((r) => r.bytes) / 1e9;
      const first = cold.get(server.name) ?? {
        cpu: Number.NaN,
        user: Number.NaN,
        system: Number.NaN,
        bytes,
        wall: Number.NaN,
        recorded: 0,
      };
      return {
        server: server.name,
        cold: first,
        runs: list,
        cpuPerGb: sum((r) => r.cpu) / gb,
        userPerGb: sum((r) => r.user) / gb,
        systemPerGb: sum((r) => r.system) / gb,
        bestCpuPerGb: Math.min(...list.map(perGb)),
        worstCpuPerGb: Math.max(...list.map(perGb)),
        coldCpuPerGb: perGb(first),
        mbPerSecond: (gb * 1e3) / sum((r) => r.wall),
        peakRss: memory(server.pid).peak,
        recordedRatio: server.recordDir === undefined ? Number.NaN : sum((r) => r.recorded) / (gb * 1e9),
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
  /** Of `players`, how many were latency probes in the probe process (the rest are in the harness process). */
  probes: number;
  /** Players that completed setup (connect, createStream, play) and were not dropped during the window. */
  playersOk: number;
  setupFailures: number;
  /** Server CPU time over the measurement window, in % of one core. */
  cpuPercent: number;
  peakRss: number;
  rss: number;
  /** Payload bytes each player (probes included) received / payload bytes the publisher sent in the window. */
  minDelivered: number;
  medianDelivered: number;
  /** Players that got at least 95% of the bytes. */
  playersAt95: number;
  /**
   * Publisher write to receipt by the probes in the probe process (the latency the server adds, plus the
   * loopback and scheduling on a busy machine), ms.
   */
  probeLatencyP50: number;
  probeLatencyP90: number;
  probeLatencyP99: number;
  probeLatencySamples: number;
  /** CPU of the probe process over the window, % of one core. */
  probeCpuPercent: number;
  /**
   * Publisher write to receipt by the players in the harness process, ms: includes the harness event loop, which
   * handles hundreds of readable sockets one after another, so an upper bound on what the server adds.
   */
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
 * Where in the join order the `probes` probe players join: spread over it and always including the last
 * player, since a server that writes to its players in join order reaches the last one last.
 */
export function probePositions(players: number, probes: number): Set<number> {
  const n = Math.min(players, Math.max(0, probes));
  const positions = new Set<number>();
  for (let k = 1; k <= n; k++) positions.add(Math.round((k * players) / n) - 1);
  return positions;
}

/**
 * One realtime publisher and `players` players (plus `rtmpdumps` rtmpdump players) on a fresh server. Of the
 * players, `probes` are latency probes in a separate light process (probes.ts) and the rest are in this process
 * with the publisher. Players join, everything settles for `warmup` ms, then for `duration` ms the server's CPU
 * time and every player's bytes and video latencies are counted.
 */
export async function fanout(
  name: ServerName,
  tags: readonly FlvTag[],
  players: number,
  options: { duration: number; warmup: number; rtmpdumps: number; probes: number },
): Promise<FanoutResult> {
  const server = await startServer(name);
  const stream = `fan${players}`;
  const url = new URL(`${server.url}/${stream}`);
  const publisher = new RealtimePublisher(url, stream, tags);
  const list: LitePlayer[] = [];
  const dumps: RtmpdumpPlayer[] = [];
  const positions = probePositions(players, options.probes);
  let probes: ProbeProcess | undefined;
  let probesJoined = 0;
  const latencies: number[] = [];
  const onVideo = (key: number, receivedAt: number): void => {
    const sent = publisher.sentAt.get(key);
    if (sent !== undefined && !Number.isNaN(sent)) latencies.push(receivedAt - sent);
  };
  let setupFailures = 0;
  try {
    if (positions.size > 0) probes = await ProbeProcess.start(publisher.sentAt);
    await publisher.start();
    await sleep(1_000);
    for (let i = 0; i < players; i += 25) {
      const joins: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(players, i + 25); j++) {
        if (probes && positions.has(j)) {
          joins.push(probes.join(url, stream).then(() => probesJoined++));
        } else {
          const player = new LitePlayer(url, stream, onVideo);
          joins.push(
            player.start().then(
              () => list.push(player),
              (error: unknown) => {
                player.stop();
                throw error;
              },
            ),
          );
        }
      }
      for (const s of await Promise.allSettled(joins)) {
        if (s.status === 'rejected') {
          setupFailures++;
          if (setupFailures <= 3) console.log(`  player setup failed: ${s.reason}`);
        }
      }
    }
    for (let i = 0; i < options.rtmpdumps; i++) dumps.push(startRtmpdump(`${server.url}/${stream}`));
    await sleep(options.warmup);

    // RTMP_BENCH_FANOUT_STRACE=<dir>: syscall counts of the server over the window (strace -c -f; the CPU figures
    // of such a run are inflated by strace, read only its counts).
    const straceDir = process.env.RTMP_BENCH_FANOUT_STRACE;
    const strace = straceDir
      ? spawn(
          'strace',
          ['-c', '-f', '-p', String(server.pid), '-o', path.join(straceDir, `${name}-${players}.txt`)],
          { stdio: 'ignore' },
        )
      : undefined;
    if (strace) await sleep(500);
    const cpu0 = cpuSeconds(server.pid);
    const harness0 = process.cpuUsage();
    const t0 = performance.now();
    probes?.startCounting();
    for (const p of list) p.counting = true;
    for (const d of dumps) d.counting = true;
    await sleep(options.duration);
    for (const p of list) p.counting = false;
    for (const d of dumps) d.counting = false;
    const t1 = performance.now();
    const cpu = cpuSeconds(server.pid) - cpu0;
    if (strace) {
      strace.kill('SIGINT');
      await new Promise((resolve) => strace.once('exit', resolve));
    }
    const harness = process.cpuUsage(harness0);
    const mem = memory(server.pid);
    const report = probes ? await probes.stopCounting() : { players: [], cpuPercent: Number.NaN };

    const expected = publisher.bytesBetween(t0, t1);
    const everyone = [...list, ...report.players];
    const ratios = everyone.map((p) => (p.closedEarly ? 0 : p.bytes / expected)).sort((a, b) => a - b);
    const sorted = latencies.sort((a, b) => a - b);
    const probeLatencies = (probes?.latencies ?? []).sort((a, b) => a - b);
    return {
      server: name,
      players,
      probes: probesJoined,
      playersOk: everyone.filter((p) => !p.closedEarly).length,
      setupFailures,
      cpuPercent: (cpu / ((t1 - t0) / 1000)) * 100,
      peakRss: mem.peak,
      rss: mem.current,
      minDelivered: ratios[0] ?? 0,
      medianDelivered: percentile(ratios, 50),
      playersAt95: ratios.filter((r) => r >= 0.95).length,
      probeLatencyP50: percentile(probeLatencies, 50),
      probeLatencyP90: percentile(probeLatencies, 90),
      probeLatencyP99: percentile(probeLatencies, 99),
      probeLatencySamples: probeLatencies.length,
      probeCpuPercent: report.cpuPercent,
      latencyP50: percentile(sorted, 50),
      latencyP90: percentile(sorted, 90),
      latencyP99: percentile(sorted, 99),
      latencySamples: sorted.length,
      rtmpdump: dumps.map((d) => d.bytes / expected),
      publishMbps: (expected * 8) / 1e6 / ((t1 - t0) / 1000),
      harnessCpuPercent: ((harness.user + harness.system) / 1e3 / (t1 - t0)) * 100,
    };
  } finally {
    publisher.stop();
    for (const p of list) p.stop();
    await probes?.stop();
    await Promise.all(dumps.map((d) => d.stop()));
    await server.stop();
  }
}
