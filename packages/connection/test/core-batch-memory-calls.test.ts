import * as net from 'node:net';
import { encodeMessage, type RtmpMessage } from '@rtmp/chunk';
import { next } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferBudget, type RtmpCommand, RtmpConnection, RtmpError } from '../src/index.js';
import { connectionPair, type Pair } from './helpers/pair.js';

const pairs: Pair[] = [];
afterEach(async () => {
  await Promise.all(pairs.splice(0).map((p) => p.close()));
});

async function readyPair(...args: Parameters<typeof connectionPair>): Promise<Pair> {
  const p = await connectionPair(...args);
  pairs.push(p);
  await Promise.all([
    p.server.ready ? undefined : next(p.server, 'ready'),
    p.client.ready ? undefined : next(p.client, 'ready'),
  ]);
  return p;
}

/** Counts the flushes that reach the socket's handle: one per writev (or single write). */
function countFlushes(socket: net.Socket): { count: number } {
  const counter = { count: 0 };
  const raw = socket as unknown as {
    _writev: (...a: unknown[]) => unknown;
    _write: (...a: unknown[]) => unknown;
  };
  const writev = raw._writev.bind(socket);
  const write = raw._write.bind(socket);
  raw._writev = (...a) => {
    counter.count++;
    return writev(...a);
  };
  raw._write = (...a) => {
    counter.count++;
    return write(...a);
  };
  return counter;
}

function video(length: number, timestamp = 0): RtmpMessage {
  return { type: 9, streamId: 1, timestamp, payload: new Uint8Array(length).fill(0x17) };
}

function joined(slices: readonly Uint8Array[]): Buffer {
  return Buffer.concat(slices.map((s) => Buffer.from(s.buffer, s.byteOffset, s.byteLength)));
}

