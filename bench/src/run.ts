/**
 * The benchmark harness: ingest, fan-out and micro benchmarks of our server beside nginx-rtmp and
 * node-media-server (the bare server and apps/ingest as users start it, with and without recording), printed as
 * tables and written to BENCHMARKS.md at the repo root.
 *
 * `pnpm bench` (root: builds, then runs this), or `node --import tsx src/run.ts [options]` in bench/:
 *   --quick              ingest of the 60 s file (1 warm-up + 1 run), 5 s fan-out steps, no micro benchmarks
 *   --players=50,200,500 fan-out steps
 *   --duration=20        seconds measured per fan-out step
 *   --probes=5           of the players, latency probes in a separate process (0: none)
 *   --runs=3             measured ingest runs per server
 *   --warmups=3          unmeasured warm-up ingests per server before them (the first is the "cold" row)
 *   --ingest-copies=5    the ingest source is this many copies of the 60 s file joined (--quick: 1)
 *   --fanout-bitrate=1M  video bitrate of the fan-out source (3M = the ingest file; see BENCHMARKS.md for why 1M)
 *   --servers=ours,floor-fanout,ingest,nginx-rtmp,node-media-server,ingest-record,nginx-rtmp-record,floor-read,
 *                        floor-decode (the default: all; the recording pair and the ingest floors take part in the
 *                        ingest only, the fan-out floor in the fan-out only; floor-fanout-nagle, the fan-out floor
 *                        with Nagle on for players as nginx-rtmp has it, only when named)
 *   --no-fanout          ingest only
 *   --baseline=DIR       also run the bare server and apps/ingest of DIR (another commit, built: `pnpm install &&
 *                        pnpm turbo run build` there) in the same rounds, as ours-base and ingest-base
 *   --no-micro           skip the per-package micro benchmarks
 *   --no-write           print only, leave BENCHMARKS.md alone
 *   --out=PATH           where to write (default: ../BENCHMARKS.md)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clkTck, readFlvFile, rtmpModulePath, toolAvailable } from '@rtmp/testing';
import { parseFlags } from './flags.js';
import { describeMachine } from './machine.js';
import { ingestSource, sourceArgs, sourceFile } from './media.js';
import { MICRO_PACKAGES, type MicroResult, runMicro } from './micro.js';
import { fanoutTable, ingestTable, targetsTable } from './report.js';
import { type FanoutResult, fanout, ingest } from './scenarios.js';
import { DEFAULT_SERVERS, FANOUT_SERVERS, INGEST_SERVERS, SERVER_NAMES, type ServerName } from './servers.js';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Options {
  quick: boolean;
  players: number[];
  duration: number;
  warmup: number;
  runs: number;
  warmups: number;
  ingestCopies: number;
  probes: number;
  fanoutBitrate: string;
  servers: ServerName[];
  micro: boolean;
  write: boolean;
  out: string;
}

function positiveInteger(text: string, flag: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag}=${text}: expected an integer >= ${min}`);
  return n;
}

function parseArgs(argv: readonly string[]): Options {
  const flags = parseFlags(argv);
  const quick = flags.has('quick');
  const baseline = flags.get('baseline');
  if (baseline !== undefined) process.env.RTMP_BENCH_BASELINE = path.resolve(baseline);
  const defaults =
    baseline === undefined
      ? DEFAULT_SERVERS
      : [...DEFAULT_SERVERS, ...SERVER_NAMES.filter((s) => s.endsWith('-base'))];
  const servers = (flags.get('servers') ?? defaults.join(',')).split(',') as ServerName[];
  for (const s of servers) if (!SERVER_NAMES.includes(s)) throw new Error(`unknown server ${s}`);
  return {
    quick,
    players: flags.has('no-fanout') ? [] : (flags.get('players') ?? '50,200,500').split(',').map(Number),
    duration: Number(flags.get('duration') ?? (quick ? 5 : 20)) * 1000,
    warmup: quick ? 2_000 : 3_000,
    runs: positiveInteger(flags.get('runs') ?? (quick ? '1' : '3'), 'runs'),
    warmups: positiveInteger(flags.get('warmups') ?? (quick ? '1' : '3'), 'warmups'),
    ingestCopies: positiveInteger(flags.get('ingest-copies') ?? (quick ? '1' : '5'), 'ingest-copies'),
    probes: positiveInteger(flags.get('probes') ?? '5', 'probes', 0),
    fanoutBitrate: flags.get('fanout-bitrate') ?? '1M',
    servers,
    micro: !flags.has('no-micro') && !quick,
    write: !flags.has('no-write'),
    out: path.resolve(flags.get('out') ?? path.resolve(here, '../../BENCHMARKS.md')),
  };
}

const MB = 1024 * 1024;

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const args = process.argv.slice(2).filter((a) => a !== '--');
  const command = `pnpm bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
  for (const tool of ['ffmpeg', 'rtmpdump']) {
    if (!toolAvailable(tool)) throw new Error(`${tool} is required for the benchmarks`);
  }
  if (
    options.servers.some((s) => s.startsWith('nginx-rtmp')) &&
    (!toolAvailable('nginx') || !rtmpModulePath())
  ) {
    throw new Error('nginx with libnginx-mod-rtmp is required (or pass --servers without nginx-rtmp)');
  }
  const machine = describeMachine();
  const started = new Date();
  console.log(machine.join('\n'));

  const source = ingestSource('3M', options.ingestCopies);
  const file = source.file;
  const fileBytes = source.bytes;
  console.log(
    `ingest source: ${path.basename(file)}, ${(fileBytes / 1e6).toFixed(1)} MB, ${source.seconds.toFixed(1)} s`,
  );
  const fanoutFile = sourceFile(options.fanoutBitrate);
  const tags = readFlvFile(fanoutFile);
  console.log(`fan-out source: ${path.basename(fanoutFile)}`);

  console.log(
    `\ningest: ${options.warmups} warm-up + ${options.runs} measured run(s) per server, interleaved`,
  );
  const ingestServers = options.servers.filter((s) => INGEST_SERVERS.includes(s));
  const ingestResults = await ingest(ingestServers, file, options.runs, options.warmups);

  const fanoutResults: FanoutResult[] = [];
  const failures: string[] = [];
  const fanoutServers = options.servers.filter((s) => FANOUT_SERVERS.includes(s));
  for (const players of options.players) {
    for (const server of fanoutServers) {
      console.log(
        `\nfan-out: ${server}, ${players} players (${Math.min(players, options.probes)} of them probes) + 3 rtmpdump, ${options.duration / 1000} s measured`,
      );
      try {
        const r = await fanout(server, tags, players, {
          duration: options.duration,
          warmup: options.warmup,
          rtmpdumps: 3,
          probes: options.probes,
        });
        fanoutResults.push(r);
        console.log(
          `  CPU ${r.cpuPercent.toFixed(1)}%, peak RSS ${(r.peakRss / MB).toFixed(1)} MB, ${r.playersAt95}/${players} players >= 95%, ` +
            `latency probes p50 ${r.probeLatencyP50.toFixed(1)} p99 ${r.probeLatencyP99.toFixed(1)} ms (${r.probeLatencySamples} samples, probe process CPU ${r.probeCpuPercent.toFixed(1)}%), ` +
            `harness players p50 ${r.latencyP50.toFixed(1)} p99 ${r.latencyP99.toFixed(1)} ms, rtmpdump ${r.rtmpdump.map((x) => x.toFixed(3)).join(' ')}` +
            `, ${r.setupFailures} setup failures, publisher ${r.publishMbps.toFixed(2)} Mbit/s, harness CPU ${r.harnessCpuPercent.toFixed(0)}%`,
        );
      } catch (error) {
        failures.push(`fan-out ${players} ${server}: ${(error as Error).message.split('\n')[0]}`);
        console.log(`  FAILED: ${(error as Error).message}`);
      }
    }
  }

  const micro: MicroResult[] = [];
  if (options.micro) {
    for (const pkg of MICRO_PACKAGES) {
      console.log(`\nmicro: pnpm --filter ${pkg} bench`);
      const result = await runMicro(pkg);
      console.log(result.output);
      micro.push(result);
    }
  }

  const tables = [
    `#### Ingest (${options.warmups} warm-up + ${options.runs} measured ingest${options.runs === 1 ? '' : 's'} per server, interleaved)`,
    '',
    ingestTable(ingestResults),
    '',
    ...(fanoutResults.length ? ['#### Fan-out', '', fanoutTable(fanoutResults, options.players), ''] : []),
    '#### Targets (issue 18)',
    '',
    targetsTable(ingestResults, fanoutResults),
  ].join('\n');
  console.log(`\n${tables}\n`);
  if (failures.length) console.log(`failures:\n${failures.join('\n')}`);

  if (!options.write) return;
  // How coarse the CPU clock is next to the smallest measured ingest: the reader should see the resolution.
  const cheapest = ingestResults
    .flatMap((r) => r.runs.map((run) => ({ server: r.server, ticks: Math.round(run.cpu * clkTck()) })))
    .sort((a, b) => a.ticks - b.ticks)[0];
  const publishRate = fanoutResults.length
    ? fanoutResults.reduce((a, r) => a + r.publishMbps, 0) / fanoutResults.length
    : Number.NaN;
  const generated = [
    '<!-- bench:begin (generated by bench/src/run.ts: edits between these markers are overwritten) -->',
    `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC with \`${command}\` ` +
      `(${options.quick ? 'quick run' : 'full run'}; ${((Date.now() - started.getTime()) / 60000).toFixed(1)} min).`,
    '',
    '**These figures come from a shared 2-core machine** on which other engineers were running test suites at the',
    'same time: absolute numbers move from run to run, so compare servers within one run (ingest runs are',
    'interleaved across the servers, fan-out steps run back to back) and read the ratios, not the absolutes.',
    '',
    '### Machine',
    '',
    ...machine.map((l) => `- ${l}`),
    '',
    '### Results',
    '',
    tables,
    '',
    ...(failures.length ? ['Failures:', '', ...failures.map((f) => `- ${f}`), ''] : []),
    '### How each figure is measured',
    '',
    `- Ingest source: \`ffmpeg ${sourceArgs('3M').join(' ')} ${path.basename(sourceFile('3M'))}\` (generated once into`,
    ...(source.copies > 1
      ? [
          `  bench/.cache), then ${source.copies} copies of it joined once with \`ffmpeg -f concat -safe 0 -i <list> -c copy\``,
          `  into ${path.basename(file)} (every stream's DTS checked continuous with ffprobe: no step back, no gap > 0.5 s):`,
        ]
      : ['  bench/.cache):']),
    `  ${(fileBytes / 1e6).toFixed(1)} MB, ${source.seconds.toFixed(1)} s, ${((fileBytes * 8) / 1e6 / source.seconds).toFixed(2)} Mbit/s.` +
      (cheapest
        ? ` The cheapest measured run (${cheapest.server}) cost ${cheapest.ticks} CPU ticks of ${(1000 / clkTck()).toFixed(0)} ms:` +
          ` tick rounding is within 1 tick per run, 1/${cheapest.ticks} of that run.`
        : ''),
    `- Fan-out source: the same command with \`-b:v ${options.fanoutBitrate}\` (${path.basename(fanoutFile)}).`,
    '- Servers, each alone in its process on 127.0.0.1 and a free port: the bare server = `RtmpServer` +',
    '  `LiveRelay` (`demux: false`, bench/src/servers/ours.mjs on the built packages); apps/ingest = `node',
    '  apps/ingest/dist/cli.js --port P --http-port H` from the repository root, as its README starts it (default',
    '  flags: statistics, codec probing, Prometheus metrics, JSON logs to a pipe), and with `--record-dir <temp dir>`',
    '  for the recording row; nginx-rtmp = `nginx` with `daemon off; master_process off; worker_processes 1;`,',
    '  `chunk_size 4096; application live { live on; }`, and with `record all; record_path <temp dir>;` added for',
    '  the recording row (recordings are measured, then deleted after each run); node-media-server 4.4.3',
    '  (bench/src/servers/nms.cjs: RTMP only, logger at error level). The floors (bench/src/servers/floor.mjs): our',
    "  server takes the publish, then the publisher's socket only reads into the shared read buffer and drops the",
    '  bytes ("reads"), or also decodes the chunk stream (`ChunkDecoder` with `transientInput`, every payload copied',
    '  once) and drops the messages ("chunk-decodes"): what a Node ingest server costs before it does anything with',
    '  the media. The fan-out floor (bench/src/servers/floor-fanout.mjs): our server admits the publisher and the',
    "  players (statuses as for the bare server), then the publisher's reads are chunk-decoded as in the decode floor,",
    "  the messages of each read are chunk-encoded once (the players' stream id and chunk size, the relay's chunk",
    '  streams and timestamps) into one buffer, and that buffer is written to every player socket with one',
    '  `socket.write` each; players get the last metadata and sequence headers when they join and start at the next',
    '  keyframe. No GOP cache, no slow-player policy, no per-player queue or state on the delivery path: what a',
    '  relay could skip only by dropping those features.',
    ...(options.servers.includes('floor-fanout-nagle')
      ? [
          "  The Nagle row is the same floor with `setNoDelay(false)` on each player's socket once it plays (our",
          '  connection core sets TCP_NODELAY; nginx-rtmp never does, so its small writes may leave in fewer segments).',
        ]
      : []),
    ...(process.env.RTMP_BENCH_BASELINE
      ? [
          `- Baseline rows: the bare server and apps/ingest of another checkout (\`--baseline=${process.env.RTMP_BENCH_BASELINE}\`,`,
          '  built there), started the same way and measured in the same rounds.',
        ]
      : []),
    '- CPU = utime + stime of the server process from /proc/PID/stat (clock ticks from `getconf CLK_TCK`; the',
    '  kernel keeps their sum exact and splits it between user and system by tick samples); RSS = VmHWM (peak) from',
    '  /proc/PID/status. Client processes (FFmpeg, players, rtmpdump) are not counted.',
    '- Ingest: `ffmpeg -i <source> -c copy -f flv rtmp://127.0.0.1:PORT/live/<stream>` (no -re). The servers',
    `  start side by side; each first gets ${options.warmups} unmeasured warm-up ingest${options.warmups === 1 ? '' : 's'} of the whole source (the first is the "cold"`,
    '  row: the first ingest into a fresh server, which for a Node server includes compiling its hot paths, loading',
    '  the modules of its first connection, and growing its heaps and malloc arenas; ours and node-media-server',
    `  take a few hundred MB to settle), then ${options.runs} measured ingest${options.runs === 1 ? '' : 's'} (the "warm" rows, the target row);`,
    "  every round is interleaved across the servers. CPU seconds per GB = server CPU from FFmpeg's start to",
    '  300 ms after its exit / (file bytes sent / 1e9). The ratio column divides by the reference server of the same',
    '  run (nginx-rtmp, or nginx-rtmp record all for the recording row): the mean over all warm runs, and in',
    '  brackets the range of the per-round ratios (run i of a server against run i of its reference).',
    `- Fan-out: a fresh server per step; one realtime publisher (paced by the file timestamps, ${publishRate.toFixed(2)} Mbit/s`,
    '  of audio + video payload; on the connection core of @rtmp/server) in the harness process, and N players:',
    `  ${options.probes} of them are latency probes in a separate light Node process (bench/src/probe-process.ts), the`,
    '  rest are in the harness process beside the publisher; all are bench/src/lite-player.ts (raw sockets, simple',
    '  handshake, connect/createStream/play, acks and ping replies, a chunk walker that counts media bytes without',
    '  reassembling them, so hundreds fit in one process). Plus 3 rtmpdump players (`rtmpdump -v -r URL -o -`),',
    '  not counted in N. Players join in batches of 25; the probes take positions spread over the join order,',
    '  always including the last (for 200 players and 5 probes: 40th, 80th, 120th, 160th, 200th), since a server',
    `  writing to its players in join order reaches the last one last. ${options.warmup / 1000} s settle, then the ${options.duration / 1000} s window.`,
    '  CPU % = server CPU seconds / window. Bytes per player (probes included) = audio + video payload bytes',
    '  received in the window / payload bytes the publisher wrote in the window.',
    '- Latency = publisher write to player receipt of each video message, matched by content (length and last',
    '  bytes, so timestamp rewriting does not matter), both times on CLOCK_MONOTONIC (`process.hrtime.bigint()`),',
    '  one clock for all processes. "Latency added by the server (probe process)" is measured by the probes, whose',
    "  process handles only their few sockets: it is the server's delay plus loopback and the scheduling of a busy",
    '  2-core machine; the target row uses it. "Harness-observed" is measured by the players in the harness',
    '  process: their event loop handles hundreds of readable sockets one after another, so it adds its own delay',
    '  and the figure is an upper bound on what the server adds.',
    '',
    ...(micro.length
      ? [
          '### Micro benchmarks (per package, beside node-media-server)',
          '',
          ...micro.flatMap((m) => [
            `\`pnpm --filter ${m.pkg} bench\` (${m.ok ? 'ok' : 'FAILED'}, ${m.seconds.toFixed(0)} s):`,
            '',
            '```text',
            m.output,
            '```',
            '',
          ]),
        ]
      : []),
    '<!-- bench:end -->',
  ].join('\n');

  let document: string;
  const previous = existsSync(options.out) ? readFileSync(options.out, 'utf8') : '';
  const begin = previous.indexOf('<!-- bench:begin');
  const end = previous.indexOf('<!-- bench:end -->');
  if (begin >= 0 && end > begin) {
    document = previous.slice(0, begin) + generated + previous.slice(end + '<!-- bench:end -->'.length);
  } else {
    document = [
      '# Benchmarks',
      '',
      'Our RTMP server beside nginx-rtmp and node-media-server, in the same run on the same machine.',
      'Reproduce with `pnpm bench` at the repo root (builds, then runs bench/src/run.ts; `pnpm bench -- --quick` for a',
      'short run). Needs ffmpeg, rtmpdump, nginx and libnginx-mod-rtmp.',
      '',
      generated,
      '',
    ].join('\n');
  }
  writeFileSync(options.out, document);
  console.log(`wrote ${options.out}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
