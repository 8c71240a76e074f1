import * as net from 'node:net';
import { encodeMessage } from '@rtmp/chunk';
import { next } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RtmpConnection, RtmpError } from '../src/index.js';
import { connectionPair, type Pair } from './helpers/pair.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

async function ready(p: Pair): Promise<Pair> {
  await Promise.all([
    p.server.ready ? undefined : next(p.server, 'ready'),
    p.client.ready ? undefined : next(p.client, 'ready'),
  ]);
  return p;
}

describe('RtmpConnection over a socket pair', () => {
  it('completes a digest handshake in both roles', async () => {
    pair = await ready(await connectionPair());
    expect(pair.server.handshakeKind).toBe('digest');
    expect(pair.client.handshakeKind).toBe('digest');
    expect(pair.client.bytesOut).toBeGreaterThanOrEqual(1 + 1536 * 2);
  });

  it('completes a simple handshake when the client asks for it', async () => {
    pair = await ready(await connectionPair({}, { digest: false }));
    expect(pair.server.handshakeKind).toBe('simple');
  });

  it('resolves call() on _result and rejects on _error', async () => {
    pair = await ready(await connectionPair());
    const { server, client } = pair;
    server.on('command', (command) => {
      if (command.name === 'connect') {
        server.reply(command, [{ fmsVer: 'FMS/3,0,1,123' }, { code: 'NetConnection.Connect.Success' }]);
      } else {
        server.replyError(command, [
          null,
          { level: 'error', code: 'NetConnection.Call.Failed', description: 'no' },
        ]);
      }
    });
    const result = await client.call('connect', [{ app: 'live' }]);
    expect(result.commandObject).toMatchObject({ fmsVer: 'FMS/3,0,1,123' });
    expect(result.args[0]).toMatchObject({ code: 'NetConnection.Connect.Success' });
    const failure = await client.call('nope', [null]).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RtmpError);
    expect((failure as RtmpError).code).toBe('ERR_RTMP_CALL_FAILED');
    expect((failure as RtmpError).message).toContain('NetConnection.Call.Failed');
  });

  it('passes commands with their arguments, stream id and transaction id', async () => {
    pair = await ready(await connectionPair());
    const got = next<[import('../src/index.js').RtmpCommand]>(pair.server, 'command');
    pair.client.sendCommand('publish', 5, [null, 'key?token=1', 'live'], 1);
    const [command] = await got;
    expect(command).toMatchObject({ name: 'publish', transactionId: 5, commandObject: null, streamId: 1 });
    expect(command.args).toEqual(['key?token=1', 'live']);
  });

  it('decodes AMF3-form commands (type 17) both ways', async () => {
    pair = await ready(await connectionPair());
    pair.client.commandEncoding = 3;
    const got = next<[import('../src/index.js').RtmpCommand]>(pair.server, 'command');
    pair.client.sendCommand('hello', 0, [null, 'x']);
    const [command] = await got;
    expect(command.messageType).toBe(17);
    expect(command.args).toEqual(['x']);
  });

  it('emits onStatus as a status event and data messages as data events', async () => {
    pair = await ready(await connectionPair());
    const status = next<[import('../src/index.js').RtmpStatus]>(pair.client, 'status');
    const data = next<[import('../src/index.js').RtmpDataMessage]>(pair.client, 'data');
    pair.server.sendStatus(1, 'status', 'NetStream.Play.Start', 'go', { details: 'k' });
    pair.server.sendData(1, ['|RtmpSampleAccess', true, true]);
    const [s] = await status;
    expect(s).toMatchObject({
      streamId: 1,
      level: 'status',
      code: 'NetStream.Play.Start',
      description: 'go',
    });
    const [d] = await data;
    expect(d.values).toEqual(['|RtmpSampleAccess', true, true]);
    expect(d.streamId).toBe(1);
  });

  it('answers pings and measures the round trip', async () => {
    pair = await ready(await connectionPair());
    const rtt = await pair.server.ping();
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(rtt).toBeLessThan(1000);
  });

  it('announces a chunk size and carries a large message intact', async () => {
    pair = await ready(await connectionPair());
    pair.server.setChunkSize(4096);
    const payload = new Uint8Array(100_000).map((_, i) => i & 0xff);
    const got = next<[import('@rtmp/chunk').RtmpMessage]>(pair.client, 'message');
    pair.server.send({ type: 9, streamId: 1, timestamp: 0x1234567, payload });
    const [message] = await got;
    expect(pair.client.inChunkSize).toBe(4096);
    expect(message.timestamp).toBe(0x1234567);
    expect(Buffer.compare(Buffer.from(message.payload), Buffer.from(payload))).toBe(0);
  });

  it('writes shared pre-encoded messages (encodeMessage) after stateful ones on the same csid', async () => {
    pair = await ready(await connectionPair());
    const messages: import('@rtmp/chunk').RtmpMessage[] = [];
    pair.client.on('message', (m) => messages.push(m));
    const a = { type: 9, streamId: 1, timestamp: 10, payload: new Uint8Array(300).fill(1) };
    const b = { type: 9, streamId: 1, timestamp: 20, payload: new Uint8Array(300).fill(2) };
    const c = { type: 9, streamId: 1, timestamp: 30, payload: new Uint8Array(300).fill(3) };
    pair.server.send(a, 6);
    pair.server.writeEncoded(encodeMessage(b, 6, pair.server.outChunkSize), 6);
    pair.server.send(c, 6);
    await new Promise<void>((resolve) => {
      const check = () => (messages.length >= 3 ? resolve() : setTimeout(check, 5));
      check();
    });
    expect(messages.map((m) => [m.timestamp, m.payload[0]])).toEqual([
      [10, 1],
      [20, 2],
      [30, 3],
    ]);
  });

  it('acknowledges at the window the peer announced', async () => {
    pair = await ready(await connectionPair());
    const acks: number[] = [];
    pair.server.on('control', (c) => {
      if (c.type === 'acknowledgement') acks.push(c.sequenceNumber);
    });
    pair.server.setWindowAckSize(5000);
    const payload = new Uint8Array(4000);
    for (let i = 0; i < 5; i++) pair.server.send({ type: 8, streamId: 1, timestamp: i, payload });
    await new Promise((r) => setTimeout(r, 100));
    // One acknowledgement per read at most: loopback may deliver the 20 kB in one or several reads.
    expect(acks.length).toBeGreaterThanOrEqual(1);
    expect(acks.at(-1)).toBeGreaterThanOrEqual(20_000);
    expect(pair.client.peerWindowAckSize).toBe(5000);
    expect(acks.at(-1)).toBeLessThanOrEqual(pair.client.bytesIn);
  });

  it('answers Set Peer Bandwidth with its own Window Ack Size', async () => {
    pair = await ready(await connectionPair());
    const got = new Promise<number>((resolve) =>
      pair!.server.on('control', (c) => c.type === 'windowAckSize' && resolve(c.size)),
    );
    pair.server.setPeerBandwidth(2_500_000, 2);
    expect(await got).toBe(2_500_000);
  });

  it('rejects pending calls with ERR_RTMP_CLOSED and emits close once', async () => {
    pair = await ready(await connectionPair());
    const closes: unknown[] = [];
    pair.client.on('close', (e) => closes.push(e));
    const call = pair.client.call('neverAnswered', [null]).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    pair.server.destroy();
    const error = await call;
    expect((error as RtmpError).code).toBe('ERR_RTMP_CLOSED');
    await new Promise((r) => setTimeout(r, 20));
    expect(closes).toHaveLength(1);
    expect(closes[0]).toBeUndefined();
    expect(pair.client.send({ type: 8, streamId: 1, timestamp: 0, payload: new Uint8Array(1) })).toBe(false);
  });

  it('times out a call that gets no reply', async () => {
    pair = await ready(await connectionPair());
    const error = await pair.client.call('silence', [null], { timeout: 50 }).catch((e: unknown) => e);
    expect((error as RtmpError).code).toBe('ERR_RTMP_CALL_TIMEOUT');
  });

  it('turns a throwing listener into ERR_RTMP_HANDLER_FAILED on that connection only', async () => {
    pair = await ready(await connectionPair());
    pair.server.on('command', () => {
      throw new Error('boom');
    });
    const closed = next<[RtmpError | undefined]>(pair.server, 'close');
    pair.client.sendCommand('anything', 0, [null]);
    const [error] = await closed;
    expect(error?.code).toBe('ERR_RTMP_HANDLER_FAILED');
    expect((error!.cause as Error).message).toBe('boom');
  });

  it('closes on a malformed command with ERR_RTMP_MALFORMED_COMMAND', async () => {
    pair = await ready(await connectionPair());
    const closed = next<[RtmpError | undefined]>(pair.server, 'close');
    pair.client.send({
      type: 20,
      streamId: 0,
      timestamp: 0,
      payload: new Uint8Array([0x02, 0xff, 0xff, 0x41]),
    });
    const [error] = await closed;
    expect(error?.code).toBe('ERR_RTMP_MALFORMED_COMMAND');
  });

  it('closes on an invalid chunk stream with ERR_RTMP_PROTOCOL', async () => {
    pair = await ready(await connectionPair());
    const closed = next<[RtmpError | undefined]>(pair.server, 'close');
    // Set Chunk Size 0 is a protocol error.
    pair.client.socket.write(new Uint8Array([0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0]));
    const [error] = await closed;
    expect(error?.code).toBe('ERR_RTMP_PROTOCOL');
  });

  it('enforces the handshake timeout', async () => {
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
    const raw = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
    raw.on('error', () => {});
    const server = new RtmpConnection(await accepted, { role: 'server', handshakeTimeout: 100 });
    const [error] = await next<[RtmpError | undefined]>(server, 'close');
    expect(error?.code).toBe('ERR_RTMP_HANDSHAKE_TIMEOUT');
    raw.destroy();
    listener.close();
  });

  it('closes an idle peer with ERR_RTMP_IDLE_TIMEOUT', async () => {
    pair = await ready(await connectionPair({ idleTimeout: 150 }));
    const [error] = await next<[RtmpError | undefined]>(pair.server, 'close');
    expect(error?.code).toBe('ERR_RTMP_IDLE_TIMEOUT');
  });

  it('keeps a quiet but live peer alive with pings', async () => {
    pair = await ready(await connectionPair({ idleTimeout: 300, pingInterval: 60 }));
    await new Promise((r) => setTimeout(r, 700));
    expect(pair.server.closed).toBe(false);
  });

  it('exposes the socket backpressure', async () => {
    pair = await ready(await connectionPair());
    pair.client.socket.pause();
    const payload = new Uint8Array(1 << 20);
    let ok = true;
    for (let i = 0; i < 64 && ok; i++) ok = pair.server.send({ type: 9, streamId: 1, timestamp: i, payload });
    expect(ok).toBe(false);
    expect(pair.server.writableLength).toBeGreaterThan(0);
    const drained = next(pair.server, 'drain');
    pair.client.socket.resume();
    await drained;
  });
});

describe('RtmpConnection ping timeout', () => {
  it('closes a peer that never answers pings with ERR_RTMP_PING_TIMEOUT', async () => {
    const p = await ready(await connectionPair({ idleTimeout: 300, pingInterval: 50 }));
    pair = p;
    // Swallow everything the client receives so no ping is ever answered.
    p.client.socket.removeAllListeners('data');
    const [error] = await next<[RtmpError | undefined]>(p.server, 'close');
    expect(error?.code).toBe('ERR_RTMP_PING_TIMEOUT');
  });
});
