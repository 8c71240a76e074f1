import { Buffer } from 'node:buffer';
import { FlvReader } from '@rtmp/flv-demux';
import { parseFlvTags, readFixture } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { type ClientSession, isRtmpPlayer, LiveRelay, type RelayItem, RtmpError } from '../src/index.js';
import {
  describeTag,
  expectedForJoiner,
  RecordingPlayer,
  type StreamSpec,
  syntheticStream,
  type Tag,
} from './helpers/relay-model.js';
import { RecordingSubscriber, TestPublisher } from './helpers/subscriber.js';

// In-process subscribers of LiveRelay (anything that is not an RTMP session) and publishers that are not sessions,
// against the relay's contract (helpers/relay-model.ts) and the RTMP players that join at the same points.

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

function fixtureTags(name: string): Tag[] {
  return new FlvReader()
    .push(readFixture(name))
    .filter((t): t is typeof t & { type: 8 | 9 | 18 } => t.type === 8 || t.type === 9 || t.type === 18)
    .map((t) => ({ type: t.type, timestamp: t.timestamp, body: t.body }));
}

const MULTITRACK: StreamSpec = {
  video: [
    {
      codec: 'avc',
      track: 0,
      init: Uint8Array.of(1, 0x64, 0, 0x1f, 0xff),
      changed: Uint8Array.of(1, 0x64, 0, 0x28, 0xff),
    },
    {
      codec: 'hevc',
      track: 1,
      init: Uint8Array.of(1, 1, 0x60),
      changed: Uint8Array.of(1, 1, 0x61),
      colorInfo: true,
    },
  ],
  audio: [
    { codec: 'aac', track: 1, init: Uint8Array.of(0x12, 0x10) },
    { codec: 'opus', track: 2, init: Uint8Array.from([...ascii('OpusHead'), 1, 2]), channelConfig: true },
  ],
  frames: 40,
  gop: 10,
  nano: true,
  changeAt: 20,
  endAt: 33,
};

/** Pushes `tags` from `publisher` (registered already) into `relay` on key `k`. */
function feed(relay: LiveRelay, publisher: TestPublisher, tags: readonly Tag[], streamId = 1): void {
  for (const tag of tags) {
    relay.push('k', publisher, { type: tag.type, streamId, timestamp: tag.timestamp, payload: tag.body });
  }
}

/** A relay on key `k` with a non-session publisher, an RTMP player and a subscriber joining before each of `joins`. */
function joinEverywhere(source: readonly Tag[], joins: readonly number[]) {
  const relay = new LiveRelay({ maxGopBytes: 1 << 30 });
  const publisher = new TestPublisher();
  expect(relay.publish('k', publisher)).toBe(true);
  const joined = new Map<number, { player: RecordingPlayer; subscriber: RecordingSubscriber }>();
  for (let i = 0; i <= source.length; i++) {
    if (joins.includes(i)) {
      const player = new RecordingPlayer();
      const subscriber = new RecordingSubscriber('http-flv');
      relay.play('k', player.session, 1);
      relay.subscribe('k', subscriber);
      joined.set(i, { player, subscriber });
    }
    const tag = source[i];
    if (tag) feed(relay, publisher, [tag]);
  }
  return joined;
}

const everyJoin = (source: readonly Tag[], step = 1) =>
  source
    .map((_, i) => i)
    .filter((i) => i < 12 || i % step === 0)
    .concat(source.length);

