import { Buffer } from 'node:buffer';
import { encodeMessage } from '@rtmp/chunk';
import { ChunkStreams } from '@rtmp/connection';
import { classifyAudioTag, classifyVideoTag } from '@rtmp/flv-demux';
import { describe, expect, it } from 'vitest';
import { type ClientSession, LiveRelay } from '../src/index.js';

/** A stand-in session: the relay only needs wants(), closed, close/endPlayback and the connection's write side. */
function fakeSession(writes: (readonly Uint8Array[])[] = [], chunkSize = 4096): ClientSession {
  return {
    closed: false,
    wants: () => true,
    endPlayback: () => {},
    close: () => {},
    connection: {
      writableLength: 0,
      outChunkSize: chunkSize,
      writeEncoded: (slices: readonly Uint8Array[]) => {
        writes.push(slices);
        return true;
      },
    },
  } as unknown as ClientSession;
}

const video = (key: boolean, size = 9000) => {
  const body = new Uint8Array(size);
  body.set([key ? 0x17 : 0x27, 1]);
  return body;
};

describe('LiveRelay fan-out', () => {
  it('encodes each message once and writes the same slices to every player', () => {
    const relay = new LiveRelay();
    const publisher = fakeSession();
    expect(relay.publish('k', publisher, 1)).toBe(true);
    const players = Array.from({ length: 50 }, () => [] as (readonly Uint8Array[])[]);
    for (const writes of players) relay.play('k', fakeSession(writes), 1);
    const payloads = Array.from({ length: 10 }, (_, i) => video(i === 0));
    payloads.forEach((payload, i) => {
      relay.push('k', publisher, { type: 9, streamId: 1, timestamp: i * 40, payload });
    });
    const first = players[0]!;
    expect(first).toHaveLength(10);
    for (const writes of players) {
      expect(writes).toHaveLength(10);
      for (const [i, slices] of writes.entries()) expect(slices).toBe(first[i]);
    }
    // One contiguous wire buffer per message, shared by every player: exactly encodeMessage's bytes.
    expect(first[0]).toHaveLength(1);
    const expected = Buffer.concat(
      encodeMessage({ type: 9, streamId: 1, timestamp: 0, payload: payloads[0]! }, ChunkStreams.Video, 4096),
    );
    expect(Buffer.from(first[0]![0]!).equals(expected)).toBe(true);
  });

  it('keeps one encoding per (stream id, chunk size) pair', () => {
    const relay = new LiveRelay();
    const publisher = fakeSession();
    relay.publish('k', publisher, 1);
    const a: (readonly Uint8Array[])[] = [];
    const b: (readonly Uint8Array[])[] = [];
    const c: (readonly Uint8Array[])[] = [];
    const d: (readonly Uint8Array[])[] = [];
    relay.play('k', fakeSession(a), 1);
    relay.play('k', fakeSession(b), 2);
    relay.play('k', fakeSession(c, 128), 1);
    relay.play('k', fakeSession(d, 128), 1);
    relay.push('k', publisher, { type: 9, streamId: 1, timestamp: 0, payload: video(true) });
    expect(a[0]).not.toBe(b[0]);
    expect(a[0]).not.toBe(c[0]);
    expect(c[0]).toBe(d[0]);
    expect(c[0]![0]!.byteLength).toBeGreaterThan(a[0]![0]!.byteLength);
  });
});

