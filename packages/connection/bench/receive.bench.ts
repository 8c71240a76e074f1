// The receive path of RtmpConnection: a captured FFmpeg publish (fixtures/captures, H.264 + AAC) pushed read by read,
// with its original read boundaries, into a server-role connection whose socket is an in-memory stream, so the figure
// is the core's own cost (chunk decode, control/command/data/media dispatch, acknowledgements) without the kernel's.
// The handshake of each connection is fed before the clock starts.
//
// Run: pnpm --filter @rtmp/connection bench   (= node --expose-gc --import tsx bench/receive.bench.ts)
// Compare builds in one run, interleaved round by round so that load on the machine hits both alike:
//   node --import tsx bench/receive.bench.ts ./dist/index.js /path/to/other/build/index.js
// (a build copied under this package's node_modules/ resolves its @rtmp/* dependencies like the real one).
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { chunkReads, directionBytes, HANDSHAKE_BYTES, readCapture } from '@rtmp/testing';
import type * as Connection from '../src/index.js';

const CAPTURE = 'ffmpeg-publish-h264-aac.rtmpcap';
const CONNECTIONS_PER_ROUND = 200;
const ROUNDS = Number(process.env.ROUNDS ?? 15);

/** A socket that accepts and drops every write: what the connection writes (S0-S2, acks) costs nothing. */
class NullSocket extends Duplex {
  override _read(): void {}
  override _write(_chunk: unknown, _encoding: BufferEncoding, callback: () => void): void {
    callback();
  }
  override _writev(_chunks: unknown, callback: () => void): void {
    callback();
  }
}

const records = readCapture(CAPTURE);
const handshake = Buffer.from(directionBytes(records, 0, HANDSHAKE_BYTES));
const reads = chunkReads(records, 0).map((bytes) => Buffer.from(bytes));
const chunkBytes = reads.reduce((sum, read) => sum + read.byteLength, 0);

interface Counts {
  messages: number;
  data: number;
  commands: number;
  controls: number;
}

/** One connection: handshake (untimed), then the chunk stream; returns the ns spent on the chunk stream. */
function oneConnection(module: typeof Connection, counts: Counts): bigint {
  const socket = new NullSocket();
  // The in-memory stream stands in for a net.Socket: it has every member the connection uses.
  const connection = new module.RtmpConnection(socket as unknown as Socket, { role: 'server' });
  connection.on('message', () => counts.messages++);
  connection.on('data', () => counts.data++);
  connection.on('command', () => counts.commands++);
  connection.on('control', () => counts.controls++);
  socket.emit('data', handshake);
  if (!connection.ready) throw new Error('the captured handshake did not complete');
  const start = process.hrtime.bigint();
  for (const read of reads) socket.emit('data', read);
  const elapsed = process.hrtime.bigint() - start;
  if (connection.closed) throw new Error(`the connection closed: ${connection.closeError?.message}`);
  connection.destroy();
  return elapsed;
}

/** Lets the destroyed connections close (their events are queued), and collects garbage when allowed to. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  globalThis.gc?.();
}

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

async function main(): Promise<void> {
  const paths = process.argv.slice(2);
  if (paths.length === 0) paths.push(new URL('../src/index.ts', import.meta.url).href);
  const builds: { label: string; module: typeof Connection; perRound: number[]; counts: Counts }[] = [];
  for (const path of paths) {
    const url = path.startsWith('file:') ? path : pathToFileURL(path).href;
    const module: typeof Connection = await import(url);
    builds.push({
      label: path,
      module,
      perRound: [],
      counts: { messages: 0, data: 0, commands: 0, controls: 0 },
    });
  }
  // Warm-up: let every build reach its optimised code before any round counts.
  for (const build of builds)
    for (let i = 0; i < CONNECTIONS_PER_ROUND; i++) oneConnection(build.module, build.counts);
  for (const build of builds) build.counts = { messages: 0, data: 0, commands: 0, controls: 0 };
  await settle();

  for (let round = 0; round < ROUNDS; round++) {
    for (const build of round % 2 === 0 ? builds : builds.toReversed()) {
      let ns = 0n;
      for (let i = 0; i < CONNECTIONS_PER_ROUND; i++) ns += oneConnection(build.module, build.counts);
      build.perRound.push(Number(ns) / CONNECTIONS_PER_ROUND);
      await settle();
    }
  }

  const perConnection = builds[0]!.counts;
  const connections = ROUNDS * CONNECTIONS_PER_ROUND;
  const messages =
    (perConnection.messages + perConnection.data + perConnection.commands + perConnection.controls) /
    connections;
  console.log(
    `${CAPTURE}: ${reads.length} reads, ${chunkBytes} bytes, ${messages} messages per connection ` +
      `(${perConnection.messages / connections} media, ${perConnection.data / connections} data, ` +
      `${perConnection.commands / connections} commands, ${perConnection.controls / connections} control); ` +
      `${ROUNDS} rounds of ${CONNECTIONS_PER_ROUND} connections`,
  );
  const first = builds[0]!;
  for (const build of builds) {
    const ns = median(build.perRound);
    // Rounds of two builds run back to back, so the ratio of each pair cancels most of the machine's drift.
    const ratio = median(build.perRound.map((value, round) => value / first.perRound[round]!));
    const best = Math.min(...build.perRound);
    console.log(
      `${build.label}\n  median ${(ns / 1000).toFixed(1)} us per connection (best round ${(best / 1000).toFixed(1)}), ` +
        `${((messages * 1e9) / ns / 1e6).toFixed(2)} M messages/s, ${((chunkBytes * 1e9) / ns / 2 ** 20).toFixed(0)} MiB/s` +
        (build === first
          ? ''
          : `; median time ratio to the first build, round by round: ${ratio.toFixed(3)}`),
    );
  }
}

await main();