describe('write batching', () => {
  it('RtmpConnection.batch corks each socket once and flushes it in one writev', async () => {
    const p = await readyPair();
    const flushes = countFlushes(p.server.socket);
    const got: RtmpMessage[] = [];
    p.client.on('message', (m) => got.push(m));
    RtmpConnection.batch(() => {
      for (let i = 0; i < 8; i++) p.server.send(video(3000, i * 33));
      expect(p.server.socket.writableCorked).toBe(1);
      expect(p.server.writableLength).toBeGreaterThan(8 * 3000);
    });
    expect(p.server.socket.writableCorked).toBe(0);
    expect(flushes.count).toBe(1);
    await expect.poll(() => got.length).toBe(8);
    expect(got.map((m) => m.timestamp)).toEqual([0, 33, 66, 99, 132, 165, 198, 231]);
  });

  it('nested batches flush only at the outermost end; without a batch each message is one writev', async () => {
    const p = await readyPair();
    const flushes = countFlushes(p.server.socket);
    RtmpConnection.batch(() => {
      RtmpConnection.batch(() => {
        p.server.send(video(100));
      });
      p.server.send(video(100, 1));
      expect(flushes.count).toBe(0);
    });
    expect(flushes.count).toBe(1);
    // A batch whose function throws still flushes.
    expect(() =>
      RtmpConnection.batch(() => {
        p.server.send(video(100, 2));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(flushes.count).toBe(2);
    p.server.send(video(100, 3));
    p.server.send(video(100, 4));
    expect(flushes.count).toBe(4);
  });

  it('messages decoded from one socket read and forwarded to players leave in one writev per player', async () => {
    const publisher = await readyPair();
    const players = [await readyPair(), await readyPair(), await readyPair()];
    const flushes = players.map((pl) => countFlushes(pl.server.socket));
    let reads = 0;
    publisher.server.socket.on('data', () => reads++);
    let forwarded = 0;
    publisher.server.on('message', (m) => {
      forwarded++;
      for (const pl of players) pl.server.send(m);
    });
    const received = players.map(() => 0);
    players.forEach((pl, i) => {
      pl.client.on('message', () => received[i]!++);
    });
    // Twenty small messages in one client write: they arrive in one (or very few) reads.
    publisher.client.socket.cork();
    for (let i = 0; i < 20; i++) publisher.client.send(video(200, i));
    publisher.client.socket.uncork();
    await expect.poll(() => received.every((n) => n === 20)).toBe(true);
    expect(forwarded).toBe(20);
    for (const f of flushes) expect(f.count).toBeLessThanOrEqual(reads);
    expect(reads).toBeLessThan(20);
  });
});

describe('memory limits for incomplete messages', () => {
  it('closes a connection whose incomplete messages exceed maxBufferedBytes (ERR_RTMP_BUFFER_LIMIT)', async () => {
    const p = await readyPair({ maxBufferedBytes: 64 * 1024 });
    const closed = next<[RtmpError | undefined]>(p.server, 'close');
    const bytes = joined(encodeMessage(video(1_000_000), 6, 128));
    p.client.socket.write(bytes.subarray(0, 200_000));
    const [error] = await closed;
    expect(error?.code).toBe('ERR_RTMP_BUFFER_LIMIT');
  });

  it('by default a 4 MB keyframe (maxMessageSize + 1 MiB) arrives whole in 64 KiB writes', async () => {
    const p = await readyPair();
    const got = next<[RtmpMessage]>(p.server, 'message');
    const bytes = joined(encodeMessage(video(4_000_000), 6, 4096));
    p.client.setChunkSize(4096);
    for (let off = 0; off < bytes.length; off += 64 * 1024) {
      p.client.socket.write(bytes.subarray(off, Math.min(bytes.length, off + 64 * 1024)));
    }
    const [message] = await got;
    expect(message.payload.byteLength).toBe(4_000_000);
  });

  it('rejects an invalid maxBufferedBytes', () => {
    const socket = new net.Socket();
    expect(() => new RtmpConnection(socket, { role: 'server', maxBufferedBytes: 0 })).toThrow(RtmpError);
    socket.destroy();
    expect(() => new BufferBudget(-1)).toThrow(RtmpError);
  });

  it('a shared BufferBudget closes the connection holding the most (ERR_RTMP_MEMORY_BUDGET)', async () => {
    // 128-byte chunks: every pending chunk is also charged PIECE_OVERHEAD (64 bytes), so a holds ~150 000 and b
    // ~120 000 below.
    const budget = new BufferBudget(450_000);
    const a = await readyPair({ bufferBudget: budget });
    const b = await readyPair({ bufferBudget: budget });
    const c = await readyPair({ bufferBudget: budget });
    const message = joined(encodeMessage(video(1_000_000), 6, 128));
    const sendPartial = async (p: Pair, length: number) => {
      for (let off = 0; off < length; off += 20_000)
        p.client.socket.write(message.subarray(off, off + 20_000));
      await expect.poll(() => budget.heldBy(p.server)).toBeGreaterThanOrEqual(length - 20_000);
    };
    await sendPartial(a, 100_000);
    await sendPartial(b, 80_000);
    expect(budget.total).toBeGreaterThanOrEqual(160_000);
    const closedA = next<[RtmpError | undefined]>(a.server, 'close');
    // c goes above a: together above 450 000, so c (the largest) is the one closed.
    const closedC = next<[RtmpError | undefined]>(c.server, 'close');
    for (let off = 0; off < 200_000; off += 20_000)
      c.client.socket.write(message.subarray(off, off + 20_000));
    const [error] = await closedC;
    expect(error?.code).toBe('ERR_RTMP_MEMORY_BUDGET');
    expect(budget.heldBy(c.server)).toBe(0);
    expect(a.server.closed).toBe(false);
    expect(b.server.closed).toBe(false);
    expect(budget.total).toBeLessThanOrEqual(450_000);
    // Completing a's message releases its charge.
    a.client.socket.write(message.subarray(100_000));
    await expect.poll(() => budget.heldBy(a.server)).toBe(0);
    a.server.destroy();
    await closedA;
    expect(budget.holders).toBe(1);
  });
});

describe('calls: cancellation, fire-and-forget, needDrain', () => {
  it('an aborted call is withdrawn: it rejects ERR_RTMP_ABORTED, its late reply is dropped, the connection goes on', async () => {
    const p = await readyPair();
    const held: RtmpCommand[] = [];
    p.server.on('command', (command) => {
      if (command.name === 'slow') held.push(command);
      else p.server.reply(command, [null, 'ok']);
    });
    const surfaced: string[] = [];
    p.client.on('command', (command) => surfaced.push(command.name));
    const controller = new AbortController();
    const call = p.client.call('slow', [null], { signal: controller.signal });
    await expect.poll(() => held.length).toBe(1);
    controller.abort(new Error('user gave up'));
    const error = (await call.catch((e: unknown) => e)) as RtmpError;
    expect(error.code).toBe('ERR_RTMP_ABORTED');
    expect((error.cause as Error).message).toBe('user gave up');
    p.server.reply(held[0]!, [null, 'late']);
    const fine = await p.client.call('other', [null]);
    expect(fine.args).toEqual(['ok']);
    expect(surfaced).toEqual([]);
    expect(p.client.closed).toBe(false);
    await expect(p.client.call('x', [null], { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ERR_RTMP_ABORTED',
    });
  });

  it('a timed-out call drops its late reply too', async () => {
    const p = await readyPair();
    const held: RtmpCommand[] = [];
    p.server.on('command', (command) => held.push(command));
    const surfaced: string[] = [];
    p.client.on('command', (command) => surfaced.push(command.name));
    await expect(p.client.call('slow', [null], { timeout: 50 })).rejects.toMatchObject({
      code: 'ERR_RTMP_CALL_TIMEOUT',
    });
    p.server.replyError(held[0]!, [null, { code: 'NetConnection.Call.Failed' }]);
    p.server.sendCommand('onBWDone', 0, [null]);
    await expect.poll(() => surfaced).toEqual(['onBWDone']);
  });

  it('a call timeout setTimeout cannot hold is refused before anything is sent; 0 or less sets none', async () => {
    const p = await readyPair();
    const seen: RtmpCommand[] = [];
    p.server.on('command', (command) => seen.push(command));
    await expect(p.client.call('tooLong', [null], { timeout: 2 ** 31 })).rejects.toMatchObject({
      code: 'ERR_RTMP_INVALID_OPTION',
    });
    // No timer: answered after longer than the 1 ms an overflowing timer would have become.
    const untimed = p.client.call('answered', [null], { timeout: -1 });
    await expect.poll(() => seen.map((c) => c.name)).toEqual(['answered']);
    await new Promise((r) => setTimeout(r, 20));
    p.server.reply(seen[0]!, [null, 'ok']);
    await expect(untimed).resolves.toMatchObject({ args: ['ok'] });
  });

  it('sendCall sends a transaction id, registers nothing and drops any reply', async () => {
    const p = await readyPair();
    const seen: RtmpCommand[] = [];
    p.server.on('command', (command) => {
      seen.push(command);
      if (command.name === 'releaseStream') p.server.replyError(command, [null, { code: 'x' }]);
      if (command.name === 'FCPublish') p.server.reply(command, [null]);
    });
    const surfaced: string[] = [];
    p.client.on('command', (command) => surfaced.push(command.name));
    const first = p.client.sendCall('releaseStream', [null, 'key']);
    const second = p.client.sendCall('FCPublish', [null, 'key']);
    expect(second).toBe(first + 1);
    await expect.poll(() => seen.length).toBe(2);
    expect(seen.map((c) => [c.name, c.transactionId, c.args[0]])).toEqual([
      ['releaseStream', first, 'key'],
      ['FCPublish', second, 'key'],
    ]);
    p.server.sendCommand('marker', 0, [null]);
    await expect.poll(() => surfaced).toEqual(['marker']);
    p.client.destroy();
    expect(p.client.sendCall('late', [null])).toBe(-1);
  });

  it('needDrain follows the socket high-water mark', async () => {
    const p = await readyPair();
    expect(p.server.needDrain).toBe(false);
    p.client.socket.pause();
    let full = false;
    for (let i = 0; i < 2000 && !full; i++) full = !p.server.send(video(64 * 1024, i));
    expect(full).toBe(true);
    expect(p.server.needDrain).toBe(true);
    p.client.socket.resume();
    await next(p.server, 'drain');
    expect(p.server.needDrain).toBe(false);
  });
});
