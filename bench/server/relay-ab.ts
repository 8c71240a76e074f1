// A/B of LiveRelay's per-message cost: the working tree's relay against the relay of another commit, in one process,
// in interleaved rounds (so a busy machine slows both alike), medians reported. Both are loaded from source through
// tsx, so the same transpiler and the same @rtmp/chunk / @rtmp/flv-demux / @rtmp/connection builds serve both.
//
// Run (in bench/, after a build): node --import tsx server/relay-ab.ts [--base=<git ref>] [--rounds=15]
//   [--players=1,10,100] [--samples] (prints every round's figure)
//   = pnpm --filter @rtmp/bench relay-ab -- --base=main
//
// The base commit's packages/server/src is extracted with `git archive` into bench/.cache/relay-ab/<sha>/ (ignored
// by git); its relay imports the workspace packages the bench depends on. The stream is the legacy H.264 + AAC
// fixture (small_h264_aac.flv: 100 video and 174 audio messages, GOP 50), pushed in a loop with rising timestamps
// to N players whose connection only counts bytes: the relay's own cost per message per player.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RtmpMessage } from '@rtmp/chunk';
import { parseFlvTags, readFixture } from '@rtmp/testing';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v = ''] = a.replace(/^--/, '').split('=');
    return [k!, v];
  }),
);
const baseRef = args.get('base') || 'main';
const rounds = Number(args.get('rounds') || 15);
const PLAYERS = (args.get('players') || '1,10,100').split(',').map(Number);

/** The part of a relay both versions share (structurally typed: the two builds are different classes). */
interface Relay {
  publish(key: string, publisher: unknown, streamId: number): boolean;
  play(key: string, session: unknown, streamId: number): void;
  push(key: string, publisher: unknown, message: RtmpMessage): void;
}
type RelayClass = new (options?: { maxGopBytes?: number }) => Relay;

function loadBase(ref: string): Promise<{ LiveRelay: RelayClass }> {
  const sha = execFileSync('git', ['rev-parse', '--short=12', ref], { cwd: repo, encoding: 'utf8' }).trim();
  const dir = path.join(repo, 'bench/.cache/relay-ab', sha);
  if (!existsSync(path.join(dir, 'packages/server/src/relay/relay.ts'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git archive ${sha} packages/server/src | tar -x -C '${dir}'`], { cwd: repo });
  }
  console.log(`base: ${ref} (${sha}), extracted in ${path.relative(repo, dir)}`);
  return import(pathToFileURL(path.join(dir, 'packages/server/src/relay/relay.ts')).href);
}

const base = await loadBase(baseRef);
const head: { LiveRelay: RelayClass } = await import(
  pathToFileURL(path.join(repo, 'packages/server/src/relay/relay.ts')).href
);

const tags = parseFlvTags(readFixture('small_h264_aac.flv')).filter((t) => t.type === 8 || t.type === 9);
const headers = tags.filter((t) => t.body[1] === 0);
const media = tags.filter((t) => t.body[1] !== 0);
const loopMs = media.at(-1)!.timestamp + 40;

interface Sink {
  bytes: number;
}

/** A stand-in session: what the relay touches of a player (wants, closed, close/endPlayback, the write side). */
function fakeSession(sink: Sink | undefined) {
  return {
    closed: false,
    wants: () => true,
    endPlayback: () => {},
    close: () => {},
    connection: {
      writableLength: 0,
      outChunkSize: 4096,
      writeEncoded(slices: readonly Uint8Array[]) {
        if (sink) for (const s of slices) sink.bytes += s.byteLength;
        return true;
      },
    },
  };
}

/** CPU ns per message per player for `messages` media messages pushed to `players` players. */
function measure(LiveRelay: RelayClass, players: number, messages: number): number {
  const relay = new LiveRelay({ maxGopBytes: 1 << 30 });
  const publisher = fakeSession(undefined);
  relay.publish('k', publisher, 1);
  for (const h of headers)
    relay.push('k', publisher, { type: h.type, streamId: 1, timestamp: 0, payload: h.body });
  const sinks: Sink[] = [];
  for (let i = 0; i < players; i++) {
    const sink = { bytes: 0 };
    sinks.push(sink);
    relay.play('k', fakeSession(sink), 1);
  }
  const push = (i: number) => {
    const tag = media[i % media.length]!;
    const timestamp = tag.timestamp + Math.floor(i / media.length) * loopMs;
    relay.push('k', publisher, { type: tag.type, streamId: 1, timestamp, payload: tag.body });
  };
  for (let i = 0; i < media.length; i++) push(i); // into the GOP cache, players fed
  // CPU time of the process (main thread and GC helpers), not wall time: on a shared machine the wall clock also
  // counts the time other processes held the cores.
  const start = process.cpuUsage();
  for (let i = 0; i < messages; i++) push(media.length + i);
  const used = process.cpuUsage(start);
  const ns = (used.user + used.system) * 1000;
  if (sinks.some((s) => s.bytes === 0)) throw new Error('a player got nothing');
  return ns / messages / players;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });

console.log(`LiveRelay per-message cost, ${baseRef} vs working tree, Node ${process.version}`);
console.log(
  `legacy H.264 + AAC (small_h264_aac.flv, ${media.length} media messages looped), ${rounds} rounds\n`,
);
console.log(' players | base CPU ns/msg/player | head CPU ns/msg/player | head/base | base min | head min');
for (const n of PLAYERS) {
  const messages = Math.max(5_000, Math.round(400_000 / n));
  // Warm-up of both, then interleaved rounds in ABBA order (each round's figure is the mean of its two runs), so
  // that neither always runs first or last: in a run of identical code against itself a plain ABAB order still
  // showed a few per cent in favour of one side.
  for (let i = 0; i < 3; i++) {
    measure(base.LiveRelay, n, messages);
    measure(head.LiveRelay, n, messages);
    measure(head.LiveRelay, n, messages);
    measure(base.LiveRelay, n, messages);
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a1 = measure(base.LiveRelay, n, messages);
    const b1 = measure(head.LiveRelay, n, messages);
    const b2 = measure(head.LiveRelay, n, messages);
    const a2 = measure(base.LiveRelay, n, messages);
    a.push((a1 + a2) / 2);
    b.push((b1 + b2) / 2);
  }
  if (args.has('samples'))
    console.log(
      `   base ${a.map((x) => x.toFixed(1)).join(' ')}\n   head ${b.map((x) => x.toFixed(1)).join(' ')}`,
    );
  const ma = median(a);
  const mb = median(b);
  console.log(
    `${String(n).padStart(8)} | ${fmt(ma).padStart(22)} | ${fmt(mb).padStart(22)} | ${(mb / ma).toFixed(3).padStart(9)} | ${fmt(Math.min(...a)).padStart(8)} | ${fmt(Math.min(...b)).padStart(8)}`,
  );
}