describe('classify (the relay uses @rtmp/flv-demux classifyVideoTag / classifyAudioTag)', () => {
  const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
  it('tells sequence headers and keyframes from the first bytes', () => {
    const kind = (c: { kind: string }) => c.kind;
    expect(kind(classifyVideoTag(Uint8Array.of(0x17, 0, 0, 0, 0)))).toBe('config');
    expect(kind(classifyVideoTag(Uint8Array.of(0x17, 1, 0, 0, 0)))).toBe('keyframe');
    expect(kind(classifyVideoTag(Uint8Array.of(0x27, 1, 0, 0, 0)))).toBe('frame');
    expect(kind(classifyVideoTag(Uint8Array.of(0x1c, 0, 0, 0, 0)))).toBe('config'); // legacy HEVC
    // Enhanced RTMP: SequenceStart, CodedFrames on a keyframe, Multitrack wrapping a SequenceStart.
    expect(kind(classifyVideoTag(Uint8Array.of(0x90, ...ascii('av01'))))).toBe('config');
    expect(kind(classifyVideoTag(Uint8Array.of(0x91, ...ascii('av01'))))).toBe('keyframe');
    expect(kind(classifyVideoTag(Uint8Array.of(0x96, 0x00, ...ascii('av01'), 1)))).toBe('config');
    expect(kind(classifyVideoTag(new Uint8Array(0)))).toBe('unknown');
    expect(kind(classifyAudioTag(Uint8Array.of(0xaf, 0)))).toBe('config');
    expect(kind(classifyAudioTag(Uint8Array.of(0xaf, 1)))).toBe('frame');
    expect(kind(classifyAudioTag(Uint8Array.of(0x90, ...ascii('Opus'))))).toBe('config');
    expect(kind(classifyAudioTag(Uint8Array.of(0x2f)))).toBe('frame');
    // Shared results: nothing allocated per message.
    expect(classifyVideoTag(Uint8Array.of(0x27, 1, 0, 0, 0))).toBe(
      classifyVideoTag(Uint8Array.of(0x27, 1, 0, 0, 9)),
    );
  });

  it('caches every form of sequence header for a late joiner, and forwards frames live only', () => {
    const configs: [8 | 9, Uint8Array][] = [
      [9, Uint8Array.of(0x17, 0, 0, 0, 0, 1)],
      [8, Uint8Array.of(0xaf, 0, 0x12, 0x10)],
      [9, Uint8Array.of(0x90, ...ascii('hvc1'), 1)], // replaces the AVC header of track 0 (another codec)
      [9, Uint8Array.of(0x96, 0x00, ...ascii('av01'), 1, 0x81)], // Multitrack OneTrack, track 1
      [9, Uint8Array.of(0x97, 0x02, 0, 0, 5, 0x06, 0x00, ...ascii('vp09'), 2, 1)], // ModEx + Multitrack, track 2
      [8, Uint8Array.of(0x95, 0x00, ...ascii('Opus'), 1, 9)], // audio track 1
    ];
    const relay = new LiveRelay();
    const publisher = fakeSession();
    relay.publish('k', publisher, 1);
    for (const [type, payload] of configs)
      relay.push('k', publisher, { type, streamId: 1, timestamp: 0, payload });
    relay.push('k', publisher, {
      type: 9,
      streamId: 1,
      timestamp: 40,
      payload: Uint8Array.of(0x27, 1, 0, 0, 0),
    });
    const writes: (readonly Uint8Array[])[] = [];
    relay.play('k', fakeSession(writes), 1);
    const wire = ([type, payload]: [8 | 9, Uint8Array]) => {
      const csid = type === 9 ? ChunkStreams.Video : ChunkStreams.Audio;
      return Buffer.concat(encodeMessage({ type, streamId: 1, timestamp: 0, payload }, csid, 4096));
    };
    // Video configs, then audio configs, each in the order sent; the replaced AVC header and the frame are not there.
    expect(writes.map((w) => Buffer.from(w[0]!))).toEqual([2, 3, 4, 1, 5].map((i) => wire(configs[i]!)));
  });
});

describe('LiveRelay.whenLive', () => {
  it('resolves true at once for a live key, when its publisher arrives, and false after the timeout', async () => {
    const relay = new LiveRelay();
    expect(await relay.whenLive('k', 10)).toBe(false);
    const waiting = relay.whenLive('k', 5_000);
    relay.publish('k', fakeSession(), 1);
    expect(await waiting).toBe(true);
    expect(await relay.whenLive('k', 0)).toBe(true);
    expect(await relay.whenLive('other', 20)).toBe(false);
    // No listener is left behind.
    expect(relay.listenerCount('publish')).toBe(0);
  });
});
