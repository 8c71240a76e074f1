import { FlvReader } from '@rtmp/flv-demux';
import { readFixture } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { FlvOutput, type FlvSink, LiveRelay } from '../src/index.js';
import { expectedForJoiner, type Tag } from './helpers/relay-model.js';
import { TestPublisher } from './helpers/subscriber.js';

// FlvOutput: the relay's FLV output (HTTP-FLV, WS-FLV) over a sink that records what it is given.

/** A sink that keeps every chunk (by reference, to check sharing) and reports a queue the test sets. */
class RecordingSink implements FlvSink {
  readonly chunks: Uint8Array[] = [];
  writableLength = 0;
  /** Added to `writableLength` per write: a viewer that never reads. */
  grow = 0;
  ended = false;
  destroyed: Error | undefined;

  write(chunk: Uint8Array): boolean {
    this.chunks.push(chunk);
    this.writableLength += this.grow === 0 ? 0 : chunk.byteLength;
    return true;
  }

  end(): void {
    this.ended = true;
  }

  destroy(error?: Error): void {
    this.destroyed = error;
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

function fixtureTags(name: string): Tag[] {
  return new FlvReader()
    .push(readFixture(name))
    .filter((t): t is typeof t & { type: 8 | 9 | 18 } => t.type === 8 || t.type === 9 || t.type === 18)
    .map((t) => ({ type: t.type, timestamp: t.timestamp, body: t.body }));
}

/** The FLV file header flags and the tags of an FLV byte stream. */
function readFlv(bytes: Uint8Array): { flags: number; tags: Tag[] } {
  expect([...bytes.subarray(0, 3)]).toEqual([0x46, 0x4c, 0x56]);
  const tags = new FlvReader()
    .push(bytes)
    .filter((t): t is typeof t & { type: 8 | 9 | 18 } => t.type === 8 || t.type === 9 || t.type === 18)
    .map((t) => ({ type: t.type, timestamp: t.timestamp, body: new Uint8Array(t.body) }));
  return { flags: bytes[4]!, tags };
}

const source = fixtureTags('small_h264_aac.flv');

describe('FlvOutput', () => {
  it('writes a valid FLV stream: header with both tracks, then what an RTMP player gets, at every join point', () => {
    const joins = [0, 1, 2, 3, 4, 10, 50, Math.floor(source.length / 2), source.length - 1];
    const relay = new LiveRelay({ maxGopBytes: 1 << 30 });
    const publisher = new TestPublisher();
    relay.publish('k', publisher);
    const outputs = new Map<number, RecordingSink>();
    for (let i = 0; i <= source.length; i++) {
      if (joins.includes(i)) {
        const sink = new RecordingSink();
        relay.subscribe('k', new FlvOutput(sink));
        outputs.set(i, sink);
      }
      const tag = source[i];
      if (tag)
        relay.push('k', publisher, {
          type: tag.type,
          streamId: 1,
          timestamp: tag.timestamp,
          payload: tag.body,
        });
    }
    for (const [at, sink] of outputs) {
      const { flags, tags } = readFlv(sink.bytes());
      expect(flags, `join at ${at}`).toBe(5);
      expect(tags, `join at ${at}`).toEqual(expectedForJoiner(source, at));
    }
  });

  it('announces only the tracks the stream has', () => {
    for (const [keep, flags] of [
      [9, 1],
      [8, 4],
    ] as const) {
      const relay = new LiveRelay();
      const publisher = new TestPublisher();
      relay.publish('k', publisher);
      const sink = new RecordingSink();
      relay.subscribe('k', new FlvOutput(sink, { protocol: 'ws-flv' }));
      // No metadata: it names both codecs of the fixture.
      for (const tag of source.filter((t) => t.type === keep)) {
        relay.push('k', publisher, {
          type: tag.type,
          streamId: 1,
          timestamp: tag.timestamp,
          payload: tag.body,
        });
      }
      expect(readFlv(sink.bytes()).flags).toBe(flags);
      expect(relay.stats('k')?.playersByProtocol).toEqual({ 'ws-flv': 1 });
    }
  });

  it('writes one shared FLV tag object per message to every viewer', () => {
    const relay = new LiveRelay();
    const publisher = new TestPublisher();
    relay.publish('k', publisher);
    const sinks = [new RecordingSink(), new RecordingSink(), new RecordingSink()];
    for (const sink of sinks) relay.subscribe('k', new FlvOutput(sink));
    for (const tag of source.slice(0, 40)) {
      relay.push('k', publisher, {
        type: tag.type,
        streamId: 1,
        timestamp: tag.timestamp,
        payload: tag.body,
      });
    }
    const [first, ...others] = sinks;
    // The header is each viewer's own; every tag after it is the same object.
    for (const sink of others) {
      expect(sink.chunks.length).toBe(first!.chunks.length);
      for (let i = 1; i < sink.chunks.length; i++) expect(sink.chunks[i]).toBe(first!.chunks[i]);
    }
  });

  it('is skipped to the next keyframe, then destroyed with ERR_RTMP_SLOW_CONSUMER, when its sink stops draining', () => {
    const relay = new LiveRelay({ maxPlayerQueue: 20_000 });
    const publisher = new TestPublisher();
    relay.publish('k', publisher);
    const stuck = new RecordingSink();
    stuck.grow = 1;
    const healthy = new RecordingSink();
    const stuckOutput = new FlvOutput(stuck);
    relay.subscribe('k', stuckOutput);
    relay.subscribe('k', new FlvOutput(healthy));
    const slow: string[] = [];
    relay.on('slowSubscriber', (_key, s) => slow.push(s.protocol));
    for (const tag of source) {
      relay.push('k', publisher, {
        type: tag.type,
        streamId: 1,
        timestamp: tag.timestamp,
        payload: tag.body,
      });
    }
    expect(slow).toEqual(['http-flv']);
    expect(stuck.destroyed).toMatchObject({ code: 'ERR_RTMP_SLOW_CONSUMER' });
    expect(stuckOutput.ended).toMatchObject({ kind: 'close' });
    // It never held more than the limit plus one message.
    const largest = Math.max(...source.map((t) => t.body.byteLength + 15));
    expect(stuck.writableLength).toBeLessThanOrEqual(20_000 + largest);
    expect(readFlv(healthy.bytes()).tags).toEqual(expectedForJoiner(source, 0));
    expect(relay.totals('http-flv').slowPlayers).toBe(1);
  });

  it('waits for a publisher, and ends its sink when the publisher leaves', () => {
    const relay = new LiveRelay();
    const sink = new RecordingSink();
    const output = new FlvOutput(sink);
    const demand: string[] = [];
    relay.on('demand', (key) => demand.push(key));
    relay.subscribe('k', output);
    expect(demand).toEqual(['k']);
    expect(sink.chunks).toEqual([]);
    const publisher = new TestPublisher();
    relay.publish('k', publisher);
    for (const tag of source.slice(0, 30)) {
      relay.push('k', publisher, {
        type: tag.type,
        streamId: 1,
        timestamp: tag.timestamp,
        payload: tag.body,
      });
    }
    expect(output.started).toBe(true);
    relay.unpublish('k', publisher);
    expect(sink.ended).toBe(true);
    expect(output.ended).toEqual({ kind: 'end', reason: 'k is now unpublished.' });
    expect(output.bytesWritten).toBe(sink.bytes().byteLength);
    expect(readFlv(sink.bytes()).tags).toEqual(expectedForJoiner(source.slice(0, 30), 0));
  });
});
