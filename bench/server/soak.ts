// Soak: the relay server in its own child process, FFmpeg publishing a long stream to an FFmpeg player through it, a
// hostile child process (every scenario of packages/server/test/hostile/attacker.ts, 10,000 connect/close cycles,
// 1,000 connections held at once), and 1,000 publisher kill/network-cut cycles whose publishers and players are
// @rtmp/client (which is why it lives in the root bench package). Run from bench/ (build first):
//
//   node --import tsx server/soak.ts                # full soak (~4-6 minutes on 2 cores); pnpm soak does the same
//   node --import tsx server/soak.ts --scale 0.1    # a tenth of every count
//
// Prints the server's RSS/fd/session figures sampled every 500 ms, and a PASS/FAIL summary (exit code 1 on FAIL).
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LiveRelay, RtmpServer } from '@rtmp/server';
import { CuttableProxy, fixture, openFds, run, sleep } from '@rtmp/testing';
// The fault tests' publisher and player (packages/e2e), the hostile tests' attacker and fixture reader.
import {
  player,
  publisher,
  type TestPlayer,
  type TestPublisher,
  tagType,
} from '../../packages/e2e/test/helpers/peers.js';
import { flvTags } from '../../packages/server/test/hostile/lib.js';
import { runAttacker } from '../../packages/server/test/hostile/server-harness.js';

const SERVER = { handshakeTimeout: 5000, idleTimeout: 10_000, pingInterval: 2000, maxConnections: 1500 };

interface Sample {
  rss: number;
  heap: number;
  fds: number;
  sessions: number;
  errors: Record<string, number>;
  exits?: number;
}

// ---- the server child -------------------------------------------------------------------------------------------
async function serverMain(): Promise<void> {
  const relay = new LiveRelay();
  const server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: relay.handler(), ...SERVER });
  const errors: Record<string, number> = {};
  server.on('sessionError', (_s, e) => {
    errors[e.code] = (errors[e.code] ?? 0) + 1;
  });
  server.on('connectionRefused', (e) => {
    errors[`refused:${e.code}`] = (errors[`refused:${e.code}`] ?? 0) + 1;
  });
  process.on('uncaughtException', (e) => {
    errors.uncaughtException = (errors.uncaughtException ?? 0) + 1;
    console.error(e);
  });
  process.on('unhandledRejection', (e) => {
    errors.unhandledRejection = (errors.unhandledRejection ?? 0) + 1;
    console.error(e);
  });
  const port = await server.start();
  process.send?.({ port });
  setInterval(() => {
    const m = process.memoryUsage();
    const sample: Sample = {
      rss: m.rss,
      heap: m.heapUsed,
      fds: openFds(),
      sessions: server.sessions.size,
      errors,
    };
    process.send?.({ sample, live: relay.liveKeys().length });
  }, 500);
  process.on('message', (msg) => {
    if (msg === 'stop') void server.stop().then(() => process.exit(0));
  });
}

