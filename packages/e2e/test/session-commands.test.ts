// The server's command handling, driven by our client: connect, createStream, publish and play through the client's
// API; the commands it has no method for (releaseStream, getStreamLength, unknown ones, raw media before publish)
// through its connection core.
import * as net from 'node:net';
import { decodeAmf0 } from '@rtmp/amf';
import { ChunkDecoder } from '@rtmp/chunk';
import type { RtmpClient } from '@rtmp/client';
import type { RtmpStatus } from '@rtmp/connection';
import { RtmpServer, type RtmpServer as Server } from '@rtmp/server';
import { next, until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type Recorded, recordingHandler } from '../../server/test/helpers/recorder.js';
import { connectedClient, localClient } from './helpers/peers.js';

let server: Server | undefined;
const clients: RtmpClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await server?.stop();
  server = undefined;
});

function track(client: RtmpClient): RtmpClient {
  clients.push(client);
  return client;
}

/**
 * A TCP proxy to 127.0.0.1:`port` that keeps every byte the server sent: the client's connect result carries the
 * status code of the server's reply but not its other info properties, which this test checks on the wire.
 */
async function tappingProxy(
  port: number,
): Promise<{ port: number; fromServer: () => Buffer; close(): void }> {
  const received: Buffer[] = [];
  const proxy = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    for (const s of [up, down]) s.on('error', () => {});
    down.on('data', (d) => up.write(d));
    up.on('data', (d: Buffer) => {
      received.push(d);
      down.write(d);
    });
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    fromServer: () => Buffer.concat(received),
    close: () => proxy.close(),
  };
}

/** The info object (4th value) of the server's `_result` to transaction 1, `connect`, as sent on the wire. */
function connectReplyInfo(fromServer: Buffer): unknown {
  const messages = new ChunkDecoder().push(fromServer.subarray(3073)); // after S0 + S1 + S2
  for (const m of messages) {
    if (m.type !== 20) continue;
    const values = decodeAmf0(m.payload);
    if (values[0] === '_result' && values[1] === 1) return values[3];
  }
  throw new Error('no _result to connect');
}