describe('a subscriber gets exactly what an RTMP player gets', () => {
  it.each([
    ['the legacy H.264 + AAC fixture', () => fixtureTags('small_h264_aac.flv'), 5],
    ['the E-RTMP lab AV1 + Opus file', () => fixtureTags('enhanced/av1_opus_testsrc.flv'), 7],
    [
      'a StreamMuxer multitrack stream (avc + hvc1, mp4a + Opus, ModEx, change, end)',
      () => syntheticStream(MULTITRACK),
      1,
    ],
  ])('%s, joining at every point', (_name, make, step) => {
    const source = make();
    for (const [at, { player, subscriber }] of joinEverywhere(source, everyJoin(source, step))) {
      const expected = expectedForJoiner(source, at).map(describeTag);
      expect(player.tags.map(describeTag), `player joined after ${at} tags`).toEqual(expected);
      expect(subscriber.tags.map(describeTag), `subscriber joined after ${at} tags`).toEqual(expected);
    }
  });

  it('items carry the classification: data, config, keyframe, frame, with tracks', () => {
    const source = syntheticStream(MULTITRACK);
    const subscriber = joinEverywhere(source, [0]).get(0)!.subscriber;
    const items = subscriber.items;
    expect(items[0]).toMatchObject({ kind: 'data', keyframe: false, tracks: [], tagClass: undefined });
    expect(items[1]).toMatchObject({ kind: 'config', keyframe: false, tracks: [{ track: 0, codec: 'avc' }] });
    const keyframes = items.filter((i) => i.keyframe);
    expect(keyframes.length).toBeGreaterThan(0);
    expect(keyframes.every((i) => i.kind === 'keyframe' && i.message.type === 9)).toBe(true);
    expect(items.some((i) => i.kind === 'frame' && i.tracks.some((t) => t.codec === 'opus'))).toBe(true);
    expect(items.some((i) => i.kind === 'sequenceEnd')).toBe(true);
    expect(items.find((i) => i.kind === 'metadata')?.tagClass).toMatchObject({
      media: 'video',
      packetType: 4,
    });
  });
});

describe('shared serializations', () => {
  it('FLV tags: one Uint8Array per message for every subscriber, bytes an FLV reader reads back', () => {
    const source = fixtureTags('extended_ts_h264_aac.flv');
    const joined = joinEverywhere(source, [0]);
    const first = joined.get(0)!.subscriber;
    // A second relay run is not needed: a second subscriber of the same key sees the very same items.
    const relay = new LiveRelay();
    const publisher = new TestPublisher();
    relay.publish('k', publisher);
    const a = new RecordingSubscriber('http-flv');
    const b = new RecordingSubscriber('ws-flv');
    relay.subscribe('k', a);
    relay.subscribe('k', b);
    feed(relay, publisher, source);
    expect(a.items.length).toBe(source.length);
    for (const [i, item] of a.items.entries()) {
      expect(b.items[i]).toBe(item);
      expect(b.items[i]!.flvTag()).toBe(item.flvTag());
    }
    const file = Buffer.concat([
      Buffer.from([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]),
      ...first.items.map((item) => item.flvTag()),
    ]);
    const tags = parseFlvTags(file);
    expect(
      tags.map((t) => describeTag({ type: t.type as 8 | 9 | 18, timestamp: t.timestamp, body: t.body })),
    ).toEqual(expectedForJoiner(source, 0).map(describeTag));
    // Extended timestamps (this fixture starts above 0xFFFFFF) survive: the fourth byte is the high one.
    expect(Math.max(...tags.map((t) => t.timestamp))).toBeGreaterThan(0xffffff);
    // Every PreviousTagSize is its tag's size.
    let offset = 13;
    for (const item of first.items) {
      const tag = item.flvTag();
      expect(tag.byteLength).toBe(item.message.payload.byteLength + 15);
      expect(file.readUInt32BE(offset + tag.byteLength - 4)).toBe(tag.byteLength - 4);
      offset += tag.byteLength;
    }
  });

  it('RTMP chunks: the encoding an RTMP player writes is the item’s, shared per (stream id, chunk size)', () => {
    const relay = new LiveRelay();
    const publisher = new TestPublisher();
    relay.publish('k', publisher);
    const written: (readonly Uint8Array[])[] = [];
    const session = {
      closed: false,
      wants: () => true,
      endPlayback: () => {},
      close: () => {},
      connection: {
        writableLength: 0,
        outChunkSize: 4096,
        writeEncoded: (slices: readonly Uint8Array[]) => written.push(slices) > 0,
      },
    } as unknown as ClientSession;
    relay.play('k', session, 1);
    const subscriber = new RecordingSubscriber();
    relay.subscribe('k', subscriber);
    feed(relay, publisher, fixtureTags('small_h264_aac.flv').slice(0, 20));
    expect(written.length).toBe(20);
    for (const [i, item] of subscriber.items.entries()) {
      expect(item.rtmpChunks(1, 4096)).toBe(written[i]);
      expect(item.rtmpChunks(1, 128)).toBe(item.rtmpChunks(1, 128));
      expect(item.rtmpChunks(1, 128)).not.toBe(written[i]);
    }
  });
});

