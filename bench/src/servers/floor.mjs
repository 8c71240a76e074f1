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
import { RtmpServer } from '@rtmp/server';
import { publisherDecoder, takeOverReads } from './takeover.mjs';

const port = Number(process.argv[2] ?? '0');
const mode = process.argv[3] ?? 'read';
const modes = ['read', 'decode'];
if (!modes.includes(mode)) throw new Error(`mode must be one of ${modes.join(', ')}`);
let bytes = 0;
let messages = 0;

function takeOver(session) {
  let onBytes;
  if (mode === 'read') {
    onBytes = (chunk) => {
      bytes += chunk.byteLength;
    };
  } else {
    const decoder = publisherDecoder(session);
    onBytes = (chunk) => {
      bytes += chunk.byteLength;
      messages += decoder.push(chunk).length;
    };
  }
  takeOverReads(session, onBytes);
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