// ---- the driver --------------------------------------------------------------------------------------------------
function arg(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function driverMain(): Promise<void> {
  const scale = Number(arg('scale') ?? 1);
  const n = (x: number) => Math.max(1, Math.round(x * scale));
  const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-soak-'));
  const self = fileURLToPath(import.meta.url);
  const child: ChildProcess = fork(self, ['--server'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const samples: Sample[] = [];
  let live = 0;
  const port = await new Promise<number>((resolve) => {
    child.on('message', (msg: { port?: number; sample?: Sample; live?: number }) => {
      if (msg.port) resolve(msg.port);
      if (msg.sample) samples.push(msg.sample);
      if (msg.live !== undefined) live = msg.live;
    });
  });
  const latest = () => samples.at(-1)!;
  await sleep(600);
  const baseline = latest();
  console.log(
    `soak: server pid ${child.pid} on port ${port}; baseline RSS ${mb(baseline.rss)} MiB, ${baseline.fds} fds`,
  );
  const t0 = Date.now();
  const problems: string[] = [];

  // Legitimate stream: long enough to span the attack.
  const loops = String(n(40));
  const url = `rtmp://127.0.0.1:${port}/live/legit`;
  const out = path.join(dir, 'played.flv');
  const direct = path.join(dir, 'direct.flv');
  await run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-stream_loop',
    loops,
    '-i',
    fixture('small_h264_aac.flv'),
    '-c',
    'copy',
    '-f',
    'flv',
    direct,
  ]).done;
  const ffplayer = run(
    'ffmpeg',
    ['-v', 'error', '-nostdin', '-y', '-i', url, '-c', 'copy', '-f', 'flv', out],
    30 * 60_000,
  );
  await sleep(1000);
  const ffpub = run(
    'ffmpeg',
    [
      '-v',
      'error',
      '-nostdin',
      '-re',
      '-stream_loop',
      loops,
      '-i',
      fixture('small_h264_aac.flv'),
      '-c',
      'copy',
      '-f',
      'flv',
      url,
    ],
    30 * 60_000,
  );

  // Hostile child process and fault cycles in parallel.
  const attack = runAttacker(
    { port, liveKey: 'legit', cycles: n(10_000), held: n(1000), holdMs: 2000, waitMs: 30_000, rounds: n(5) },
    30 * 60_000,
  );
  const faults = faultCycles(port, n(1000), problems);
  const report = await attack;
  const faultMs = await faults;
  const published = await ffpub.done;
  const played = await ffplayer.done;
  if (published.code !== 0)
    problems.push(`publisher exited ${published.code}: ${published.stderr.slice(-300)}`);
  if (played.code !== 0) problems.push(`player exited ${played.code}: ${played.stderr.slice(-300)}`);
  const [got, want] = await Promise.all([packets(out), packets(direct)]);
  let lost = want.length - got.length;
  if (got.join() !== want.join()) {
    problems.push(`player got ${got.length} packets, source has ${want.length} (or they differ)`);
    lost = Math.max(lost, 1);
  }

  // Let the server time out whatever is left, then compare with the baseline.
  const settle = Date.now();
  while (latest().sessions > 0 && Date.now() - settle < 30_000) await sleep(500);
  await sleep(1500);
  const end = latest();
  const maxRss = Math.max(...samples.map((s) => s.rss));
  const late = report.scenarios.filter((s) => !s.closedByServer);
  const slowest = Math.max(...report.scenarios.map((s) => s.msToClose));
  if (late.length > 0) problems.push(`${late.length} hostile connections never closed by the server`);
  if (report.cycles.failed > 0)
    problems.push(`${report.cycles.failed} connect/close cycles failed: ${report.cycles.errors.join('; ')}`);
  if (report.held.openAtOnce !== n(1000))
    problems.push(`only ${report.held.openAtOnce} connections open at once`);
  if (end.sessions !== 0) problems.push(`${end.sessions} sessions left`);
  if (end.fds > baseline.fds + 4) problems.push(`fds ${baseline.fds} -> ${end.fds}`);
  if (maxRss > RSS_BOUND) problems.push(`RSS peaked at ${mb(maxRss)} MiB (bound ${mb(RSS_BOUND)})`);
  if (end.errors.uncaughtException || end.errors.unhandledRejection)
    problems.push('uncaught exception in the server');
  if (exited) problems.push('the server process exited');
  if (live !== 0) problems.push(`${live} keys still live`);

  console.log(`
soak summary (${((Date.now() - t0) / 1000).toFixed(0)} s, scale ${scale})
  legitimate stream: ${want.length} packets sent, ${got.length} received, ${Math.max(0, lost)} lost
  hostile scenarios: ${report.scenarios.length} connections, all closed by the server: ${late.length === 0}, slowest close ${slowest} ms
  connect/close cycles: ${report.cycles.done}/${n(10_000)} in ${report.cycles.ms} ms
  held at once: ${report.held.openAtOnce}/${n(1000)} (opened in ${report.held.ms} ms)
  kill/cut cycles: ${n(1000)} in ${faultMs} ms
  server RSS: baseline ${mb(baseline.rss)} MiB, max ${mb(maxRss)} MiB, end ${mb(end.rss)} MiB (bound ${mb(RSS_BOUND)} MiB); heap end ${mb(end.heap)} MiB
  server fds: baseline ${baseline.fds}, end ${end.fds}; sessions at end ${end.sessions}
  typed errors logged: ${JSON.stringify(end.errors)}
${problems.length === 0 ? 'PASS' : `FAIL\n  - ${problems.join('\n  - ')}`}`);
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  process.exit(problems.length === 0 ? 0 : 1);
}

const RSS_BOUND = 512 * 2 ** 20;
const mb = (b: number) => (b / 2 ** 20).toFixed(0);

async function packets(file: string): Promise<string[]> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'packet=codec_type,size,flags', '-of', 'csv=p=0', file],
    120_000,
  ).done;
  return stdout.trim().split('\n');
}

/** Publisher deaths in batches of 50: half cut by a proxy (no FIN/RST), half reset like a killed process. */
async function faultCycles(port: number, cycles: number, problems: string[]): Promise<number> {
  const started = Date.now();
  const tags = flvTags('small_h264_aac.flv')
    .filter((t) => t.type !== 18)
    .slice(0, 30);
  for (let done = 0; done < cycles; done += 50) {
    const batch = Math.min(50, cycles - done);
    const proxy = new CuttableProxy(port);
    const proxyPort = await proxy.listen();
    const pubs: TestPublisher[] = [];
    const viewers: TestPlayer[] = [];
    try {
      for (let i = 0; i < batch; i++) {
        const key = `fault-${done + i}`;
        pubs.push(await publisher(i % 2 === 0 ? proxyPort : port, key));
        viewers.push(await player(port, key));
      }
      for (const pub of pubs) for (const t of tags) pub.publisher.write(tagType(t.type), t.timestamp, t.body);
      await sleep(200);
      proxy.cut();
      pubs.forEach((p, i) => {
        if (i % 2 === 1) p.client.connection!.socket.resetAndDestroy();
      });
      const bound = SERVER.idleTimeout + 3000;
      const ended = await Promise.allSettled(
        viewers.map((v) => v.status('NetStream.Play.UnpublishNotify', bound)),
      );
      const missed = ended.filter((r) => r.status === 'rejected').length;
      if (missed > 0)
        problems.push(`${missed} players of killed/cut publishers got no end-of-stream within ${bound} ms`);
    } catch (error) {
      problems.push(`fault cycle ${done}: ${String(error)}`);
    }
    for (const v of viewers) v.client.destroy();
    for (const p of pubs) p.client.destroy();
    await proxy.close();
  }
  return Date.now() - started;
}

if (process.argv.includes('--server')) await serverMain();
else await driverMain();
