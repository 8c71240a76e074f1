// Relay fan-out cost of @rtmp/server beside node-media-server's relay, in the same run. It lives in the root bench
// package, not in @rtmp/server's, because its publisher is @rtmp/client (the server never depends on the client).
// Run: pnpm --filter @rtmp/bench relay   (= node --import tsx server/relay.bench.ts in bench/; build first)
//
// 1. In process: LiveRelay.push() feeding N fake players whose connection only counts bytes: the relay's own cost
//    per message per player, and a check that every player gets the same encoded slices (one encodeMessage per
//    message whatever N).
// 2. End to end over loopback TCP: one publisher (@rtmp/client) feeding N raw-socket players that only count
//    bytes, through RtmpServer + LiveRelay, and through node-media-server 4.4.3 (its RTMP server alone).
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as path from 'node:path';
import { encodeAmf0 } from '@rtmp/amf';
import { ChunkEncoder } from '@rtmp/chunk';
import { RtmpClient, type RtmpPublisher } from '@rtmp/client';
import { type ClientSession, LiveRelay, RtmpServer } from '@rtmp/server';

const FRAME = 10_000; // bytes of a video message (~2.4 Mbit/s at 30 fps)
const GOP = 60;

function frame(i: number): Uint8Array {
  const body = new Uint8Array(FRAME).fill(i & 255);
  body.set([i % GOP === 0 ? 0x17 : 0x27, 1, 0, 0, 0]);
  return body;
}
const FRAMES = Array.from({ length: GOP }, (_, i) => frame(i));

// ---------------------------------------------------------------------------------------------------------------
// 1. In process
// ---------------------------------------------------------------------------------------------------------------

interface FakePlayer {
  bytes: number;
}

function fakeSession(player: FakePlayer | undefined): ClientSession {
  const connection = {
    writableLength: 0,
    outChunkSize: 4096,
    writeEncoded(slices: readonly Uint8Array[]) {
      if (!player) return true;
      for (const s of slices) player.bytes += s.byteLength;
      return true;
    },
  };
  return {
    closed: false,
    connection,
    wants: () => true,
    endPlayback: () => {},
    close: () => {},
  } as unknown as ClientSession;
}

function inProcess(players: number, messages: number) {
  const relay = new LiveRelay({ maxGopBytes: 1 << 30 });
  const publisher = fakeSession(undefined);
  relay.publish('k', publisher, 1);
  relay.push('k', publisher, {
    type: 9,
    streamId: 1,
    timestamp: 0,
    payload: Uint8Array.of(0x17, 0, 0, 0, 0, 1),
  });
  relay.push('k', publisher, { type: 9, streamId: 1, timestamp: 0, payload: FRAMES[0]! });
  const fakes: FakePlayer[] = [];
  for (let i = 0; i < players; i++) {
    const p: FakePlayer = { bytes: 0 };
    fakes.push(p);
    relay.play('k', fakeSession(p), 1);
  }
  for (let i = 1; i <= 50; i++) {
    relay.push('k', publisher, { type: 9, streamId: 1, timestamp: i * 33, payload: FRAMES[i % GOP]! });
  }
  const heapBefore = process.memoryUsage().heapUsed;
  const start = process.hrtime.bigint();
  for (let i = 0; i < messages; i++) {
    relay.push('k', publisher, { type: 9, streamId: 1, timestamp: (i + 51) * 33, payload: FRAMES[i % GOP]! });
  }
  const ns = Number(process.hrtime.bigint() - start);
  const heapAfter = process.memoryUsage().heapUsed;
  const delivered = fakes.reduce((a, p) => a + p.bytes, 0);
  return {
    nsPerMessagePerPlayer: ns / messages / players,
    messagesPerSecond: (messages * players) / (ns / 1e9),
    mbPerSecond: delivered / 1e6 / (ns / 1e9),
    heapPerMessageBytes: (heapAfter - heapBefore) / messages,
  };
}

function sharedEncodingCheck(players: number): boolean {
  const relay = new LiveRelay();
  const publisher = fakeSession(undefined);
  relay.publish('k', publisher, 1);
  const arrays: (readonly Uint8Array[])[][] = [];
  for (let i = 0; i < players; i++) {
    const got: (readonly Uint8Array[])[] = [];
    arrays.push(got);
    const session = fakeSession(undefined);
    (session.connection as unknown as { writeEncoded: (s: readonly Uint8Array[]) => boolean }).writeEncoded =
      (s) => {
        got.push(s);
        return true;
      };
    relay.play('k', session, 1);
  }
  for (let i = 0; i < 20; i++)
    relay.push('k', publisher, { type: 9, streamId: 1, timestamp: i * 33, payload: FRAMES[i]! });
  // Every player received the same array objects, message by message: one encoding per message.
  return arrays.every((got) => got.length === 20 && got.every((s, i) => s === arrays[0]![i]));
}

// ---------------------------------------------------------------------------------------------------------------
// 2. End to end over TCP
// ---------------------------------------------------------------------------------------------------------------

/**
 * A player that speaks just enough RTMP (simple handshake, connect, createStream, play) and counts bytes: a
 * measuring instrument that costs the bench process almost nothing per byte, unlike a real client that decodes.
 */
