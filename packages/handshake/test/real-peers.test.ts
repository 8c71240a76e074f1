/**
 * Real peers over loopback TCP: FFmpeg as a player (it verifies S1's digest and S2's signature), rtmpdump (librtmp,
 * simple handshake) against our server; our client against nginx-rtmp. The sockets live here, in the test only: the
 * package itself stays I/O-free.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { hasNginxRtmp, hasTool, startNginxRtmp } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { HandshakeClient, type HandshakeKind, HandshakeServer } from '../src/index.js';

const HAVE_FFMPEG = hasTool('ffmpeg');
const HAVE_RTMPDUMP = hasTool('rtmpdump');
const HAVE_NGINX = hasNginxRtmp();

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function track(child: ChildProcess): ChildProcess {
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

interface ShimResult {
  kind: HandshakeKind | null;
  /** First bytes the client sent after C2: the start of its chunk stream. */
  afterHandshake: Uint8Array;
}

/**
 * Accepts one connection, runs our HandshakeServer, waits for the client's first chunk (which must be its
 * `connect` command) and closes. `tamper` can corrupt our answer to show the peer really checks it.
 */
function shim(tamper?: (answer: Uint8Array) => void): Promise<{ port: number; result: Promise<ShimResult> }> {
  return new Promise((resolveListen) => {
    let resolveResult!: (r: ShimResult) => void;
    const result = new Promise<ShimResult>((r) => {
      resolveResult = r;
    });
    const server: Server = createServer((socket: Socket) => {
      const hs = new HandshakeServer();
      const chunks: Buffer[] = [];
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        resolveResult({ kind: hs.kind, afterHandshake: Buffer.concat(chunks) });
        socket.destroy();
        server.close();
      };
      socket.on('data', (bytes) => {
        if (hs.done) {
          chunks.push(bytes);
        } else {
          const { output, done, rest } = hs.push(bytes);
          for (const b of output) {
            tamper?.(b);
            socket.write(b);
          }
          if (done) chunks.push(Buffer.from(rest));
        }
        if (Buffer.concat(chunks).includes('connect')) finish();
      });
      socket.on('close', finish);
      socket.on('error', () => {});
    });
    cleanups.push(() => {
      server.close();
    });
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      resolveListen({ port: address.port, result });
    });
  });
}

/** FFmpeg playing rtmp://127.0.0.1:<port>/live/x into nothing (killed after the test). */
function playWithFfmpeg(port: number): void {
  track(
    spawn(
      'ffmpeg',
      ['-hide_banner', '-nostdin', '-i', `rtmp://127.0.0.1:${port}/live/x`, '-f', 'null', '-'],
      {
        stdio: 'ignore',
      },
    ),
  );
}

describe.skipIf(!HAVE_FFMPEG)('ffmpeg as a player against our server', () => {
  it('accepts our digest S1/S2 and proceeds to connect', async () => {
    const { port, result } = await shim();
    playWithFfmpeg(port);
    const r = await result;
    expect(r.kind).toBe('digest');
    expect(r.afterHandshake.length).toBeGreaterThan(12);
    expect(r.afterHandshake[0]! & 0x3f).toBe(3); // chunk basic header: csid 3, where FFmpeg sends commands
    expect(Buffer.from(r.afterHandshake).includes('connect')).toBe(true);
  }, 20_000);

  it('control: with our S2 signature corrupted, ffmpeg gives up before connect', async () => {
    const { port, result } = await shim((answer) => {
      answer[answer.length - 1] = answer[answer.length - 1]! ^ 0xff;
    });
    playWithFfmpeg(port);
    const r = await result;
    expect(Buffer.from(r.afterHandshake).includes('connect')).toBe(false);
  }, 20_000);
});

describe.skipIf(!HAVE_RTMPDUMP)('rtmpdump (librtmp) against our server', () => {
  it('completes the simple handshake and sends connect', async () => {
    const { port, result } = await shim();
    track(
      spawn('rtmpdump', ['-q', '-r', `rtmp://127.0.0.1:${port}/live/x`, '-o', '/dev/null'], {
        stdio: 'ignore',
      }),
    );
    const r = await result;
    expect(r.kind).toBe('simple');
    expect(Buffer.from(r.afterHandshake).includes('connect')).toBe(true);
  }, 20_000);
});

/** Starts nginx-rtmp (stopped after the test); resolves with its port once it accepts connections. */
async function startNginx(): Promise<number> {
  const nginx = await startNginxRtmp();
  cleanups.push(() => nginx.stop());
  return nginx.port;
}

function runClient(port: number, client: HandshakeClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(port, '127.0.0.1', () => socket.write(client.start()));
    socket.on('data', (bytes) => {
      try {
        const { output, done } = client.push(bytes);
        for (const b of output) socket.write(b);
        if (done) {
          socket.destroy();
          resolve();
        }
      } catch (err) {
        socket.destroy();
        reject(err);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('closed before the handshake completed')));
  });
}

describe.skipIf(!HAVE_NGINX)('our client against nginx-rtmp', () => {
  it('digest: nginx answers with a valid S1 digest and S2 signature (both schemes)', async () => {
    const port = await startNginx();
    for (const scheme of [8, 772] as const) {
      const client = new HandshakeClient({ scheme, strict: true });
      await runClient(port, client);
      expect(client.kind).toBe('digest');
      expect(client.serverDigestValid).toBe(true);
    }
  }, 20_000);

  it('simple', async () => {
    const port = await startNginx();
    const client = new HandshakeClient({ digest: false });
    await runClient(port, client);
    expect(client.kind).toBe('simple');
    expect(client.serverDigestValid).toBeNull();
  }, 20_000);
});
