/**
 * The floor of a Node ingest server: our RtmpServer answers the handshake, connect, createStream and publish (so
 * that FFmpeg publishes), then the publisher's socket is taken over and its bytes get only the work of the mode:
 *
 * - `read`: a `data` listener that counts the bytes (Node's default read path: a new buffer per socket read);
 * - `onread`: the socket re-created over the same handle with `onread` (one buffer reused for every read);
 * - `decode`: every read into a `ChunkDecoder` (contiguous payloads), messages dropped;
 * - `decode-pieces`: the same in pieces mode (payloads as views of the reads).
 *
 * No acknowledgements are sent after the takeover (FFmpeg does not wait for them). Usage:
 * `node src/servers/floor.mjs <port> <mode>`; prints `ready <port>` once listening.
 */
import * as net from 'node:net';
import { ChunkDecoder } from '@rtmp/chunk';
import { RtmpServer } from '@rtmp/server';

const port = Number(process.argv[2] ?? '0');
const mode = process.argv[3] ?? 'read';
const modes = ['read', 'onread', 'decode', 'decode-pieces'];
if (!modes.includes(mode)) throw new Error(`mode must be one of ${modes.join(', ')}`);
let bytes = 0;
let messages = 0;

function takeOver(session) {
  const socket = session.connection.socket;
  socket.removeAllListeners('data');
  if (mode === 'read') {
    socket.on('data', (chunk) => {
      bytes += chunk.byteLength;
    });
    return;
  }
  if (mode === 'onread') {
    // The accepted socket has no `onread` option: a new Socket over the same handle gets one.
    const handle = socket._handle;
    handle.readStop();
    handle.reading = false;
    socket._handle = null;
    const reader = new net.Socket({
      handle,
      onread: {
        buffer: Buffer.allocUnsafe(64 * 1024),
        callback: (n) => {
          bytes += n;
        },
      },
    });
    reader.on('error', () => {});
    reader.on('end', () => reader.destroy());
    return;
  }
  const decoder = mode === 'decode' ? new ChunkDecoder() : new ChunkDecoder({ payloads: 'pieces' });
  // The publisher announced its chunk size before publishing.
  decoder.push(Uint8Array.of(0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, ...u32(session.connection.inChunkSize)));
  socket.on('data', (chunk) => {
    bytes += chunk.byteLength;
    messages += decoder.push(chunk).length;
  });
}

function u32(n) {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

const server = new RtmpServer({
  host: '127.0.0.1',
  port,
  demux: false,
  handler: (_options, session) => ({
    init: () => {
      // After NetStream.Publish.Start went out: FFmpeg sends its media only once it has read that status, so the
      // next read starts at its first media message (the decoding modes take over at once, at that boundary).
      session.on('publish', () => {
        if (mode.startsWith('decode')) takeOver(session);
        else setImmediate(() => takeOver(session));
      });
    },
  }),
});
const bound = await server.start();
process.stdout.write(`ready ${bound}\n`);

const shutdown = () => {
  process.stdout.write(`bytes ${bytes} messages ${messages}\n`);
  process.exit(0);
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