describe('the slow-consumer policy applies to subscribers that report a queue', () => {
  it('a subscriber whose queue grows is skipped to the next keyframe, then closed; the others get everything', () => {
    const source = fixtureTags('small_h264_aac.flv');
    const relay = new LiveRelay({ maxPlayerQueue: 1 << 30 });
    const publisher = new TestPublisher();
    relay.publish('k', publisher);
    const events: string[] = [];
    relay.on('slowSubscriber', (key, s) => events.push(`slow ${key} ${s.protocol}`));
    relay.on('subscriberDrop', (key, s, messages, bytes) =>
      events.push(`drop ${key} ${s.protocol} ${messages} ${bytes}`),
    );
    relay.on('unsubscribe', (key, s) => events.push(`unsubscribe ${key} ${s.protocol}`));
    relay.on('slowPlayer', () => events.push('slowPlayer'));
    relay.on('idle', (key) => events.push(`idle ${key}`));
    // Its socket never drains: every byte it is given stays queued. Over 50 000 bytes it is behind.
    const slow = new RecordingSubscriber('ws-flv', {
      after: (item, queued) => queued + item.flvTag().byteLength,
    });
    const fast = new RecordingSubscriber('http-flv');
    const player = new RecordingPlayer();
    relay.subscribe('k', slow, { maxQueuedBytes: 50_000 });
    relay.subscribe('k', fast);
    relay.play('k', player.session, 1);
    feed(relay, publisher, source);
    const all = expectedForJoiner(source, 0).map(describeTag);
    expect(fast.tags.map(describeTag)).toEqual(all);
    expect(player.tags.map(describeTag)).toEqual(all);
    // The slow one got a prefix of the stream: up to the message that found it over the limit, and nothing after
    // (the next keyframe found it still behind: it was closed there).
    const got = slow.tags.length;
    expect(slow.tags.map(describeTag)).toEqual(all.slice(0, got));
    expect(got).toBeLessThan(all.length);
    expect(slow.queued).toBeGreaterThan(50_000);
    expect(slow.closedWith).toBeInstanceOf(RtmpError);
    expect(slow.closedWith?.code).toBe('ERR_RTMP_SLOW_CONSUMER');
    expect(slow.ended).toBeUndefined();
    // Dropped: from the message after the last it got, through the keyframe that closed it.
    const keyframes = source.map((t, i) => (t.type === 9 && t.body[0] === 0x17 && t.body[1] === 1 ? i : -1));
    const closedAt = keyframes.find((i) => i >= got)!;
    const dropped = source.slice(got, closedAt + 1);
    const droppedBytes = dropped.reduce((n, t) => n + t.body.byteLength, 0);
    expect(events).toEqual([
      `drop k ws-flv ${dropped.length} ${droppedBytes}`,
      'slow k ws-flv',
      'unsubscribe k ws-flv',
    ]);
    expect(relay.totals()).toEqual({ droppedMessages: dropped.length, droppedBytes, slowPlayers: 1 });
    expect(relay.totals('ws-flv')).toEqual({ droppedMessages: dropped.length, droppedBytes, slowPlayers: 1 });
    expect(relay.totals('rtmp')).toEqual({ droppedMessages: 0, droppedBytes: 0, slowPlayers: 0 });
    expect(relay.totals('hls')).toEqual({ droppedMessages: 0, droppedBytes: 0, slowPlayers: 0 });
    const stats = relay.stats('k')!;
    expect(stats).toMatchObject({ players: 2, droppedMessages: dropped.length, droppedBytes });
    expect({ ...stats.playersByProtocol }).toEqual({ 'http-flv': 1, rtmp: 1 });
  });

  it('one that catches up before the keyframe resumes there, with the episode counted once', () => {
    const relay = new LiveRelay();
    const publisher = new TestPublisher();
    relay.publish('k', publisher);
    const drops: [string, number, number][] = [];
    relay.on('subscriberDrop', (_key, s, messages, bytes) => drops.push([s.protocol, messages, bytes]));
    const viewer = new RecordingSubscriber('http-flv');
    relay.subscribe('k', viewer, { maxQueuedBytes: 1000 });
    const frame = (key: boolean, size: number) => {
      const body = new Uint8Array(size);
      body.set([key ? 0x17 : 0x27, 1]);
      return body;
    };
    let ts = 0;
    const push = (key: boolean, size: number) =>
      relay.push('k', publisher, { type: 9, streamId: 0, timestamp: (ts += 40), payload: frame(key, size) });
    push(true, 100);
    push(false, 50);
    viewer.queued = 1001;
    push(false, 10);
    push(false, 20);
    viewer.queued = 0;
    push(false, 30);
    push(true, 40);
    push(false, 50);
    expect(viewer.tags.map((t) => t.body.byteLength)).toEqual([100, 50, 40, 50]);
    expect(drops).toEqual([['http-flv', 3, 60]]);
    expect(viewer.closedWith).toBeUndefined();
    expect(relay.stats('k')!.playerStats).toMatchObject([
      { protocol: 'http-flv', subscriber: viewer, session: undefined, streamId: undefined, behind: false },
    ]);
  });

  it('a subscriber without queuedBytes never falls behind', () => {
    const relay = new LiveRelay({ maxPlayerQueue: 0 });
    const publisher = new TestPublisher();
    relay.publish('k', publisher);
    const items: RelayItem[] = [];
    relay.subscribe('k', {
      protocol: 'hls',
      send: (item) => items.push(item),
      end: () => {},
      close: () => {},
    });
    const source = fixtureTags('small_h264_aac.flv');
    feed(relay, publisher, source);
    expect(items.length).toBe(source.length);
  });

  it('a subscriber that wants no video starts with audio at once; video comes back at a keyframe', () => {
    const source = fixtureTags('small_h264_aac.flv');
    const relay = new LiveRelay();
    const publisher = new TestPublisher();
    relay.publish('k', publisher);
    const firstKeyframe = source.findIndex((t) => t.type === 9 && t.body[0] === 0x17 && t.body[1] === 1);
    feed(relay, publisher, source.slice(0, firstKeyframe + 5));
    const audioOnly = new RecordingSubscriber('record');
    audioOnly.video = false;
    const rest = source.slice(firstKeyframe + 5);
    relay.subscribe('k', audioOnly);
    const before = audioOnly.tags.length;
    // From the cache: metadata, both headers, the GOP's audio frames; no video frame.
    expect(audioOnly.tags.filter((t) => t.type === 9).map((t) => t.body[1])).toEqual([0]);
    expect(audioOnly.tags.filter((t) => t.type === 8 && t.body[1] === 1).length).toBeGreaterThan(0);
    // Any audio frame is a start point while it wants no video.
    feed(relay, publisher, rest.slice(0, 10));
    const firstAudio = rest.slice(0, 10).filter((t) => t.type === 8);
    expect(audioOnly.tags.slice(before).map(describeTag)).toEqual(firstAudio.map(describeTag));
    audioOnly.video = true;
    feed(relay, publisher, rest.slice(10));
    const video = audioOnly.tags.slice(before).filter((t) => t.type === 9 && t.body[1] === 1);
    expect(video[0]?.body[0]).toBe(0x17);
  });
});

