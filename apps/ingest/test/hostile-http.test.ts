import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ffmpegPlay,
  ffmpegPublish,
  fixture,
  hasTool,
  memory,
  probeMediaPackets,
  run,
  sleep,
  until,
} from '@rtmp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, metric, RawFlvViewer } from './flv-clients.js';
import { type RunningApp, startApp } from './helpers.js';

// Hostile input on the HTTP surface of the built app (HTTP-FLV, WS-FLV, dashboard, API) while FFmpeg publishes and
// an RTMP player, an HTTP-FLV viewer and a WS-FLV viewer watch: 10,000 idle HTTP and WebSocket connections,
// slowloris headers, huge and endless headers, malformed WebSocket frames, viewers that never read, paths with
// `..`/`%2e%2e`/NUL. The app runs in its own process; this test process is the attacker. RELIABILITY.md section 7.

const tools = hasTool('ffmpeg') && hasTool('ffprobe');

const IDLE_TCP = 5_000;
const IDLE_WS = 5_000;
const SLOWLORIS = 200;
const STUCK_VIEWERS = 20;
/** The app's limits in this test (`--play-wait`; its header timeout is the default, 10 s). */
const PLAY_WAIT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 10_000;

/** How one hostile connection ended. */
interface Outcome {
  name: string;
  closedByServer: boolean;
  msToClose: number;
  /** The HTTP status or WebSocket close code the server answered with, 0 for none. */
  answer: number;
}

/** Opens a TCP connection to the app; resolves once connected. */
function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves when the server closes `socket`, with what it answered (HTTP status, or a WebSocket close code). */
function outcome(name: string, socket: Socket, started = Date.now()): Promise<Outcome> {
  let received = Buffer.alloc(0);
  // This side never closes these sockets: a FIN or a reset from the server is what closes them.
  let closedByServer = false;
  socket.on('data', (d: Buffer) => {
    if (received.byteLength < 1 << 16) received = Buffer.concat([received, d]);
  });
  socket.on('end', () => {
    closedByServer = true;
  });
  socket.on('error', () => {
    closedByServer = true;
  });
  return new Promise((resolve) => {
    socket.once('close', () =>
      resolve({ name, closedByServer, msToClose: Date.now() - started, answer: answerOf(received) }),
    );
  });
}

/** The HTTP status of an answer, or the close code of the first close frame after a 101. */
function answerOf(bytes: Buffer): number {
  const text = bytes.subarray(0, 12).toString('latin1');
  if (!text.startsWith('HTTP/1.1 ')) return 0;
  const status = Number(text.slice(9, 12));
  if (status !== 101) return status;
  let at = bytes.indexOf('\r\n\r\n') + 4;
  while (at + 2 <= bytes.byteLength) {
    const opcode = bytes[at]! & 0x0f;
    let length = bytes[at + 1]! & 0x7f;
    let header = 2;
    if (length === 126) {
      length = bytes.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(at + 2));
      header = 10;
    }
    if (opcode === 8)
      return length >= 2 && at + header + 2 <= bytes.byteLength ? bytes.readUInt16BE(at + header) : 1005;
    at += header + length;
  }
  return 101;
}

const WS_HANDSHAKE = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** A masked client frame (`fin`, `rsv`, `opcode` as given; a zero mask keeps the payload readable). */
function frame(first: number, payload: Uint8Array, lengthBytes?: Uint8Array): Buffer {
  const length =
    lengthBytes ?? (payload.byteLength < 126 ? Uint8Array.of(0x80 | payload.byteLength) : undefined);
  if (length === undefined) throw new Error('use lengthBytes');
  return Buffer.concat([Uint8Array.of(first), length, Uint8Array.of(0, 0, 0, 0), payload]);
}

/** Malformed WebSocket input, sent after a valid handshake on the live key. */
const BAD_FRAMES: Record<string, Buffer> = {
  unmasked: Buffer.from([0x81, 0x05, ...Buffer.from('hello')]),
  'rsv1-without-extension': frame(0xc1, Buffer.from('x')),
  'reserved-opcode-3': frame(0x83, Buffer.from('x')),
  'length-2^63': Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]),
  'over-maxPayload': frame(0x82, new Uint8Array(8192), Uint8Array.of(0x80 | 126, 0x20, 0x00)),
  'fragmented-ping': frame(0x09, Buffer.from('x')),
  'close-code-999': frame(0x88, Uint8Array.of(0x03, 0xe7)),
  'text-invalid-utf8': frame(0x81, Uint8Array.of(0xff, 0xfe)),
  'continuation-first': frame(0x80, Buffer.from('x')),
  garbage: randomBytes(4096),
};

