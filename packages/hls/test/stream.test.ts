import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveRelay, type RelayPublisher } from '@rtmp/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type HlsResponse, HlsStream } from '../src/index.js';
import { type FixtureTag, fixtureTags, loopedTags, parseMediaPlaylist } from './helpers.js';

/** A stream fed through a real relay, as the app does: the subscriber gets what an RTMP player would. */
function relayed(options: ConstructorParameters<typeof HlsStream>[0] = {}) {
  const relay = new LiveRelay();
  const publisher: RelayPublisher = { closed: false, close: () => undefined };
  relay.publish('live/a', publisher);
  const stream = new HlsStream({ id: 'test', ...options });
  relay.subscribe('live/a', stream);
  const tags = loopedTags(3);
  let next = 0;
  /** Pushes tags until `done()` holds (or every tag is sent). */
  const feedUntil = (done: () => boolean) => {
    while (next < tags.length && !done()) {
      const tag = tags[next++]!;
      relay.push('live/a', publisher, {
        type: tag.type,
        streamId: 1,
        timestamp: tag.timestamp,
        payload: tag.body,
      });
    }
  };
  const feedAll = () => feedUntil(() => false);
  return { relay, publisher, stream, feedUntil, feedAll };
}

function bodyText(response: HlsResponse): string {
  if (typeof response.body !== 'string') throw new Error('expected a text body');
  return response.body;
}

function bodyBytes(response: HlsResponse): Uint8Array {
  const body = response.body;
  if (typeof body === 'string' || 'file' in body) throw new Error('expected bytes');
  return Buffer.concat(body);
}

