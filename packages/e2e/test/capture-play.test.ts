import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { decodeAmf0, encodeAmf0 } from '@rtmp/amf';
import { ChunkDecoder, type RtmpMessage } from '@rtmp/chunk';
import { LiveRelay, RtmpServer } from '@rtmp/server';
import { fixture, until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { aac, avc, connectedClient } from './helpers/peers.js';

let server: RtmpServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function clientRecords(name: string): Buffer[] {
  const data = readFileSync(fixture(`captures/${name}`));
  const out: Buffer[] = [];
  let at = 0;
  while (at + 9 <= data.length) {
    const length = data.readUInt32BE(at + 5);
    if (data[at] === 0) out.push(data.subarray(at + 9, at + 9 + length));
    at += 9 + length;
  }
  return out;
}

/** One line per message: control type, command/data name with status code, or media type + first bytes. */
function describeMessage(m: RtmpMessage): string {
  if (m.type === 20 || m.type === 18) {
    const values = decodeAmf0(m.payload) as unknown[];
    const info = (m.type === 20 ? values[3] : undefined) as { code?: string } | undefined;
    return `${m.type === 20 ? 'cmd' : 'data'} ${String(values[0])}${info?.code ? ` ${info.code}` : ''} @${m.streamId}`;
  }
  if (m.type === 8 || m.type === 9) {
    const b = m.payload;
    return `${m.type === 9 ? 'video' : 'audio'} ${b[0]!.toString(16)}${b[1]} @${m.streamId} t${m.timestamp}`;
  }
  return `control ${m.type}`;
}

describe('the captured FFmpeg player session replayed into our relay', () => {
  it('gets the expected play sequence, then the cached GOP and live media', async () => {
    const relay = new LiveRelay();
    server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: relay.handler() });
    const port = await server.start();

    // Something to play on the captured key (the capture plays live/cap2), by our client.
    const publisher = await connectedClient(port);
    const stream = await publisher.publish({ name: 'cap2' });
    stream.write(18, 0, encodeAmf0(['@setDataFrame', 'onMetaData', { width: 320, height: 240 }]));
    stream.write(9, 0, avc.header());
    stream.write(8, 0, aac.header());
    stream.write(9, 0, avc.frame(true, 500));
    stream.write(8, 10, aac.frame(100));
    stream.write(9, 40, avc.frame(false, 300));
    await until(() => relay.stats()[0]?.gopMessages === 3, 2_000, 'gop');

    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    await new Promise((r) => socket.once('connect', r));
    for (const bytes of clientRecords('ffmpeg-play-h264-aac.rtmpcap')) {
      socket.write(bytes);
      await new Promise((r) => setImmediate(r));
    }
    await until(() => relay.stats()[0]?.players === 1, 5_000, 'player');
    // Live media after the player joined.
    stream.write(9, 80, avc.frame(false, 300));
    stream.write(8, 90, aac.frame(100));
    const messages: RtmpMessage[] = [];
    await until(
      () => {
        const all = Buffer.concat(received);
        if (all.length <= 3073) return false;
        messages.length = 0;
        messages.push(...new ChunkDecoder().push(all.subarray(3073)));
        return messages.filter((m) => m.type === 8 || m.type === 9).length === 7;
      },
      5_000,
      'media',
    );
    expect(messages.map(describeMessage)).toEqual([
      'control 5', // Window Ack Size
      'control 6', // Set Peer Bandwidth
      'control 1', // Set Chunk Size
      'cmd _result NetConnection.Connect.Success @0',
      'cmd _result @0', // createStream
      'cmd _result @0', // getStreamLength
      'control 4', // StreamBegin
      'cmd onStatus NetStream.Play.Reset @1',
      'cmd onStatus NetStream.Play.Start @1',
      'data |RtmpSampleAccess @1',
      'data onMetaData @1', // without @setDataFrame
      'video 170 @1 t0', // AVC sequence header
      'audio af0 @1 t0', // AAC AudioSpecificConfig
      'video 171 @1 t0', // the cached GOP, from its keyframe
      'audio af1 @1 t10',
      'video 271 @1 t40',
      'video 271 @1 t80', // live
      'audio af1 @1 t90',
    ]);
    // The metadata the player gets is a bare onMetaData with the publisher's values.
    const meta = messages.find((m) => m.type === 18 && describeMessage(m).includes('onMetaData'))!;
    expect(decodeAmf0(meta.payload)).toEqual([
      'onMetaData',
      expect.objectContaining({ width: 320, height: 240 }),
    ]);
    socket.destroy();
    publisher.destroy();
  });
});