describe('publishers that are not sessions', () => {
  it('feed RTMP players and subscribers; messages from anyone else are ignored', () => {
    const relay = new LiveRelay();
    const publisher = new TestPublisher();
    const events: string[] = [];
    relay.on('publish', (key, p) => events.push(`publish ${key} ${p === publisher}`));
    relay.on('unpublish', (key, p) => events.push(`unpublish ${key} ${p === publisher}`));
    const player = new RecordingPlayer();
    const subscriber = new RecordingSubscriber();
    relay.play('k', player.session, 1);
    relay.subscribe('k', subscriber);
    expect(relay.publish('k', publisher)).toBe(true);
    const source = fixtureTags('small_h264_aac.flv');
    // Any stream id is the publisher's when it registered without one.
    source.forEach((tag, i) => {
      relay.push('k', publisher, {
        type: tag.type,
        streamId: i % 3,
        timestamp: tag.timestamp,
        payload: tag.body,
      });
      relay.push('k', new TestPublisher(), { type: 9, streamId: 1, timestamp: 0, payload: tag.body });
    });
    expect(player.tags.map(describeTag)).toEqual(expectedForJoiner(source, 0).map(describeTag));
    expect(subscriber.tags.map(describeTag)).toEqual(expectedForJoiner(source, 0).map(describeTag));
    relay.unpublish('k', new TestPublisher());
    expect(relay.isLive('k')).toBe(true);
    relay.unpublish('k', publisher);
    expect(relay.isLive('k')).toBe(false);
    expect(subscriber.ended).toBe('k is now unpublished.');
    expect(relay.stats('k')).toBeUndefined();
    expect(events).toEqual(['publish k true', 'unpublish k true']);
  });

  it('registered with a stream id, only messages of that stream id count', () => {
    const relay = new LiveRelay();
    const publisher = new TestPublisher();
    relay.publish('k', publisher, 5);
    const subscriber = new RecordingSubscriber();
    relay.subscribe('k', subscriber);
    relay.push('k', publisher, { type: 18, streamId: 4, timestamp: 0, payload: Uint8Array.of(5) });
    relay.push('k', publisher, { type: 18, streamId: 5, timestamp: 0, payload: Uint8Array.of(6) });
    expect(subscriber.tags.map((t) => t.body[0])).toEqual([6]);
  });

  it('a second publisher of a live key is refused; a closed or silent one is replaced, subscribers stay', () => {
    let now = 1_000_000;
    const realNow = Date.now;
    Date.now = () => now;
    try {
      const relay = new LiveRelay({ stalePublisherTimeout: 5_000 });
      const first = new TestPublisher();
      const subscriber = new RecordingSubscriber();
      relay.subscribe('k', subscriber);
      expect(relay.publish('k', first)).toBe(true);
      expect(relay.publish('k', first)).toBe(true); // the same publisher again: still it
      const second = new TestPublisher();
      expect(relay.publish('k', second)).toBe(false);
      // Silent for less than the timeout: still refused; then stale: replaced, and told so.
      now += 4_999;
      expect(relay.publish('k', second)).toBe(false);
      now += 1;
      expect(relay.publish('k', second)).toBe(true);
      expect(first.closedWith?.code).toBe('ERR_RTMP_STREAM_BUSY');
      expect(subscriber.ended).toBeUndefined();
      expect(relay.stats('k')).toMatchObject({ publishing: true, players: 1 });
      // Closed: replaced at once, even while fresh.
      relay.push('k', second, {
        type: 9,
        streamId: 0,
        timestamp: 0,
        payload: Uint8Array.of(0x17, 1, 0, 0, 0, 1),
      });
      second.closed = true;
      const third = new TestPublisher();
      expect(relay.publish('k', third)).toBe(true);
      expect(second.closedWith?.code).toBe('ERR_RTMP_STREAM_BUSY');
      // The replaced publisher's messages no longer count.
      relay.push('k', second, {
        type: 9,
        streamId: 0,
        timestamp: 40,
        payload: Uint8Array.of(0x17, 1, 0, 0, 0, 9),
      });
      relay.push('k', third, {
        type: 9,
        streamId: 0,
        timestamp: 80,
        payload: Uint8Array.of(0x17, 1, 0, 0, 0, 7),
      });
      expect(subscriber.tags.map((t) => t.body.at(-1))).toEqual([1, 7]);
      // A session can replace a stale non-session publisher, and the other way round.
      now += 5_000;
      const session = new RecordingPlayer().session;
      expect(relay.publish('k', session, 1)).toBe(true);
      expect(third.closedWith?.code).toBe('ERR_RTMP_STREAM_BUSY');
      expect(relay.publish('k', new TestPublisher())).toBe(false);
    } finally {
      Date.now = realNow;
    }
  });
});

