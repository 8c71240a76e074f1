/**
 * Our server as the benchmark runs it, alone in this process so its CPU time and RSS are its own:
 * `RtmpServer` + `LiveRelay` on 127.0.0.1, no demuxing (the relay forwards messages as received, like apps/ingest).
 * Plain JavaScript on the built packages, so no TypeScript loader (tsx costs ~30 MB RSS) is measured as server.
 *
 * Usage: `node src/servers/ours.mjs <port>`; prints `ready <port>` once listening.
 */
import { LiveRelay, RtmpServer } from '@rtmp/server';

const port = Number(process.argv[2] ?? '0');
const relay = new LiveRelay();
const server = new RtmpServer({ host: '127.0.0.1', port, demux: false, handler: relay.handler() });
const bound = await server.start();
process.stdout.write(`ready ${bound}\n`);

const shutdown = () => {
  void server.stop().finally(() => process.exit(0));
  // A stuck graceful stop must not hang the harness.
  setTimeout(() => process.exit(0), 2_000).unref();
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