/** Whether a promise has settled, after the microtasks queued so far ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

describe('HlsStream: blocking playlist reload and preload hints (fake clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('holds _HLS_msn/_HLS_part until that part exists, then answers with a playlist that lists it', async () => {
    const { stream, feedUntil } = relayed();
    feedUntil(() => stream.segmenter.segments.length === 1);
    const live = stream.segmenter.liveMsn;
    const held = stream.playlist(new URLSearchParams({ _HLS_msn: String(live), _HLS_part: '2' }));
    expect(await settled(held)).toBe(false);
    feedUntil(() => (stream.segmenter.current?.parts.length ?? 0) >= 2);
    expect(await settled(held)).toBe(false);
    expect(stream.waiting).toBe(1);
    feedUntil(() => (stream.segmenter.current?.parts.length ?? 0) >= 3);
    const response = await held;
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-cache');
    const playlist = parseMediaPlaylist(bodyText(response));
    const last = playlist.segments.at(-1)!;
    expect(last.mediaSequenceNumber).toBe(live);
    expect(last.parts.filter((p) => !p.hint)).toHaveLength(3);
    expect(stream.waiting).toBe(0);
  });

  it('a part index past the last part of a segment waits for part 0 of the next one (RFC 8216bis 6.2.5.2)', async () => {
    const { stream, feedUntil } = relayed();
    feedUntil(() => stream.segmenter.segments.length === 1);
    const msn = stream.segmenter.liveMsn;
    const held = stream.playlist(new URLSearchParams({ _HLS_msn: String(msn), _HLS_part: '40' }));
    feedUntil(() => stream.segmenter.segments.length === 2);
    // Segment msn is complete with fewer parts, the next one has none yet: still held.
    expect(stream.segmenter.segment(msn)!.parts.length).toBeLessThan(40);
    expect(await settled(held)).toBe(false);
    feedUntil(() => (stream.segmenter.current?.parts.length ?? 0) >= 1);
    const playlist = parseMediaPlaylist(bodyText(await held));
    expect(playlist.segments.at(-1)!.mediaSequenceNumber).toBe(msn + 1);
  });

  it('_HLS_msn alone waits for that segment to be complete', async () => {
    const { stream, feedUntil } = relayed();
    feedUntil(() => stream.segmenter.segments.length === 1);
    const held = stream.playlist(new URLSearchParams({ _HLS_msn: '1' }));
    feedUntil(() => (stream.segmenter.current?.parts.length ?? 0) >= 5);
    expect(await settled(held)).toBe(false);
    feedUntil(() => stream.segmenter.segments.length === 2);
    const playlist = parseMediaPlaylist(bodyText(await held));
    expect(playlist.segments.filter((s) => s.uri).map((s) => s.mediaSequenceNumber)).toContain(1);
  });

  it('answers 503 after three target durations when the part never comes, 400 for what it cannot wait for', async () => {
    const { stream, feedUntil } = relayed();
    feedUntil(() => stream.segmenter.segments.length === 1);
    const live = stream.segmenter.liveMsn;
    const held = stream.playlist(new URLSearchParams({ _HLS_msn: String(live + 1) }));
    await vi.advanceTimersByTimeAsync(3 * 2 * 1000 - 1);
    expect(await settled(held)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect((await held).status).toBe(503);
    expect(stream.waiting).toBe(0);
    // RFC 8216bis: more than two segments ahead, malformed directives.
    for (const query of [
      { _HLS_msn: String(live + 3) },
      { _HLS_part: '1' },
      { _HLS_msn: 'x' },
      { _HLS_msn: '1', _HLS_part: '-1' },
    ]) {
      expect((await stream.playlist(new URLSearchParams(query))).status).toBe(400);
    }
  });

  it('a preload-hinted part is held until written, then served; the end of the stream releases every request', async () => {
    const { stream, feedUntil, relay, publisher } = relayed();
    feedUntil(() => stream.segmenter.segments.length === 1);
    const hinted = stream.segmenter.nextPartSequence;
    const body = bodyText(await stream.playlist(new URLSearchParams()));
    expect(body).toContain(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="test-p${hinted}.m4s"`);
    const part = stream.resource(`test-p${hinted}.m4s`);
    expect(await settled(part)).toBe(false);
    feedUntil(() => stream.segmenter.part(hinted) !== undefined);
    const response = await part;
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toContain('immutable');
    expect(bodyBytes(response)).toEqual(Buffer.from(stream.segmenter.part(hinted)!.bytes));
    // A part far ahead is not waited for.
    expect((await stream.resource(`test-p${hinted + 50}.m4s`)).status).toBe(404);

    const held = stream.playlist(
      new URLSearchParams({ _HLS_msn: String(stream.segmenter.liveMsn + 1), _HLS_part: '0' }),
    );
    relay.unpublish('live/a', publisher);
    const final = bodyText(await held);
    expect(final).toMatch(/#EXT-X-ENDLIST\n$/);
    expect(stream.endReason).not.toBeNull();
    expect(parseMediaPlaylist(final).endlist).toBe(true);
  });
});

describe('HlsStream: resources', () => {
  it('serves the init segment, segments as the concatenation of their parts, and refuses other names', async () => {
    const { stream, feedUntil } = relayed();
    feedUntil(() => stream.segmenter.segments.length === 2);
    const init = await stream.resource('test-init0.mp4');
    expect(init.status).toBe(200);
    expect(init.headers['content-type']).toBe('video/mp4');
    expect(Buffer.from(bodyBytes(init)).subarray(4, 8).toString()).toBe('ftyp');
    const segment = await stream.resource('test-s1.m4s');
    const parts = stream.segmenter.segment(1)!.parts;
    expect(bodyBytes(segment)).toEqual(Buffer.concat(parts.map((p) => p.bytes)));
    expect(segment.headers['content-length']).toBe(String(stream.segmenter.segment(1)!.byteLength));
    for (const name of [
      'other-s1.m4s',
      'test-s99.m4s',
      'test-init7.mp4',
      'test-s1.mp4',
      '../x',
      'test-x1.m4s',
    ]) {
      expect((await stream.resource(name)).status, name).toBe(404);
    }
    expect(stream.bytes).toBeGreaterThan(0);
  });

  it('with a directory: writes init, segments and a plain playlist, then serves old segments from disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-dir-'));
    try {
      const { stream, feedAll } = relayed({ directory: join(dir, 'live', 'a'), window: 4, retain: 1 });
      feedAll();
      stream.finish();
      await stream.flushed();
      const files = readdirSync(join(dir, 'live', 'a')).sort();
      expect(files).toContain('index.m3u8');
      expect(files).toContain('test-init0.mp4');
      const retained = stream.segmenter.segments.map((s) => `test-s${s.msn}.m4s`);
      expect(files.filter((f) => f.includes('-s'))).toEqual(retained.sort());
      const plain = parseMediaPlaylist(readFileSync(join(dir, 'live', 'a', 'index.m3u8'), 'utf8'));
      expect(plain.partTargetDuration).toBeUndefined();
      expect(plain.segments.length).toBeGreaterThan(0);
      expect(plain.endlist).toBe(true);
      expect(stream.directoryError).toBeNull();
      // The oldest retained segment's bytes left memory: it is served from its file.
      const oldest = stream.segmenter.segments[0]!;
      expect(oldest.parts[0]!.bytes.byteLength).toBe(0);
      const fromDisk = await stream.resource(`test-s${oldest.msn}.m4s`);
      expect(fromDisk.body).toEqual({ file: join(dir, 'live', 'a', `test-s${oldest.msn}.m4s`) });
      expect(readFileSync(join(dir, 'live', 'a', `test-s${oldest.msn}.m4s`)).byteLength).toBe(
        oldest.byteLength,
      );
      await stream.dispose();
      expect(() => readdirSync(join(dir, 'live', 'a'))).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('HlsStream with lowLatency false', () => {
  it('serves plain playlists: segments only, no parts, hints or server control', async () => {
    const { stream, feedUntil } = relayed({ lowLatency: false });
    feedUntil(
      () => stream.segmenter.segments.length === 2 && (stream.segmenter.current?.parts.length ?? 0) > 2,
    );
    const text = bodyText(await stream.playlist(new URLSearchParams()));
    expect(text).not.toMatch(/EXT-X-PART|PRELOAD-HINT|SERVER-CONTROL/);
    const playlist = parseMediaPlaylist(text);
    expect(playlist.segments.map((s) => s.uri)).toEqual(['test-s0.m4s', 'test-s1.m4s']);
    expect(playlist.lowLatencyCompatibility).toBeUndefined();
  });
});

describe('HlsStream from a relay', () => {
  it('gets the GOP cache first: a stream that joins late starts on a keyframe', () => {
    const relay = new LiveRelay();
    const publisher: RelayPublisher = { closed: false, close: () => undefined };
    relay.publish('live/b', publisher);
    const tags: FixtureTag[] = fixtureTags();
    for (const tag of tags.slice(0, 120))
      relay.push('live/b', publisher, {
        type: tag.type,
        streamId: 1,
        timestamp: tag.timestamp,
        payload: tag.body,
      });
    const stream = new HlsStream({ id: 'late' });
    relay.subscribe('live/b', stream);
    expect(relay.stats('live/b')?.playersByProtocol).toEqual({ hls: 1 });
    for (const tag of tags.slice(120))
      relay.push('live/b', publisher, {
        type: tag.type,
        streamId: 1,
        timestamp: tag.timestamp,
        payload: tag.body,
      });
    relay.unpublish('live/b', publisher);
    expect(stream.ended).toBe(true);
    expect(stream.segmenter.segments.map((s) => s.startTime)).toEqual([0, 2]);
    expect(stream.segmenter.segments[0]!.parts[0]!.independent).toBe(true);
  });
});
