// Child process of rss.ts: the relay server alone (built package, no TypeScript loader), reporting its memory.
import { writeHeapSnapshot } from 'node:v8';
import { LiveRelay, RtmpServer } from '@rtmp/server';

const relay = new LiveRelay();
const server = new RtmpServer({ host: '127.0.0.1', port: 0, demux: false, handler: relay.handler() });
const port = await server.start();
process.send?.({ port });
process.on('message', (m) => {
  if (m === 'gc') globalThis.gc?.();
  if (m === 'mem' || m === 'gc')
    process.send?.({ mem: process.memoryUsage(), sessions: server.sessions.size });
  if (typeof m === 'string' && m.startsWith('snap:')) {
    writeHeapSnapshot(m.slice(5));
    process.send?.({ snap: true });
  }
  if (m === 'stop') void server.stop().finally(() => process.exit(0));
});
