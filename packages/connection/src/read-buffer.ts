import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';

/**
 * Reading into one buffer shared by every connection of the process.
 *
 * By default Node allocates a new 64 KiB buffer for every socket read, shrinks it to what was read, and pushes it
 * through the socket's Readable stream to the `data` listeners: at an ingest rate that is an allocation, a
 * reallocation and a stream bookkeeping round per read, external memory that only garbage collection frees (tens
 * of MB of RSS under a fast publisher), and a good share of the process's CPU. Node's `onread` mode reads into a
 * buffer the caller provides and calls back directly. Reads are handled one at a time on the event loop, and the
 * callback consumes each one before returning (the chunk decoder copies what it keeps, see `transientInput` in
 * `@rtmp/chunk`), so one buffer can serve every connection.
 *
 * `onread` is a `net.Socket` constructor option, which sockets accepted by a `net.Server` never get. The socket's
 * own `onread` slots (the `kBuffer`/`kBufferCb` properties every `net.Socket` has) and its handle's
 * `useUserBuffer` do the same on an accepted socket before its first read; where any of it is missing (another
 * Node, a TLS socket, a socket that already delivered data) the socket is left alone and reads as before.
 */

const READ_BUFFER_SIZE = 64 * 1024;
let shared: Buffer | undefined;

/** The slots of a socket's `onread` state: set by the `net.Socket` constructor, read by Node on every read. */
interface OnreadSlots {
  readonly buffer: symbol;
  readonly callback: symbol;
}

interface UserBufferHandle {
  useUserBuffer(buffer: Uint8Array): void;
}

function onreadSlots(socket: Socket): OnreadSlots | undefined {
  let buffer: symbol | undefined;
  let callback: symbol | undefined;
  for (const symbol of Object.getOwnPropertySymbols(socket)) {
    if (symbol.description === 'kBuffer') buffer = symbol;
    else if (symbol.description === 'kBufferCb') callback = symbol;
  }
  return buffer !== undefined && callback !== undefined ? { buffer, callback } : undefined;
}

function userBufferHandle(socket: Socket): UserBufferHandle | undefined {
  const handle: unknown = Reflect.get(socket, '_handle');
  if (typeof handle !== 'object' || handle === null || !('useUserBuffer' in handle)) return undefined;
  const useUserBuffer = handle.useUserBuffer;
  if (typeof useUserBuffer !== 'function') return undefined;
  return { useUserBuffer: (buffer) => useUserBuffer.call(handle, buffer) };
}

/**
 * Makes `socket` read into the process's shared read buffer and hand each read to `onRead` as a view of it, valid
 * only until `onRead` returns. Returns false, changing nothing, when the socket cannot (TLS, data already
 * delivered or buffered, or a Node whose sockets lack the `onread` slots): the caller then listens to `data`.
 */
export function readIntoSharedBuffer(socket: Socket, onRead: (bytes: Uint8Array) => void): boolean {
  if ('encrypted' in socket || socket.readableLength !== 0 || socket.bytesRead !== 0) return false;
  const slots = onreadSlots(socket);
  const handle = userBufferHandle(socket);
  if (slots === undefined || handle === undefined || Reflect.get(socket, slots.buffer) !== null) return false;
  shared ??= Buffer.allocUnsafeSlow(READ_BUFFER_SIZE);
  const buffer = shared;
  const arrayBuffer = buffer.buffer;
  const offset = buffer.byteOffset;
  Reflect.set(socket, slots.buffer, buffer);
  // Node calls this with the byte count of each read; returning nothing keeps the socket reading.
  Reflect.set(socket, slots.callback, (nread: number) => {
    onRead(new Uint8Array(arrayBuffer, offset, nread));
  });
  handle.useUserBuffer(buffer);
  return true;
}
