import { decodeAmf0, EcmaArray, encodeAmf0 } from '@rtmp/amf';
import {
  AvMultitrackType,
  muxAudioControl,
  muxVideoControl,
  parseAudioTag,
  parseVideoTag,
  VideoPacketType,
} from '@rtmp/flv-demux';
import { concat, until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RtmpClient, type RtmpPublisher, type RtmpReconnectRequest } from '../src/index.js';
import { type ScriptedServer, scriptedServer } from './helpers/scripted-server.js';

// What a publisher remembers for a new connection (`publisher.headers`), and what followReconnect sends there.

const servers: ScriptedServer[] = [];
const clients: RtmpClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function publisher(): Promise<{
  server: ScriptedServer;
  client: RtmpClient;
  publisher: RtmpPublisher;
}> {
  const server = await scriptedServer();
  servers.push(server);
  const client = new RtmpClient({ url: server.url, capsEx: 1 });
  clients.push(client);
  await client.connect();
  return { server, client, publisher: await client.publish() };
}

const bytes = (...values: number[]) => Uint8Array.from(values);
const fourcc = (text: string) => [...text].map((c) => c.charCodeAt(0));
const u24 = (n: number) => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const join = (parts: readonly Uint8Array[]) => concat(parts);

// Legacy FLV: AVC sequence header / end of sequence / frame, AAC sequence header / frame.
const avcHeader = (n: number) => bytes(0x17, 0, 0, 0, 0, 1, 0x64, 0, n, 0xff, 0xe0, 0);
const AVC_END = bytes(0x17, 2, 0, 0, 0);
const AVC_KEY = bytes(0x17, 1, 0, 0, 0, 0, 0, 0, 2, 0x65, 0x88);
const AAC_HEADER = bytes(0xaf, 0, 0x12, 0x10);
const AAC_FRAME = bytes(0xaf, 1, 0x21, 0x10);

const names = (p: RtmpPublisher) =>
  p.headers.map((t) => {
    if (t.type === 18) return `data:${String(decodeAmf0(t.body)[1])}`;
    const parsed = t.type === 9 ? parseVideoTag(t.body) : parseAudioTag(t.body);
    const packet = parsed.packets[0]!;
    return `${t.type === 9 ? 'video' : 'audio'}:${packet.track}:${packet.packetType}:${packet.codec}`;
  });

describe('publisher.headers', () => {
  it('legacy FLV: the last metadata and each sequence header, in the order last sent; an end forgets its track', async () => {
    const { publisher: p } = await publisher();
    expect(p.headers).toEqual([]);
    await p.sendMetadata({ width: 320 });
    const first = avcHeader(13);
    await p.sendTag(9, 0, first);
    await p.sendTag(8, 0, AAC_HEADER);
    await p.sendTag(9, 0, AVC_KEY);
    await p.sendTag(8, 23, AAC_FRAME);
    expect(names(p)).toEqual(['data:onMetaData', 'video:0:0:avc', 'audio:0:0:aac']);
    // Copies: the caller may reuse its buffers.
    first[8] = 99;
    expect(p.headers[1]!.body).toEqual(avcHeader(13));
    // A new sequence header replaces its track's and moves last; metadata too.
    await p.sendTag(9, 2000, avcHeader(31));
    await p.sendMetadata(new EcmaArray(Object.assign(Object.create(null), { width: 640 })), 2000);
    expect(names(p)).toEqual(['audio:0:0:aac', 'video:0:0:avc', 'data:onMetaData']);
    expect(p.headers[1]).toEqual({ type: 9, timestamp: 2000, body: avcHeader(31) });
    await p.sendTag(9, 3000, AVC_END);
    expect(names(p)).toEqual(['audio:0:0:aac', 'data:onMetaData']);
    await p.sendTag(18, 3000, encodeAmf0(['@clearDataFrame', 'onMetaData']));
    expect(names(p)).toEqual(['audio:0:0:aac']);
  });

  it('Enhanced RTMP: single track, ModEx-wrapped, colorInfo and multichannel config beside the config', async () => {
    const { publisher: p } = await publisher();
    const hvcC = bytes(1, 2, 3, 4);
    await p.sendTag(9, 0, join(muxVideoControl({ codec: 'hevc', track: 0 }, 0, hvcC)));
    // ModEx (TimestampOffsetNano 0x0102) around an AV1 SequenceStart: a header all the same; it replaces track 0's.
    const modEx = bytes(0x90 | 7, 2, 0, 1, 2, 0x00 | VideoPacketType.SequenceStart, ...fourcc('av01'), 9, 9);
    await p.sendTag(9, 0, modEx);
    // colorInfo metadata (packet type 4) is kept beside the config.
    const colorInfo = bytes(0x90 | VideoPacketType.Metadata, ...fourcc('av01'), ...encodeAmf0(['colorInfo']));
    await p.sendTag(9, 0, colorInfo);
    await p.sendTag(8, 0, join(muxAudioControl({ codec: 'opus', track: 0 }, 0, bytes(7, 7))));
    const channels = bytes(0x90 | 4, ...fourcc('Opus'), 1, 2);
    await p.sendTag(8, 0, channels);
    expect(names(p)).toEqual(['video:0:0:av1', 'video:0:4:av1', 'audio:0:0:opus', 'audio:0:4:opus']);
    expect(p.headers[0]!.body).toEqual(modEx);
    expect(p.headers[1]!.body).toEqual(colorInfo);
    expect(p.headers[3]!.body).toEqual(channels);
  });

  it('multitrack: each track of a tag remembered as a one-track tag of its own; an end forgets only its track', async () => {
    const { publisher: p } = await publisher();
    const one = bytes(0xa1, 0xa1);
    const two = bytes(0xb2, 0xb2, 0xb2);
    // ManyTracks: video tracks 1 and 2 (avc1) in one SequenceStart tag, wrapped in ModEx.
    const many = bytes(
      0x90 | 7,
      2,
      0,
      0,
      5,
      VideoPacketType.Multitrack,
      (AvMultitrackType.ManyTracks << 4) | VideoPacketType.SequenceStart,
      ...fourcc('avc1'),
      1,
      ...u24(one.byteLength),
      ...one,
      2,
      ...u24(two.byteLength),
      ...two,
    );
    await p.sendTag(9, 0, many);
    // ManyTracksManyCodecs audio: AAC on track 0, Opus on track 3.
    const audio = bytes(
      0x90 | 5,
      (AvMultitrackType.ManyTracksManyCodecs << 4) | 0,
      ...fourcc('mp4a'),
      0,
      ...u24(2),
      0x12,
      0x10,
      ...fourcc('Opus'),
      3,
      ...u24(1),
      0x33,
    );
    await p.sendTag(8, 0, audio);
    expect(names(p)).toEqual(['video:1:0:avc', 'video:2:0:avc', 'audio:0:0:aac', 'audio:3:0:opus']);
    const track2 = parseVideoTag(p.headers[1]!.body);
    expect(track2).toMatchObject({ frameType: 1, multitrackType: AvMultitrackType.OneTrack });
    expect(track2.packets).toEqual([
      expect.objectContaining({ fourcc: 'avc1', track: 2, packetType: 0, data: two }),
    ]);
    const opus = parseAudioTag(p.headers[3]!.body);
    expect(opus.packets).toEqual([expect.objectContaining({ fourcc: 'Opus', track: 3, data: bytes(0x33) })]);
    // The end of track 1 (one-track form) leaves track 2.
    await p.sendTag(
      9,
      40,
      join(muxVideoControl({ codec: 'avc', track: 1 }, VideoPacketType.SequenceEnd, null)),
    );
    expect(names(p)).toEqual(['video:2:0:avc', 'audio:0:0:aac', 'audio:3:0:opus']);
  });
});

