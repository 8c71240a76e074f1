/**
 * The floor of a Node ingest server: our RtmpServer answers the handshake, connect, createStream and publish (so
 * that FFmpeg publishes), then the publisher's socket is taken over and its bytes get only the work of the mode:
 *
 * - `read`: the reads into the process's shared read buffer (what our server does: Node's `onread` mode, see
 *   `@rtmp/connection`), the bytes dropped;
 * - `decode`: the same reads into a `ChunkDecoder` (`transientInput`: every payload copied once), messages dropped.
 *
 * (Node's default reading, a new buffer per read through the socket's Readable stream, cost 0.6 - 1.1 CPU s per GB
 * in the same conditions where `read` cost 0.35 - 0.4.)
 * No acknowledgements are sent after the takeover (FFmpeg does not wait for them). Usage:
 * `node src/servers/floor.mjs <port> <mode>`; prints `ready <port>` once listening.
 */
import { ChunkDecoder } from '@rtmp/chunk';
import { RtmpServer } from '@rtmp/server';

const port = Number(process.argv[2] ?? '0');
const mode = process.argv[3] ?? 'read';
const modes = ['read', 'decode'];
if (!modes.includes(mode)) throw new Error(`mode must be one of ${modes.join(', ')}`);
let bytes = 0;
let messages = 0;

/** The socket's `onread` callback slot, set by our connection core when it reads into the shared buffer. */
function callbackSlot(socket) {
  return Object.getOwnPropertySymbols(socket).find((s) => s.description === 'kBufferCb');
}

function takeOver(session) {
  const socket = session.connection.socket;
  const slot = callbackSlot(socket);
  if (slot === undefined || typeof socket[slot] !== 'function') {
    throw new Error('the connection does not read into the shared buffer');
  }
  let onBytes;
  if (mode === 'read') {
    onBytes = (chunk) => {
      bytes += chunk.byteLength;
    };
  } else {
    const decoder = new ChunkDecoder({ transientInput: true });
    // The publisher announced its chunk size before publishing.
    const size = session.connection.inChunkSize;
    decoder.push(
      Uint8Array.of(
        0x02,
        0,
        0,
        0,
        0,
        0,
        4,
        1,
        0,
        0,
        0,
        0,
        size >>> 24,
        (size >>> 16) & 255,
        (size >>> 8) & 255,
        size & 255,
      ),
    );
    onBytes = (chunk) => {
      bytes += chunk.byteLength;
      messages += decoder.push(chunk).length;
    };
  }
  socket[slot] = (nread, buffer) => onBytes(buffer.subarray(0, nread));
}

const server = new RtmpServer({
  host: '127.0.0.1',
  port,
  demux: false,
  handler: (_options, session) => ({
    init: () => {
      // After NetStream.Publish.Start went out: FFmpeg sends its media only once it has read that status, so the
      // next read starts at its first media message.
      session.on('publish', () => takeOver(session));
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
