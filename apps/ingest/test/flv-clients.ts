import { connect, type Socket } from 'node:net';

/**
 * A raw HTTP-FLV viewer: one TCP connection, a hand-written GET, the answer's head parsed and its chunked body
 * decoded by hand (no HTTP client library between the server and the bytes).
 */
export class RawFlvViewer {
  readonly socket: Socket;
  status = 0;
  head = '';
  /** The decoded body so far. */
  readonly body: Buffer[] = [];
  bodyBytes = 0;
  /** Bytes received on the socket (head, chunk framing and body). */
  wireBytes = 0;
  /** Resolves when the server closed the connection (or it failed). */
  readonly closed: Promise<void>;
  /** Whether the chunked body ended with its last (zero) chunk. */
  complete = false;
  #buffer: Buffer = Buffer.alloc(0);
  #chunkLeft = -1;

  constructor(port: number, path: string, options: { read?: boolean } = {}) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: raw-flv-viewer\r\n\r\n`,
    );
    this.closed = new Promise((resolve) => {
      this.socket.once('close', () => resolve());
    });
    this.socket.on('error', () => undefined);
    this.socket.on('data', (data: Buffer) => this.#push(data));
    // A viewer that does not read: the kernel buffers fill, then the server's queue.
    if (options.read === false) this.socket.pause();
  }

  /** Reads again (a paused socket sees neither its data nor its close). */
  resume(): void {
    this.socket.resume();
  }

  /** The decoded body as one buffer. */
  bytes(): Buffer {
    return Buffer.concat(this.body);
  }

  #push(data: Buffer): void {
    this.wireBytes += data.byteLength;
    this.#buffer = this.#buffer.byteLength === 0 ? data : Buffer.concat([this.#buffer, data]);
    if (this.status === 0) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.head = this.#buffer.subarray(0, end).toString('latin1');
      this.status = Number(this.head.split(' ')[1]);
      this.#buffer = this.#buffer.subarray(end + 4);
    }
    for (;;) {
      if (this.#chunkLeft < 0) {
        const eol = this.#buffer.indexOf('\r\n');
        if (eol < 0) return;
        this.#chunkLeft = Number.parseInt(this.#buffer.subarray(0, eol).toString('latin1'), 16);
        this.#buffer = this.#buffer.subarray(eol + 2);
        if (this.#chunkLeft === 0) {
          this.complete = true;
          return;
        }
      }
      // The chunk's data, then its CRLF.
      if (this.#buffer.byteLength < this.#chunkLeft + 2) {
        if (this.#buffer.byteLength > this.#chunkLeft) return;
        const part = this.#buffer;
        this.body.push(part);
        this.bodyBytes += part.byteLength;
        this.#chunkLeft -= part.byteLength;
        this.#buffer = Buffer.alloc(0);
        return;
      }
      const part = this.#buffer.subarray(0, this.#chunkLeft);
      this.body.push(part);
      this.bodyBytes += part.byteLength;
      this.#buffer = this.#buffer.subarray(this.#chunkLeft + 2);
      this.#chunkLeft = -1;
    }
  }
}

/** The header value of `name` in an HTTP answer head. */
export function headerOf(head: string, name: string): string | undefined {
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

/** One sample of the app's /metrics, or 0 when absent. */
export async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

/** Waits until the async `check` holds, polling every 50 ms; throws `timed out waiting for <what>` after `timeoutMs`. */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
