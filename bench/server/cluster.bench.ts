// pnpm --filter @rtmp/bench cluster [-- --quick] [--seconds=20]
//
// The cluster of apps/ingest nodes on one redis-server (issue 22), on this machine's loopback:
//   1. one edge hop: a realtime publisher on node 1, a light player on node 1 and one on node 2 (which pulls the
//      stream from node 1), both in this process: the same video message's receipt on node 2 minus on node 1 is
//      the latency the hop adds; beside it, the same difference between two players of node 1 (the floor of the
//      method). CPU of both nodes over the window.
//   2. registry operations: Redis commands per second with the nodes idle, then with one stream published on
//      node 1 and pulled by node 2 (INFO commandstats: every command, those run inside scripts included).
//   3. viewers: 1, 2 and 3 nodes, a publisher on node 1, light players spread over the nodes in turn: the share of
//      the bytes each player got, latency, CPU of every node and of this process.
// Prints tables; BENCHMARKS.md ("Cluster") keeps a run of it.
import { execFileSync, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import {
  cpuSeconds,
  freePort,
  hasRedis,
  percentile,
  type RunningRedis,
  readFlvFile,
  type ServerProcess,
  sleep,
  startRedis,
  superviseServer,
} from '@rtmp/testing';
import { LitePlayer } from '../src/lite-player.js';
import { sourceFile } from '../src/media.js';
import { RealtimePublisher } from '../src/peers.js';
import { INGEST_CLI } from '../src/servers.js';

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k ?? '', v ?? 'true'] as const;
  }),
);
const quick = args.has('quick');
const seconds = Number(args.get('seconds') ?? (quick ? 8 : 20));
const steps = (args.get('viewers') ?? (quick ? '100,300' : '300,600,1200')).split(',').map(Number);

interface Node extends ServerProcess {
  /** `rtmp://127.0.0.1:<port>/live`. */
  url: string;
}

async function startNode(redis: RunningRedis): Promise<Node> {
  const port = await freePort();
  const httpPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      INGEST_CLI,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--http-port',
      String(httpPort),
      '--cluster',
      redis.url,
      '--node-url',
      `rtmp://127.0.0.1:${port}`,
      '--max-players',
      '5000',
      '--max-connections',
      '5000',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } },
  );
  const server = await superviseServer(child, { port, name: 'rtmp-ingest' });
  return { ...server, url: `rtmp://127.0.0.1:${port}/live` };
}

/** Every command Redis ran so far (scripts' inner commands included), from INFO commandstats. */
function redisCalls(redis: RunningRedis): number {
  const text = execFileSync('redis-cli', ['-p', String(redis.port), 'INFO', 'commandstats'], {
    encoding: 'utf8',
  });
  let calls = 0;
  for (const match of text.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') calls += Number(match[2]);
  }
  return calls;
}

const tags = readFlvFile(sourceFile('1M'));
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    n: sorted.length,
  };
};

/** Receipt times of video messages by key, for one player. */
function receipts(): { at: Map<number, number>; onVideo: (key: number, at: number) => void } {
  const at = new Map<number, number>();
  return { at, onVideo: (key, t) => void at.set(key, t) };
}

async function hop(redis: RunningRedis): Promise<void> {
  const [n1, n2] = [await startNode(redis), await startNode(redis)];
  try {
    const url1 = new URL(`${n1.url}/hop`);
    const publisher = new RealtimePublisher(url1, 'hop', tags);
    await publisher.start();
    await sleep(1_000);
    const direct = receipts();
    const peer = receipts();
    const edge = receipts();
    const players = [
      new LitePlayer(url1, 'hop', direct.onVideo),
      new LitePlayer(url1, 'hop', peer.onVideo),
      new LitePlayer(new URL(`${n2.url}/hop`), 'hop', edge.onVideo),
    ];
    await Promise.all(players.map((p) => p.start()));
    await sleep(3_000);
    const cpu0 = [cpuSeconds(n1.pid), cpuSeconds(n2.pid)];
    const t0 = performance.now();
    for (const p of players) p.counting = true;
    await sleep(seconds * 1000);
    for (const p of players) p.counting = false;
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = [cpuSeconds(n1.pid) - (cpu0[0] ?? 0), cpuSeconds(n2.pid) - (cpu0[1] ?? 0)];
    const diff = (a: Map<number, number>, b: Map<number, number>) => {
      const out: number[] = [];
      for (const [key, t] of b) {
        const t0 = a.get(key);
        if (t0 !== undefined) out.push(t - t0);
      }
      return out;
    };
    const sent = (m: Map<number, number>) => {
      const out: number[] = [];
      for (const [key, t] of m) {
        const s = publisher.sentAt.get(key);
        if (s !== undefined && !Number.isNaN(s)) out.push(t - s);
      }
      return out;
    };
    const hopMs = stats(diff(direct.at, edge.at));
    const floor = stats(diff(direct.at, peer.at));
    const toDirect = stats(sent(direct.at));
    const toEdge = stats(sent(edge.at));
    console.log(`\n## One edge hop (${seconds} s, 1 Mbit/s 720p30, loopback)\n`);
    console.log('| measure | p50 ms | p90 ms | p99 ms | video messages |');
    console.log('| --- | --- | --- | --- | --- |');
    console.log(
      `| publisher -> player on node 1 | ${fmt(toDirect.p50, 2)} | ${fmt(toDirect.p90, 2)} | ${fmt(toDirect.p99, 2)} | ${toDirect.n} |`,
    );
    console.log(
      `| publisher -> player on node 2 (edge) | ${fmt(toEdge.p50, 2)} | ${fmt(toEdge.p90, 2)} | ${fmt(toEdge.p99, 2)} | ${toEdge.n} |`,
    );
    console.log(
      `| **added by the hop** (node 2 receipt - node 1 receipt) | **${fmt(hopMs.p50, 2)}** | ${fmt(hopMs.p90, 2)} | ${fmt(hopMs.p99, 2)} | ${hopMs.n} |`,
    );
    console.log(
      `| floor: second player of node 1 - first | ${fmt(floor.p50, 2)} | ${fmt(floor.p90, 2)} | ${fmt(floor.p99, 2)} | ${floor.n} |`,
    );
    console.log(
      `\nCPU over the window, % of one core: node 1 (publisher, 2 players, node 2's pull) ${fmt((100 * (cpu[0] ?? 0)) / elapsed)}, node 2 (the pull, 1 player) ${fmt((100 * (cpu[1] ?? 0)) / elapsed)}`,
    );
    for (const p of players) p.stop();
    publisher.stop();
  } finally {
    await Promise.all([n1.stop(), n2.stop()]);
  }
}

