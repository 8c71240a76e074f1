import { Buffer } from 'node:buffer';
import { encodeMessage } from '@rtmp/chunk';
import { ChunkStreams } from '@rtmp/connection';
import { describe, expect, it } from 'vitest';
import { type ClientSession, LiveRelay } from '../src/index.js';
import { classifyAudio, classifyVideo } from '../src/relay/classify.js';

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

describe('classify', () => {
  it('tells sequence headers and keyframes from the first bytes', () => {
    expect(classifyVideo(Uint8Array.of(0x17, 0))).toEqual({ header: true, keyframe: false });
    expect(classifyVideo(Uint8Array.of(0x17, 1))).toEqual({ header: false, keyframe: true });
    expect(classifyVideo(Uint8Array.of(0x27, 1))).toEqual({ header: false, keyframe: false });
    expect(classifyVideo(Uint8Array.of(0x1c, 0))).toEqual({ header: true, keyframe: false }); // legacy HEVC
    // Enhanced RTMP: SequenceStart, CodedFrames on a keyframe, Multitrack wrapping a SequenceStart.
    expect(classifyVideo(Uint8Array.of(0x90))).toEqual({ header: true, keyframe: false });
    expect(classifyVideo(Uint8Array.of(0x91))).toEqual({ header: false, keyframe: true });
    expect(classifyVideo(Uint8Array.of(0x96, 0x00))).toEqual({ header: true, keyframe: false });
    expect(classifyVideo(new Uint8Array(0))).toEqual({ header: false, keyframe: false });
    expect(classifyAudio(Uint8Array.of(0xaf, 0))).toEqual({ header: true, keyframe: false });
    expect(classifyAudio(Uint8Array.of(0xaf, 1))).toEqual({ header: false, keyframe: false });
    expect(classifyAudio(Uint8Array.of(0x90))).toEqual({ header: true, keyframe: false });
    expect(classifyAudio(Uint8Array.of(0x2f))).toEqual({ header: false, keyframe: false });
    // Shared results: nothing allocated per message.
    expect(classifyVideo(Uint8Array.of(0x27, 1))).toBe(classifyAudio(Uint8Array.of(0x2f)));
  });
});