describe('demand and idle', () => {
  function recorder(relay: LiveRelay): string[] {
    const events: string[] = [];
    for (const name of ['demand', 'idle', 'publish', 'unpublish'] as const) {
      relay.on(name, (key: string) => events.push(`${name} ${key}`));
    }
    relay.on('subscribe', (key, s) => events.push(`subscribe ${key} ${s.protocol}`));
    relay.on('unsubscribe', (key, s) => events.push(`unsubscribe ${key} ${s.protocol}`));
    return events;
  }

  it('demand: the first subscriber of a key that is not live; idle: the last one leaves, whatever the way', () => {
    const relay = new LiveRelay();
    const events = recorder(relay);
    const a = new RecordingSubscriber('hls');
    const b = new RecordingSubscriber('http-flv');
    const player = new RecordingPlayer();
    relay.subscribe('k', a);
    relay.subscribe('k', b);
    relay.play('k', player.session, 1);
    expect(events.splice(0)).toEqual([
      'subscribe k hls',
      'demand k',
      'subscribe k http-flv',
      'subscribe k rtmp',
    ]);
    relay.unsubscribe('k', a);
    relay.stop('k', player.session);
    relay.unsubscribe('k', a); // not attached any more: nothing
    expect(events.splice(0)).toEqual(['unsubscribe k hls', 'unsubscribe k rtmp']);
    relay.unsubscribe('k', b);
    expect(events.splice(0)).toEqual(['unsubscribe k http-flv', 'idle k']);
    expect(relay.stats('k')).toBeUndefined();
    // A publisher alone: neither demand nor idle; a subscriber of a live key: no demand, and idle when it leaves.
    const publisher = new TestPublisher();
    relay.publish('k', publisher);
    relay.subscribe('k', a);
    relay.unsubscribe('k', a);
    expect(events.splice(0)).toEqual(['publish k', 'subscribe k hls', 'unsubscribe k hls', 'idle k']);
    // The stream ends under its subscribers: they are detached, then idle.
    relay.subscribe('k', a);
    relay.subscribe('k', b);
    relay.unpublish('k', publisher);
    expect(events.splice(0)).toEqual([
      'subscribe k hls',
      'subscribe k http-flv',
      'unsubscribe k hls',
      'unsubscribe k http-flv',
      'unpublish k',
      'idle k',
    ]);
    expect(a.ended).toBe('k is now unpublished.');
    // Waiting subscribers when a publisher comes: no new demand; removeSession of a player: idle.
    relay.play('k', player.session, 1);
    relay.publish('k', publisher);
    relay.removeSession(player.session);
    expect(events.splice(0)).toEqual([
      'subscribe k rtmp',
      'demand k',
      'publish k',
      'unsubscribe k rtmp',
      'idle k',
    ]);
    relay.unpublish('k', publisher);
    expect(events.splice(0)).toEqual(['unpublish k']);
  });

  it('a slow subscriber or one that throws leaving last makes the key idle', () => {
    const relay = new LiveRelay();
    const publisher = new TestPublisher();
    relay.publish('k', publisher);
    const events = recorder(relay);
    const thrower = new RecordingSubscriber('push');
    thrower.send = () => {
      throw new Error('broken');
    };
    relay.subscribe('k', thrower);
    relay.push('k', publisher, { type: 18, streamId: 0, timestamp: 0, payload: Uint8Array.of(2) });
    expect(thrower.closedWith?.code).toBe('ERR_RTMP_HANDLER_FAILED');
    expect(thrower.closedWith?.cause).toBeInstanceOf(Error);
    const slow = new RecordingSubscriber('ws-flv');
    relay.subscribe('k', slow, { maxQueuedBytes: 10 });
    relay.push('k', publisher, {
      type: 9,
      streamId: 0,
      timestamp: 0,
      payload: Uint8Array.of(0x17, 1, 0, 0, 0),
    });
    slow.queued = 11;
    relay.push('k', publisher, {
      type: 9,
      streamId: 0,
      timestamp: 40,
      payload: Uint8Array.of(0x27, 1, 0, 0, 0),
    });
    relay.push('k', publisher, {
      type: 9,
      streamId: 0,
      timestamp: 80,
      payload: Uint8Array.of(0x17, 1, 0, 0, 0),
    });
    expect(slow.closedWith?.code).toBe('ERR_RTMP_SLOW_CONSUMER');
    expect(events).toEqual([
      'subscribe k push',
      'unsubscribe k push',
      'idle k',
      'subscribe k ws-flv',
      'unsubscribe k ws-flv',
      'idle k',
    ]);
    expect(relay.isLive('k')).toBe(true);
  });

  it('over the handler: RTMP players raise them through handlePlayStart / handleStop (see the TCP tests)', () => {
    // Here: an RTMP player's subscriber is recognisable, with its session and play stream id.
    const relay = new LiveRelay();
    const seen: unknown[] = [];
    relay.on('subscribe', (_key, s) => seen.push(isRtmpPlayer(s) ? [s.protocol, s.session, s.streamId] : s));
    const player = new RecordingPlayer();
    relay.play('k', player.session, 3);
    expect(seen).toEqual([['rtmp', player.session, 3]]);
    expect(relay.stats('k')!.playerStats).toMatchObject([
      { protocol: 'rtmp', session: player.session, streamId: 3, droppedMessages: 0 },
    ]);
  });
});