function rawPlayer(port: number, key: string): Promise<{ bytes: () => number; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let handshake = Buffer.alloc(0);
    let done = false;
    let bytes = 0;
    socket.on('error', reject);
    const c1 = Buffer.alloc(1537);
    c1[0] = 3;
    socket.write(c1);
    socket.on('data', (d: Buffer) => {
      if (done) {
        bytes += d.length;
        return;
      }
      handshake = Buffer.concat([handshake, d]);
      if (handshake.length < 3073) return;
      done = true;
      bytes += handshake.length - 3073;
      const encoder = new ChunkEncoder();
      const cmd = (values: unknown[], streamId = 0) =>
        encoder.encode({ type: 20, streamId, timestamp: 0, payload: encodeAmf0(values as never) }, 3);
      socket.cork();
      socket.write(handshake.subarray(1, 1537)); // C2 = S1
      for (const slices of [
        cmd(['connect', 1, { app: 'live', tcUrl: `rtmp://127.0.0.1:${port}/live` }]),
        cmd(['createStream', 2, null]),
        cmd(['play', 0, null, key], 1),
      ]) {
        for (const s of slices) socket.write(s);
      }
      socket.uncork();
      resolve({ bytes: () => bytes, socket });
    });
  });
}

/** Our client publishing `key` (chunk size 4096, as the publisher announces right after the handshake). */
async function publisherClient(
  port: number,
  key: string,
): Promise<{ client: RtmpClient; publisher: RtmpPublisher }> {
  const client = new RtmpClient({ url: `rtmp://127.0.0.1:${port}/live/${key}`, chunkSize: 4096 });
  await client.connect();
  return { client, publisher: await client.publish() };
}

async function endToEnd(port: number, players: number, messages: number) {
  const key = `bench${players}`;
  const { client, publisher } = await publisherClient(port, key);
  publisher.write(9, 0, Uint8Array.of(0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f));
  const list = [];
  for (let i = 0; i < players; i++) list.push(await rawPlayer(port, key));
  await new Promise((r) => setTimeout(r, 300));
  const base = list.map((p) => p.bytes());
  const start = process.hrtime.bigint();
  for (let i = 0; i < messages; i++) {
    publisher.write(9, i * 33, FRAMES[i % GOP]!);
    // Backpressure in big steps: waiting for 'drain' after every 16 KiB would measure the event loop instead.
    if (publisher.writableLength > 4 << 20) await publisher.drained();
  }
  const want = messages * FRAME * 0.999;
  const deadline = Date.now() + 60_000;
  while (list.some((p, i) => p.bytes() - base[i]! < want) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2));
  }
  const ns = Number(process.hrtime.bigint() - start);
  const delivered = list.reduce((a, p, i) => a + p.bytes() - base[i]!, 0);
  const complete = list.every((p, i) => p.bytes() - base[i]! >= want);
  for (const p of list) p.socket.destroy();
  client.destroy();
  await new Promise((r) => setTimeout(r, 200));
  return {
    messagesPerSecond: (messages * players) / (ns / 1e9),
    mbPerSecond: delivered / 1e6 / (ns / 1e9),
    complete,
  };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function startNms(): Promise<number | undefined> {
  try {
    const require = createRequire(import.meta.url);
    const base = path.dirname(require.resolve('node-media-server/package.json'));
    const logger = require(path.join(base, 'src/core/logger.js'));
    logger.level = 'error';
    const Context = require(path.join(base, 'src/core/context.js'));
    const port = await freePort();
    Context.config = { bind: '127.0.0.1', rtmp: { port, chunk_size: 4096, gop_cache: true } };
    const NodeRtmpServer = require(path.join(base, 'src/server/rtmp_server.js'));
    new NodeRtmpServer().run();
    await new Promise((r) => setTimeout(r, 200));
    return port;
  } catch (error) {
    console.warn('node-media-server not available:', (error as Error).message);
    return undefined;
  }
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

console.log(`Relay fan-out, ${FRAME}-byte video messages, GOP ${GOP}, Node ${process.version}\n`);
console.log('1. In process (LiveRelay.push to fake players whose socket write only counts bytes)');
console.log(
  `   one shared encoding per message for every player: ${sharedEncodingCheck(100) ? 'yes' : 'NO'}`,
);
console.log('   players | ns/message/player | messages/s delivered | MB/s delivered | heap growth/message');
for (const n of [1, 10, 100, 1000]) {
  inProcess(n, 10_000); // warm-up
  const r = inProcess(n, n >= 1000 ? 5_000 : 20_000);
  console.log(
    `   ${String(n).padStart(7)} | ${fmt(r.nsPerMessagePerPlayer, 1).padStart(17)} | ${fmt(r.messagesPerSecond).padStart(20)} | ${fmt(r.mbPerSecond).padStart(14)} | ${fmt(r.heapPerMessageBytes)} B`,
  );
}

console.log('\n2. End to end over loopback TCP: 1 publisher -> N raw-socket players (same process)');
const relay = new LiveRelay({ maxPlayerQueue: 256 << 20 });
const ours = new RtmpServer({ host: '127.0.0.1', port: 0, handler: relay.handler(), pingInterval: 0 });
const ourPort = await ours.start();
const nmsPort = await startNms();
console.log('   players | @rtmp/server msg/s | MB/s   | node-media-server msg/s | MB/s');
for (const n of [1, 10, 50]) {
  const messages = n >= 50 ? 1_500 : 3_000;
  const a = await endToEnd(ourPort, n, messages);
  const b = nmsPort ? await endToEnd(nmsPort, n, messages) : undefined;
  console.log(
    `   ${String(n).padStart(7)} | ${fmt(a.messagesPerSecond).padStart(18)}${a.complete ? '' : '*'} | ${fmt(a.mbPerSecond).padStart(6)} | ${b ? fmt(b.messagesPerSecond).padStart(23) + (b.complete ? '' : '*') : 'n/a'.padStart(23)} | ${b ? fmt(b.mbPerSecond) : ''}`,
  );
}
console.log('   (* = not every byte arrived within 60 s)');
await ours.stop();
process.exit(0);
