/**
 * node-media-server 4.4.3 as the benchmark runs it, alone in this process: RTMP only on 127.0.0.1 (no HTTP,
 * RTMPS, admin console, auth or recording), its store in a temp dir, its logger lowered to errors so console
 * output is not measured as server work. Plain JavaScript, like ours.mjs, so no loader is measured.
 *
 * Usage: `node src/servers/nms.cjs <port> <dataDir> [httpPort]`; prints `ready <port>` once listening. With `httpPort`
 * its HTTP-FLV and WS-FLV server (`/<app>/<key>.flv`) listens there too (the browser latency benchmark).
 */
const net = require('node:net');
const NodeMediaServer = require('node-media-server');
const logger = require('node-media-server/src/core/logger.js');

const port = Number(process.argv[2]);
const dataDir = process.argv[3] ?? '/tmp/nms-bench';
const httpPort = process.argv[4] === undefined ? undefined : Number(process.argv[4]);

const config = {
  bind: '127.0.0.1',
  rtmp: { port },
  store: { path: dataDir },
  record: { auto: false, path: `${dataDir}/record` },
  webadmin: { enable: false },
  ...(httpPort === undefined ? {} : { http: { port: httpPort } }),
};
const nms = new NodeMediaServer(config, `${dataDir}/config.json`);
// The constructor forces debug level; per-session debug lines would be measured as server CPU.
logger.level = 'error';
void nms.run();

// nms.run() does not say when the socket listens: poll it.
const waitListening = () => {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.once('connect', () => {
    socket.destroy();
    process.stdout.write(`ready ${port}\n`);
  });
  socket.once('error', () => {
    socket.destroy();
    setTimeout(waitListening, 50);
  });
};
waitListening();

const shutdown = () => {
  void nms.stop().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
