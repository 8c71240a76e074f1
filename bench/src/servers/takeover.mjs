/**
 * What the floor servers (floor.mjs, floor-fanout.mjs) share: taking a publisher's socket reads away from our
 * connection core once its publish has started, and a chunk decoder that continues where the core's left off.
 */
import { ChunkDecoder } from '@rtmp/chunk';

/** The socket's `onread` callback slot, set by our connection core when it reads into the shared buffer. */
function callbackSlot(socket) {
  return Object.getOwnPropertySymbols(socket).find((s) => s.description === 'kBufferCb');
}

/**
 * From the next read on, every read of `session`'s socket goes to `onBytes` (a view of the process's shared read
 * buffer, valid until it returns) instead of the connection core, which sees nothing more from that peer.
 */
export function takeOverReads(session, onBytes) {
  const socket = session.connection.socket;
  const slot = callbackSlot(socket);
  if (slot === undefined || typeof socket[slot] !== 'function') {
    throw new Error('the connection does not read into the shared buffer');
  }
  socket[slot] = (nread, buffer) => onBytes(buffer.subarray(0, nread));
}

/**
 * A `ChunkDecoder` with `transientInput` (every payload copied once out of the reused read buffer) that reads with
 * the chunk size the publisher announced before publishing. The publisher's media and data go on chunk streams it
 * has not used before the publish, so their first chunks carry full headers and need no earlier state.
 */
export function publisherDecoder(session) {
  const decoder = new ChunkDecoder({ transientInput: true });
  const size = session.connection.inChunkSize;
  // A Set Chunk Size message (csid 2, fmt 0, length 4, type 1, stream 0).
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
  return decoder;
}
