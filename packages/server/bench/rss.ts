// Server memory per relay player: `node --import tsx bench/rss.ts [players=200] [seconds=6]` (build first).
// The server runs alone in a child process (built package); this process drives one publisher (about 1 Mbit/s:
// 30 fps video, 43 audio frames/s, a keyframe every 2 s) and N players built on the connection core.
import { fork } from 'node:child_process';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { RtmpConnection } from '../src/index.js';

const players = Number(process.argv[2] ?? 200);
const seconds = Number(process.argv[3] ?? 6);
const child = fork(fileURLToPath(new URL('./rss-server.mjs', import.meta.url)), [], {
  execArgv: ['--expose-gc'],
});
const replies: ((m: { port?: number; mem?: NodeJS.MemoryUsage; sessions?: number }) => void)[] = [];
child.on('message', (m) => replies.shift()?.(m as never));
const ask = <T>(m?: string) =>
  new Promise<T>((resolve) => {
    replies.push(resolve as never);
    if (m) child.send(m);
  });
const { port } = await ask<{ port: number }>();

async function open(): Promise<RtmpConnection> {
  const c = new RtmpConnection(net.connect(port, '127.0.0.1'), { role: 'client', idleTimeout: 0 });
  await new Promise<void>((resolve) => c.once('ready', () => resolve()));
  if (process.env.RSS_CHUNK !== '128') c.setChunkSize(4096);
  await c.call('connect', [{ app: 'live', tcUrl: `rtmp://127.0.0.1:${port}/live` }]);
  return c;
}
async function stream(c: RtmpConnection): Promise<number> {
  const reply = await c.call('createStream', [null]);
  return reply.args[0] as number;
}
const mb = (n: number) => (n / 1048576).toFixed(1);
const show = (label: string, m: NodeJS.MemoryUsage) =>
  console.log(
    `${label.padEnd(28)} rss ${mb(m.rss)} MiB  heapTotal ${mb(m.heapTotal)}  heapUsed ${mb(m.heapUsed)}  external ${mb(m.external)}  arrayBuffers ${mb(m.arrayBuffers)}`,
  );

const idle = (await ask<{ mem: NodeJS.MemoryUsage }>('gc')).mem;
const snapshots = process.env.RSS_SNAPSHOT_DIR;
if (snapshots) await ask(`snap:${snapshots}/idle.heapsnapshot`);
show('idle server', idle);

const publisher = await open();
const pubStream = await stream(publisher);
publisher.sendCommand('publish', 0, [null, 'cam', 'live'], pubStream);
await new Promise((r) => setTimeout(r, 200));
const video = (key: boolean) => {
  const p = new Uint8Array(key ? 40_000 : 3_500);
  p[0] = key ? 0x17 : 0x27;
  p[1] = 1;
  return p;
};
const header = Uint8Array.of(0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0);
publisher.send({ type: 9, streamId: pubStream, timestamp: 0, payload: header });
let frame = 0;
const t0 = Date.now();
const timer = setInterval(() => {
  const ts = Date.now() - t0;
  publisher.send({ type: 9, streamId: pubStream, timestamp: ts, payload: video(frame % 60 === 0) });
  publisher.send({
    type: 8,
    streamId: pubStream,
    timestamp: ts,
    payload: Uint8Array.of(0xaf, 1, ...new Uint8Array(200)),
  });
  frame++;
}, 33);

const conns: RtmpConnection[] = [];
for (let i = 0; i < players; i++) {
  const c = await open();
  const id = await stream(c);
  c.sendCommand('play', 0, [null, 'cam', -2000], id);
  conns.push(c);
}
await new Promise((r) => setTimeout(r, seconds * 1000));
const loaded = await ask<{ mem: NodeJS.MemoryUsage; sessions: number }>('mem');
show(`${loaded.sessions - 1} players, streaming`, loaded.mem);
const afterGc = (await ask<{ mem: NodeJS.MemoryUsage }>('gc')).mem;
show(`${players} players, after gc`, afterGc);
if (snapshots) await ask(`snap:${snapshots}/loaded.heapsnapshot`);
console.log(
  `per player: rss ${((loaded.mem.rss - idle.rss) / players / 1024).toFixed(0)} KiB, heapUsed ${((afterGc.heapUsed - idle.heapUsed) / players / 1024).toFixed(1)} KiB, arrayBuffers ${((afterGc.arrayBuffers - idle.arrayBuffers) / players / 1024).toFixed(1)} KiB (after gc)`,
);
clearInterval(timer);
for (const c of conns) c.destroy();
publisher.destroy();
child.send('stop');