describe.skipIf(!tools)('hostile input on the HTTP surface', () => {
  let app: RunningApp;
  let dir: string;
  const outcomes: Outcome[] = [];
  const rss = { before: 0, peak: 0, after: 0 };
  let badPaths: number[] = [];
  let idleWsCodes: number[] = [];
  let legit: {
    publisher: number | null;
    player: number | null;
    source: string[];
    rtmp: string[];
    httpFlv: string[];
    wsEqualsHttp: boolean;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ingest-hostile-http-'));
    app = await startApp([
      ...['--play-wait', String(PLAY_WAIT_MS), '--max-http-connections', '12000', '--max-players', '1000'],
      ...['--log-level', 'error'],
    ]);
    const pid = app.proc.pid!;
    const port = app.httpPort;
    const loop = ['-stream_loop', '3'];
    const direct = join(dir, 'direct.flv');
    await run('ffmpeg', [
      '-hide_banner',
      '-nostdin',
      '-y',
      ...loop,
      '-i',
      fixture('small_h264_aac.flv'),
      '-c',
      'copy',
      '-f',
      'flv',
      direct,
    ]).done;

    // The legitimate audience, attached before the publish: an RTMP player, an HTTP-FLV and a WS-FLV viewer.
    const played = join(dir, 'played.flv');
    const player = ffmpegPlay(`${app.url}/legit`, played, 90_000);
    const httpViewer = new RawFlvViewer(port, '/live/legit.flv');
    const wsViewer = new WebSocket(`ws://127.0.0.1:${port}/live/legit.flv`);
    const wsBytes: Buffer[] = [];
    wsViewer.on('message', (data: Buffer) => wsBytes.push(data));
    const wsClosed = new Promise((resolve) => wsViewer.once('close', resolve));
    await eventually(
      async () => (await metric(`http://127.0.0.1:${port}`, 'rtmp_viewers{protocol="ws-flv"}')) === 1,
      10_000,
      'viewers',
    );
    const publisher = ffmpegPublish(fixture('small_h264_aac.flv'), `${app.url}/legit`, {
      realtime: true,
      extra: loop,
      timeoutMs: 90_000,
    });
    await eventually(async () => (await app.api()).streams.length === 1, 10_000, 'the publish');

    rss.before = memory(pid).current;
    rss.peak = rss.before;
    const sampler = setInterval(() => {
      rss.peak = Math.max(rss.peak, memory(pid).current);
    }, 100);
    try {
      const pending: Promise<Outcome>[] = [];
      // Viewers that never read, over HTTP-FLV and WS-FLV.
      for (let i = 0; i < STUCK_VIEWERS; i++) {
        const http = await open(port);
        http.write('GET /live/legit.flv HTTP/1.1\r\nHost: x\r\n\r\n');
        http.pause();
        const ws = await open(port);
        ws.write(WS_HANDSHAKE('/live/legit.flv'));
        ws.pause();
        stuck.push(http, ws);
      }
      // Malformed WebSocket frames, each on its own viewer of the live key.
      for (const [name, bytes] of Object.entries(BAD_FRAMES)) {
        const socket = await open(port);
        const done = outcome(`ws ${name}`, socket);
        socket.write(WS_HANDSHAKE('/live/legit.flv'));
        await until(() => socket.bytesRead > 0, 5_000, 'the 101');
        socket.write(bytes);
        pending.push(done);
      }
      // Huge and endless request heads.
      {
        const socket = await open(port);
        pending.push(outcome('huge header (64 KiB)', socket));
        socket.write(`GET /live/legit.flv HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
      }
      {
        const socket = await open(port);
        const done = outcome('endless headers', socket);
        socket.write('GET /live/legit.flv HTTP/1.1\r\nHost: x\r\n');
        const line = `X-More: ${'b'.repeat(1000)}\r\n`;
        const timer = setInterval(() => {
          if (!socket.destroyed) socket.write(line);
        }, 1);
        void done.then(() => clearInterval(timer));
        pending.push(done);
      }
      // Slowloris: one header line a second, never the end of the head.
      for (let i = 0; i < SLOWLORIS; i++) {
        const socket = await open(port);
        const done = outcome('slowloris', socket);
        socket.write('GET /live/legit.flv HTTP/1.1\r\nHost: x\r\n');
        const timer = setInterval(() => {
          if (!socket.destroyed) socket.write(`X-${i}: slow\r\n`);
        }, 1_000);
        void done.then(() => clearInterval(timer));
        pending.push(done);
      }
      // Paths that leave the layout, 100 of each.
      const paths = [
        '/live/../x.flv',
        '/%2e%2e/%2e%2e/etc/passwd',
        '/live/x%00.flv',
        '/live/%2e%2e%2fx.flv',
        '/live/%zz.flv',
      ];
      const pathAnswers: Promise<Outcome>[] = [];
      for (let i = 0; i < 100; i++) {
        for (const path of paths) {
          const socket = await open(port);
          pathAnswers.push(outcome(path, socket));
          socket.end(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        }
      }
      // 10,000 idle connections: silent TCP, and WebSockets waiting on keys that are not live.
      const idleStarted = Date.now();
      for (let i = 0; i < IDLE_TCP; i += 250) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(250, IDLE_TCP - i) }, () => open(port)),
        );
        for (const socket of batch) pending.push(outcome('idle tcp', socket, idleStarted));
      }
      const idleWs: Promise<number>[] = [];
      for (let i = 0; i < IDLE_WS; i += 250) {
        const batch = Array.from({ length: Math.min(250, IDLE_WS - i) }, (_, j) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/live/idle-${i + j}.flv`);
          ws.on('error', () => undefined);
          return ws;
        });
        await Promise.all(
          batch.map((ws) => new Promise((resolve) => ws.once('open', resolve).once('close', resolve))),
        );
        for (const ws of batch)
          idleWs.push(new Promise((resolve) => ws.once('close', (code) => resolve(code))));
      }
      outcomes.push(...(await Promise.all(pending)));
      badPaths = (await Promise.all(pathAnswers)).map((o) => o.answer);
      idleWsCodes = await Promise.all(idleWs);
      for (const socket of stuck) socket.resume();
      legit = {
        publisher: (await publisher.done).code,
        player: (await player.done).code,
        source: (await probeMediaPackets(direct)).map((p) => `${p.codec_type},${p.size},${p.flags}`),
        rtmp: [],
        httpFlv: [],
        wsEqualsHttp: false,
      };
      await httpViewer.closed;
      await wsClosed;
      const httpFile = join(dir, 'http-flv.flv');
      writeFileSync(httpFile, httpViewer.bytes());
      legit.rtmp = (await probeMediaPackets(played)).map((p) => `${p.codec_type},${p.size},${p.flags}`);
      legit.httpFlv = (await probeMediaPackets(httpFile)).map((p) => `${p.codec_type},${p.size},${p.flags}`);
      legit.wsEqualsHttp = Buffer.concat(wsBytes).equals(httpViewer.bytes());
      await sleep(500);
      rss.after = memory(pid).current;
    } finally {
      clearInterval(sampler);
      for (const socket of stuck) socket.destroy();
    }
  }, 150_000);

  const stuck: Socket[] = [];

  afterAll(async () => {
    for (const socket of stuck) socket.destroy();
    await app?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the server stays up and its memory stays bounded', async () => {
    expect((await fetch(`http://127.0.0.1:${app.httpPort}/healthz`)).status).toBe(200);
    const mib = (n: number) => Math.round(n / 2 ** 20);
    console.log(
      `app RSS: ${mib(rss.before)} MiB before, peak ${mib(rss.peak)} MiB, ${mib(rss.after)} MiB after`,
    );
    expect(rss.peak - rss.before).toBeLessThan(400 * 2 ** 20);
  });

  it('RTMP, HTTP-FLV and WS-FLV viewers lose nothing meanwhile', () => {
    expect(legit.publisher).toBe(0);
    expect(legit.player).toBe(0);
    expect(legit.source.length).toBe(1096);
    expect(legit.rtmp).toEqual(legit.source);
    expect(legit.httpFlv).toEqual(legit.source);
    expect(legit.wsEqualsHttp).toBe(true);
  });

  it('every hostile connection is closed by the server, with the answer its limit gives', () => {
    const summary = new Map<
      string,
      { count: number; answers: Set<number>; maxMs: number; byServer: number }
    >();
    for (const o of outcomes) {
      const s = summary.get(o.name) ?? { count: 0, answers: new Set(), maxMs: 0, byServer: 0 };
      s.count++;
      s.answers.add(o.answer);
      s.maxMs = Math.max(s.maxMs, o.msToClose);
      if (o.closedByServer) s.byServer++;
      summary.set(o.name, s);
    }
    for (const [name, s] of summary) {
      console.log(
        `${name}: ${s.count} closed by the server (${s.byServer}), answer ${[...s.answers].join('/')}, last after ${s.maxMs} ms`,
      );
      expect(s.byServer, name).toBe(s.count);
    }
    const answer = (name: string) => [...summary.get(name)!.answers];
    expect(answer('huge header (64 KiB)')).toEqual([431]);
    expect(answer('endless headers')).toEqual([431]);
    expect(answer('slowloris')).toEqual([408]);
    expect(summary.get('slowloris')!.maxMs).toBeLessThan(HEADERS_TIMEOUT_MS + 5_000);
    expect(summary.get('idle tcp')!.maxMs).toBeLessThan(HEADERS_TIMEOUT_MS + 10_000);
    for (const name of Object.keys(BAD_FRAMES)) {
      expect([1002, 1007, 1009], name).toContain(answer(`ws ${name}`)[0]);
    }
    expect(new Set(badPaths)).toEqual(new Set([400]));
    expect(idleWsCodes.length).toBe(IDLE_WS);
    expect(new Set(idleWsCodes)).toEqual(new Set([4404]));
  });
});
