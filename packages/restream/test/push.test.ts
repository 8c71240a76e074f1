import { publishFlv, RtmpClient } from '@rtmp/client';
import { freePort, sleep, until, waitFor } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { appendStreamName, RestreamError, Restreamer } from '../src/index.js';
import {
  collect,
  fixtureTags,
  mediaRows,
  publishFixture,
  type RelayServer,
  relayServer,
  stallingProxy,
} from './helpers.js';

const FAST_RETRY = { initialDelay: 50, maxDelay: 400 };

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function servers(): Promise<{ source: RelayServer; target: RelayServer }> {
  const source = await relayServer();
  const target = await relayServer();
  cleanup.push(
    () => source.stop(),
    () => target.stop(),
  );
  return { source, target };
}

function restreamer(
  source: RelayServer,
  options: ConstructorParameters<typeof Restreamer>[1] = {},
): Restreamer {
  const r = new Restreamer(source.relay, { retry: FAST_RETRY, ...options });
  cleanup.push(() => r.close());
  return r;
}

describe('Restreamer', () => {
  it('pushes every tag of a stream to a target, metadata first, from its first message', async () => {
    const { source, target } = await servers();
    const r = restreamer(source);
    r.addRule((key) => appendStreamName(target.url, key.split('/')[1]!));
    const player = await collect(`${target.url}/cam1`);
    cleanup.push(() => player.client.close());
    let connects = 0;
    r.on('connect', () => connects++);

    await publishFixture(`${source.url}/cam1`);
    await player.done;

    const tags = fixtureTags();
    expect(mediaRows(player.tags)).toEqual(mediaRows(tags));
    const data = player.tags.filter((t) => t.type === 18).map((t) => t.body.toString('latin1'));
    expect(data.some((d) => d.includes('onMetaData'))).toBe(true);
    // Published in a few ms, before the push had connected: what it held was delivered, then it unpublished.
    expect(connects).toBe(1);
    // The rule's push goes with the stream.
    await until(() => r.pushes().length === 0, 5_000, 'the rule push removed');
  });

  it('retries with backoff while the target is down, then delivers from a keyframe with the headers first', async () => {
    const source = await relayServer();
    cleanup.push(() => source.stop());
    const port = await freePort();
    const r = restreamer(source);
    const push = r.push('live/cam2', `rtmp://127.0.0.1:${port}/live/cam2`);
    expect(push.state).toBe('idle');
    const failures: number[] = [];
    r.on('failure', (_push, _error, retryIn) => failures.push(retryIn ?? -1));

    const publishing = publishFixture(`${source.url}/cam2`, { realtime: true });
    await until(() => failures.length >= 2, 5_000, 'two failed attempts');
    expect(push.info().lastError?.code).toBe('ERR_RTMP_SOCKET');
    expect(push.state).toMatch(/retrying|connecting/);

    const target = await relayServer({ port });
    cleanup.push(() => target.stop());
    const player = await collect(`${target.url}/cam2`);
    cleanup.push(() => player.client.close());
    await waitFor(() => (push.state === 'live' ? true : undefined), 5_000);
    await publishing;
    await player.done;

    // The new connection started with the metadata and both sequence headers, then media from a keyframe on.
    const received = player.tags;
    expect(received[0]?.type).toBe(18);
    const firstMedia = received.findIndex((t) => (t.type === 8 || t.type === 9) && t.body[1] === 1);
    const firstVideo = received.find((t) => t.type === 9 && t.body[1] === 1);
    expect((firstVideo?.body[0] ?? 0) >> 4).toBe(1);
    const headers = received.slice(0, firstMedia).filter((t) => t.type !== 18 && t.body[1] === 0);
    expect(headers.map((t) => t.type).sort()).toEqual([8, 9]);
    // Everything from that keyframe on arrived, in order.
    const all = mediaRows(fixtureTags());
    const got = mediaRows(received);
    const start = all.findIndex((row) => row.body === got.find((g) => g.type === 9)?.body);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(got.filter((g) => g.type === 9)).toEqual(all.slice(start).filter((row) => row.type === 9));
    expect(push.state).toBe('idle');
    expect(push.info().connects).toBe(1);
    // Explicit pushes stay for the next publish.
    expect(r.pushes()).toEqual([push]);
  });

  it('a target that stops reading loses media (counted) and is reconnected; the source and another target are not slowed', async () => {
    // The test's own players read from the same busy process as fast as it publishes: a queue limit they cannot
    // reach, so that only the push's (256 KiB) is in play.
    const roomy = { relay: { maxPlayerQueue: 256 << 20 } };
    const source = await relayServer(roomy);
    const target = await relayServer();
    cleanup.push(
      () => source.stop(),
      () => target.stop(),
    );
    const proxy = await stallingProxy(target.port);
    cleanup.push(() => proxy.close());
    const other = await relayServer(roomy);
    cleanup.push(() => other.stop());
    const r = restreamer(source, { maxQueuedBytes: 256 * 1024 });
    const slow = r.push('live/cam3', `rtmp://127.0.0.1:${proxy.port}/live/cam3`);
    // The healthy target through its own restreamer, with room for this full-speed test (a real one keeps up).
    const healthy = restreamer(source, { maxQueuedBytes: 256 << 20 }).push('live/cam3', `${other.url}/cam3`);
    const local = await collect(`${source.url}/cam3`);
    const far = await collect(`${other.url}/cam3`);
    cleanup.push(
      () => local.client.close(),
      () => far.client.close(),
    );
    const drops: number[] = [];
    r.on('drop', (push, messages) => push === slow && drops.push(messages));
    const failures: string[] = [];
    r.on('failure', (push, error) => push === slow && failures.push(String(Reflect.get(error, 'code'))));

    // Copies of the fixture back to back (225 KB each): the first GOP while both targets connect, then the slow
    // target stops reading and copies go as fast as the source takes them until the slow push drops media. How many
    // that takes depends on how far the kernel grew the stalled connection's buffers (tcp_rmem allows up to 32 MB
    // here), so the test publishes until the drop instead of a fixed amount (at most 400 copies, 90 MB).
    const tags = fixtureTags();
    const media = tags.filter((t) => t.type !== 18);
    const copy = (i: number) => media.map((t) => ({ ...t, timestamp: t.timestamp + i * 4_000 }));
    const firstGop = tags.findIndex((t, i) => i > 3 && t.type === 9 && t.body[0]! >> 4 === 1);
    const looped = [...tags];
    const client = new RtmpClient({ url: `${source.url}/cam3` });
    cleanup.push(() => client.close());
    await client.connect();
    const publisher = await client.publish();
    await publishFlv(publisher, tags.slice(0, firstGop), { realtime: false });
    await until(() => slow.state === 'live' && healthy.state === 'live', 10_000, 'both pushes live');
    proxy.stall();
    await publishFlv(publisher, tags.slice(firstGop), { realtime: false });
    for (let i = 1; i <= 400 && drops.length === 0; i++) {
      const next = copy(i);
      looped.push(...next);
      await publishFlv(publisher, next, { realtime: false });
    }
    expect(drops.length).toBeGreaterThan(0);
    // The slow target was dropped at a keyframe, disconnected and connected again, while the source stays live
    // (the target refuses the new publish with BadName until it gives up the stalled one: its stale timeout).
    await until(
      () => slow.info().connects >= 2 && slow.state === 'live',
      20_000,
      'the slow push reconnected',
    );
    expect(failures[0]).toBe('ERR_RTMP_SLOW_CONSUMER');
    expect(slow.info().droppedMessages).toBeGreaterThan(0);
    expect(drops.reduce((a, b) => a + b, 0)).toBe(slow.info().droppedMessages);
    publisher.unpublish();
    await Promise.all([local.done, far.done]);

    // Nobody else lost anything.
    expect(mediaRows(local.tags)).toEqual(mediaRows(looped));
    expect(mediaRows(far.tags)).toEqual(mediaRows(looped));
    expect(healthy.info()).toMatchObject({ droppedMessages: 0, failures: 0, connects: 1 });
  });

  it('a source that ends ends the push gracefully: the target unpublishes', async () => {
    const { source, target } = await servers();
    const r = restreamer(source);
    const push = r.push('live/cam4', `${target.url}/cam4`);
    const unpublished = new Promise<string>((resolve) => target.relay.once('unpublish', resolve));
    await publishFixture(`${source.url}/cam4`);
    expect(await unpublished).toBe('live/cam4');
    await until(() => push.state === 'idle', 5_000, 'idle');
    expect(push.info()).toMatchObject({ connects: 1, failures: 0, state: 'idle' });
    expect(push.info().messagesSent).toBe(fixtureTags().length);
  });

  it('removes pushes, checks URLs and refuses work once closed', async () => {
    const { source } = await servers();
    const r = restreamer(source);
    expect(() => r.push('live/x', 'http://host/live/x')).toThrow(RestreamError);
    expect(() => r.push('live/x', 'rtmp://host/live')).toThrow(/no stream name/);
    const push = r.push('live/x', 'rtmp://127.0.0.1:1/live/x?key=secret');
    expect(push.target).toBe('rtmp://127.0.0.1:1/live/***');
    expect(r.push('live/x', 'rtmp://127.0.0.1:1/live/x?key=secret')).toBe(push);
    expect(r.remove(push.id)).toBe(true);
    expect(r.remove(push.id)).toBe(false);
    expect(push.state).toBe('stopped');
    const invalid: string[] = [];
    r.on('invalidTarget', (key, target, error) => invalid.push(`${key} ${target} ${error.code}`));
    r.addRule(() => 'ftp://nowhere/live/x');
    await publishFixture(`${source.url}/y`);
    expect(invalid).toEqual(['live/y ftp://nowhere/live/*** ERR_RESTREAM_INVALID_OPTION']);
    await r.close();
    expect(() => r.push('live/x', 'rtmp://h/live/x')).toThrow(
      expect.objectContaining({ code: 'ERR_RESTREAM_CLOSED' }),
    );
    expect(() => new Restreamer(source.relay, { retry: { factor: 0.5 } })).toThrow(/factor/);
    await sleep(0);
  });
});