describe('a subscriber that throws', () => {
  it('is closed with ERR_RTMP_HANDLER_FAILED; the publisher and the other subscribers go on', async () => {
    const relay = new LiveRelay();
    const publisher = new TestPublisher();
    relay.publish('k', publisher);
    const source = fixtureTags('small_h264_aac.flv');
    feed(relay, publisher, source.slice(0, 30));
    const broken = new RecordingSubscriber('push');
    let calls = 0;
    broken.send = () => {
      if (++calls === 3) throw new Error('boom');
    };
    const good = new RecordingSubscriber();
    relay.subscribe('k', broken); // throws during the replay of the cache
    relay.subscribe('k', good);
    feed(relay, publisher, source.slice(30));
    expect(calls).toBe(3);
    expect(broken.closedWith?.code).toBe('ERR_RTMP_HANDLER_FAILED');
    expect(good.tags.map(describeTag)).toEqual(expectedForJoiner(source, 30).map(describeTag));
    // One that throws in end() or close() becomes a process warning, never an exception in the publisher's path.
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const rude = new RecordingSubscriber();
      rude.end = () => {
        throw new Error('end failed');
      };
      relay.subscribe('k', rude);
      expect(() => relay.unpublish('k', publisher)).not.toThrow();
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toMatchObject([{ code: 'ERR_RTMP_HANDLER_FAILED' }]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('subscribe checks its arguments', () => {
    const relay = new LiveRelay();
    const s = new RecordingSubscriber();
    relay.subscribe('k', s);
    expect(() => relay.subscribe('k', s)).toThrow(
      expect.objectContaining({ code: 'ERR_RTMP_INVALID_STATE' }),
    );
    relay.subscribe('other', s); // another key is another subscription
    expect(() => relay.subscribe('k', new RecordingSubscriber(''))).toThrow(
      expect.objectContaining({ code: 'ERR_RTMP_INVALID_OPTION' }),
    );
    expect(() => relay.subscribe('k', new RecordingSubscriber(), { maxQueuedBytes: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_RTMP_INVALID_OPTION' }),
    );
    expect(relay.stats().map((st) => [st.key, st.players])).toEqual([
      ['k', 1],
      ['other', 1],
    ]);
  });
});