async function registryOps(redis: RunningRedis): Promise<void> {
  const [n1, n2] = [await startNode(redis), await startNode(redis)];
  try {
    await sleep(2_000);
    const window = Math.max(6, Math.min(seconds, 12)) * 1000;
    const idle0 = redisCalls(redis);
    await sleep(window);
    const idle = ((redisCalls(redis) - idle0) * 1000) / window;
    const url1 = new URL(`${n1.url}/ops`);
    const publisher = new RealtimePublisher(url1, 'ops', tags);
    await publisher.start();
    const player = new LitePlayer(new URL(`${n2.url}/ops`), 'ops', () => undefined);
    await player.start();
    await sleep(2_000);
    const busy0 = redisCalls(redis);
    await sleep(window);
    const busy = ((redisCalls(redis) - busy0) * 1000) / window;
    console.log(
      `\n## Registry operations (Redis commands per second, ${window / 1000} s windows, TTL 5 s)\n`,
    );
    console.log('| state | commands/s |');
    console.log('| --- | --- |');
    console.log(`| two idle nodes (heartbeats: node records) | ${fmt(idle, 2)} |`);
    console.log(`| + one stream published on node 1, pulled by node 2 | ${fmt(busy, 2)} |`);
    console.log(`| the stream's share (origin claim + one edge) | ${fmt(busy - idle, 2)} |`);
    player.stop();
    publisher.stop();
  } finally {
    await Promise.all([n1.stop(), n2.stop()]);
  }
}

async function viewers(redis: RunningRedis, nodeCount: number, total: number): Promise<string> {
  const nodes: Node[] = [];
  for (let i = 0; i < nodeCount; i++) nodes.push(await startNode(redis));
  const list: LitePlayer[] = [];
  try {
    const url1 = new URL(`${nodes[0]!.url}/fan`);
    const publisher = new RealtimePublisher(url1, 'fan', tags);
    await publisher.start();
    await sleep(1_000);
    const latencies: number[] = [];
    const onVideo = (key: number, at: number) => {
      const s = publisher.sentAt.get(key);
      if (s !== undefined && !Number.isNaN(s)) latencies.push(at - s);
    };
    let failures = 0;
    for (let i = 0; i < total; i += 25) {
      const joins: Promise<void>[] = [];
      for (let j = i; j < Math.min(total, i + 25); j++) {
        const node = nodes[j % nodeCount]!;
        const player = new LitePlayer(new URL(`${node.url}/fan`), 'fan', onVideo);
        joins.push(player.start().then(() => void list.push(player)));
      }
      for (const r of await Promise.allSettled(joins)) if (r.status === 'rejected') failures++;
    }
    await sleep(3_000);
    const cpu0 = nodes.map((n) => cpuSeconds(n.pid));
    const harness0 = process.cpuUsage();
    const t0 = performance.now();
    for (const p of list) p.counting = true;
    await sleep(seconds * 1000);
    for (const p of list) p.counting = false;
    const t1 = performance.now();
    const elapsed = (t1 - t0) / 1000;
    const cpu = nodes.map((n, i) => (100 * (cpuSeconds(n.pid) - (cpu0[i] ?? 0))) / elapsed);
    const harness = process.cpuUsage(harness0);
    const expected = publisher.bytesBetween(t0, t1);
    const ratios = list.map((p) => (p.closedEarly ? 0 : p.bytes / expected)).sort((a, b) => a - b);
    const at95 = ratios.filter((r) => r >= 0.95).length + 0;
    const lat = stats(latencies);
    publisher.stop();
    return `| ${nodeCount} | ${total} | ${list.length - ratios.filter((r) => r === 0).length}${failures > 0 ? ` (${failures} refused)` : ''} | ${at95} | ${fmt(percentile(ratios, 50), 3)} | ${fmt(lat.p50, 1)} | ${fmt(lat.p99, 1)} | ${cpu.map((c) => fmt(c, 0)).join(' / ')} | ${fmt((100 * (harness.user + harness.system)) / 1e6 / elapsed, 0)} |`;
  } finally {
    for (const p of list) p.stop();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

async function main(): Promise<void> {
  if (!hasRedis()) throw new Error('redis-server is needed');
  const redis = await startRedis();
  try {
    console.log(`# Cluster bench (${quick ? 'quick' : 'full'}), node ${process.version}`);
    await hop(redis);
    await registryOps(redis);
    console.log(`\n## Viewers over 1, 2 and 3 nodes (${seconds} s windows, 1 Mbit/s, publisher on node 1)\n`);
    console.log(
      '| nodes | viewers | connected | got >= 95 % of the bytes | median share | latency p50 ms | p99 ms | CPU % per node | harness CPU % |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const total of steps) {
      for (const count of [1, 2, 3]) console.log(await viewers(redis, count, total));
    }
  } finally {
    await redis.stop();
  }
}

await main();
