// Server memory per relay player: `node --import tsx server/rss.ts [players=200] [seconds=6]` in bench/ (build
// first). The server runs alone in a child process (built package); this process drives one publisher (about
// 1 Mbit/s: 30 fps video, 43 audio frames/s, a keyframe every 2 s) and N players, all @rtmp/client.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RtmpClient } from '@rtmp/client';

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

async function open(): Promise<RtmpClient> {
  const c = new RtmpClient({
    url: `rtmp://127.0.0.1:${port}/live/cam`,
    idleTimeout: 0,
    chunkSize: process.env.RSS_CHUNK === '128' ? 128 : 4096,
  });
  await c.connect();
  return c;
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

const client = await open();
const publisher = await client.publish();
const video = (key: boolean) => {
  const p = new Uint8Array(key ? 40_000 : 3_500);
  p[0] = key ? 0x17 : 0x27;
  p[1] = 1;
  return p;
};
const header = Uint8Array.of(0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0);
publisher.write(9, 0, header);
let frame = 0;
const t0 = Date.now();
const timer = setInterval(() => {
  const ts = Date.now() - t0;
  publisher.write(9, ts, video(frame % 60 === 0));
  publisher.write(8, ts, Uint8Array.of(0xaf, 1, ...new Uint8Array(200)));
  frame++;
}, 33);

const conns: RtmpClient[] = [];
for (let i = 0; i < players; i++) {
  const c = await open();
  // Raw messages: this process only keeps the players reading, the server's memory is what is measured.
  await c.play({ demux: false });
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
client.destroy();
child.send('stop');