describe('followReconnect replays the headers', () => {
  async function moveWith(prepare?: (p: RtmpPublisher) => Promise<void>) {
    const old = await publisher();
    const target = await scriptedServer();
    servers.push(target);
    await old.publisher.sendMetadata({ width: 320 });
    await old.publisher.sendTag(9, 0, avcHeader(13));
    await old.publisher.sendTag(8, 0, AAC_HEADER);
    await old.publisher.sendTag(9, 0, AVC_KEY);
    await old.publisher.sendTag(9, 2000, avcHeader(31));
    const requests: RtmpReconnectRequest[] = [];
    old.client.on('reconnectRequest', (r) => requests.push(r));
    const tcUrl = target.url.replace(/\/k$/, '');
    old.server.peers[0]!.connection.sendStatus(
      0,
      'status',
      'NetConnection.Connect.ReconnectRequest',
      'move',
      {
        tcUrl,
      },
    );
    await until(() => requests.length === 1, 5_000, 'the request');
    const moved = await old.client.followReconnect(requests[0]!, old.publisher, prepare ? { prepare } : {});
    clients.push(moved.client);
    await moved.publisher.sendTag(9, 2040, AVC_KEY);
    const peer = target.peers[0]!;
    await until(() => peer.media.some((m) => m.timestamp === 2040), 5_000, 'the keyframe on the new server');
    return {
      old,
      moved,
      received: peer.media.map((m) => ({ type: m.type, timestamp: m.timestamp, body: m.payload })),
    };
  }

  it('the new server gets the metadata and current sequence headers before the next keyframe', async () => {
    const { old, moved, received } = await moveWith();
    expect(old.client.connected).toBe(false);
    expect(received).toEqual([...old.publisher.headers, { type: 9, timestamp: 2040, body: AVC_KEY }]);
    expect(names(old.publisher)).toEqual(['data:onMetaData', 'audio:0:0:aac', 'video:0:0:avc']);
    expect(moved.publisher.headers).toEqual(old.publisher.headers);
  });

  it('what prepare sent with the same bytes is not sent twice; what it did not send follows it', async () => {
    const { old, received } = await moveWith(async (p) => {
      await p.sendTag(9, 1, avcHeader(31));
      await p.sendTag(8, 1, bytes(0xaf, 0, 0x11, 0x90));
    });
    const [metadata] = old.publisher.headers;
    expect(received).toEqual([
      { type: 9, timestamp: 1, body: avcHeader(31) },
      { type: 8, timestamp: 1, body: bytes(0xaf, 0, 0x11, 0x90) },
      // The old publisher's current AAC config differs from prepare's: it is sent, after the metadata.
      metadata,
      { type: 8, timestamp: 0, body: AAC_HEADER },
      { type: 9, timestamp: 2040, body: AVC_KEY },
    ]);
  });
});