describe('ClientSession commands (our client against our server)', () => {
  it('answers the full command set; publish again after deleteStream; several streams', async () => {
    const records: Recorded[] = [];
    server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: recordingHandler(records) });
    const proxy = await tappingProxy(await server.start());
    const c = track(localClient(proxy.port, { tcUrl: 'not a url at all', capsEx: 15, fourCcList: ['av01'] }));
    const statuses: RtmpStatus[] = [];
    c.on('status', (s) => statuses.push(s));
    const connected = await c.connect();
    expect(connected.properties).toMatchObject({ fmsVer: 'FMS/3,0,1,123', capabilities: 31, capsEx: 15 });
    expect(connected.status).toMatchObject({ code: 'NetConnection.Connect.Success' });
    expect(connectReplyInfo(proxy.fromServer())).toMatchObject({
      code: 'NetConnection.Connect.Success',
      objectEncoding: 0,
    });
    proxy.close();
    const core = c.connection!;
    expect(core.inChunkSize).toBe(4096);
    expect(core.peerWindowAckSize).toBe(2_500_000);
    await core.call('releaseStream', [null, 'a']);
    await core.call('FCPublish', [null, 'a']);
    expect((await core.call('getStreamLength', [null, 'a'])).args[0]).toBe(0);
    const unknown = await core.call('_someUnknown', [null]).catch((e: { code: string }) => e.code);
    expect(unknown).toBe('ERR_RTMP_CALL_FAILED');
    // Two streams published at once, then the first one deleted (deleteStream) and its id given out again.
    const a = await c.publish({ name: 'a' });
    const b = await c.publish({ name: 'b' });
    expect([a.streamId, b.streamId]).toEqual([1, 2]);
    expect(statuses.filter((s) => s.code === 'NetStream.Publish.Start').map((s) => s.streamId)).toEqual([
      1, 2,
    ]);
    a.unpublish();
    const again = await c.publish({ name: 'a' });
    expect(again.streamId).toBe(1);
    expect(statuses.at(-1)).toMatchObject({ code: 'NetStream.Publish.Start', streamId: 1 });
    await until(() => records[0]?.calls.filter((x) => x === 'unpublish').length === 1, 2_000, 'unpublish');
    c.destroy();
    await until(() => records[0]?.calls.at(-1) === 'disconnect', 2_000, 'disconnect');
    expect(records[0]!.calls.filter((x) => x === 'disconnect')).toHaveLength(1);
    expect(records[0]!.calls.filter((x) => x === 'unpublish')).toHaveLength(3);
  });

  it('drops media sent before publish, holds media sent while the decision is pending', async () => {
    const records: Recorded[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    server = new RtmpServer({
      host: '127.0.0.1',
      port: 0,
      demux: false,
      handler: recordingHandler(records, () => ({ handlePublish: () => gate })),
    });
    const client = track(await connectedClient(await server.start()));
    // Media around a publish is what the client's API never sends: the connection core sends it here.
    const c = client.connection!;
    await client.createStream();
    c.send({ type: 9, streamId: 1, timestamp: 0, payload: new Uint8Array([0x17, 1, 0, 0, 0, 1]) });
    await new Promise((r) => setTimeout(r, 50));
    c.sendCommand('publish', 0, [null, 'k', 'live'], 1);
    c.send({ type: 9, streamId: 1, timestamp: 40, payload: new Uint8Array([0x17, 1, 0, 0, 0, 2]) });
    await new Promise((r) => setTimeout(r, 50));
    expect(records[0]!.video).toHaveLength(0);
    const started = next<[RtmpStatus]>(client, 'status');
    release();
    await started;
    c.send({ type: 9, streamId: 1, timestamp: 80, payload: new Uint8Array([0x17, 1, 0, 0, 0, 3]) });
    await until(() => (records[0]?.video.length ?? 0) >= 2, 2_000, 'video');
    expect(records[0]!.video.map((v) => (v.kind === 'raw' ? v.timestamp : -1))).toEqual([40, 80]);
    client.destroy();
  });

  it('a throwing handler ends that connection only, reported once as ERR_RTMP_HANDLER_FAILED', async () => {
    const errors: string[] = [];
    server = new RtmpServer({
      host: '127.0.0.1',
      port: 0,
      handler: () => ({
        handleConnect: (info) => {
          if (info.app === 'bad') throw new Error('handler bug');
        },
      }),
    });
    server.on('sessionError', (_s, e) => errors.push(e.code));
    const port = await server.start();
    const good = track(await connectedClient(port, { app: 'good' }));
    const bad = track(localClient(port, { app: 'bad' }));
    const closed = next(bad, 'close');
    bad.connect().catch(() => {});
    await closed;
    expect(good.connectResult?.status).toMatchObject({ code: 'NetConnection.Connect.Success' });
    expect(good.connected).toBe(true);
    expect(errors).toEqual(['ERR_RTMP_HANDLER_FAILED']);
    good.destroy();
  });

  it('refuses connections above maxConnections and sends players StreamEOF on stop()', async () => {
    server = new RtmpServer({ host: '127.0.0.1', port: 0, maxConnections: 1, handler: () => ({}) });
    const refused: string[] = [];
    server.on('connectionRefused', (e) => refused.push(e.code));
    const port = await server.start();
    const c = track(await connectedClient(port));
    const extra = net.connect(port, '127.0.0.1');
    extra.on('error', () => {});
    await new Promise((r) => extra.once('close', r));
    expect(refused).toEqual(['ERR_RTMP_MAX_CONNECTIONS']);
    const codes: string[] = [];
    c.on('status', (s) => codes.push(s.code));
    const eof = new Promise<void>((resolve) =>
      c.connection!.on(
        'control',
        (m) => m.type === 'userControl' && m.event.type === 'streamEof' && resolve(),
      ),
    );
    await c.play({ name: 'x' });
    await until(() => codes.includes('NetStream.Play.Start'), 2_000, 'play start');
    expect(codes).toEqual(['NetStream.Play.Reset', 'NetStream.Play.Start']);
    await server.stop();
    await eof;
    expect(codes).toContain('NetStream.Play.UnpublishNotify');
  });
});
