import { publishFlv, RtmpClient } from '@rtmp/client';
import { LiveRelay } from '@rtmp/server';
import { freePort, sleep, until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { appendStreamName, Puller, type PullerOptions } from '../src/index.js';
import { collect, fixtureTags, mediaRows, publishFixture, type RelayServer, relayServer } from './helpers.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function pair(): Promise<{ origin: RelayServer; edge: RelayServer }> {
  const origin = await relayServer();
  const edge = await relayServer();
  cleanup.push(
    () => origin.stop(),
    () => edge.stop(),
  );
  return { origin, edge };
}

function puller(edge: RelayServer, options: Partial<PullerOptions> & Pick<PullerOptions, 'origin'>): Puller {
  const p = new Puller(edge.relay, { retry: { initialDelay: 50, maxDelay: 300 }, ...options });
  cleanup.push(() => p.close());
  return p;
}

describe('Puller', () => {
  it('a player asking for a key that is not live gets it from the origin: one upstream for every player', async () => {
    const { origin, edge } = await pair();
    const p = puller(edge, { origin: (key) => appendStreamName(origin.url, key.split('/')[1]!) });
    const starts: string[] = [];
    p.on('start', (pull) => starts.push(pull.key));
    const pulled: { type: number; timestamp: number; body: Uint8Array }[] = [];
    p.on('media', (pull, m) => {
      expect(pull.key).toBe('live/cam1');
      pulled.push({ type: m.type, timestamp: m.timestamp, body: m.payload });
    });

    const first = await collect(`${edge.url}/cam1`);
    const second = await collect(`${edge.url}/cam1`);
    cleanup.push(
      () => first.client.close(),
      () => second.client.close(),
    );
    expect(starts).toEqual(['live/cam1']);
    // The upstream plays at the origin (and waits there: nobody publishes yet).
    await until(() => (origin.relay.stats('live/cam1')?.players ?? 0) === 1, 5_000, 'one upstream player');
    expect(p.get('live/cam1')?.state).toBe('waiting');
    expect(edge.relay.isLive('live/cam1')).toBe(false);

    await publishFixture(`${origin.url}/cam1`, { realtime: true });
    await Promise.all([first.done, second.done]);
    const expected = mediaRows(fixtureTags());
    expect(mediaRows(first.tags)).toEqual(expected);
    expect(mediaRows(second.tags)).toEqual(expected);
    // What the pull relayed, once, as its `media` events: every message of the file, onMetaData unwrapped.
    expect(mediaRows(pulled)).toEqual(expected);
    expect(pulled.filter((m) => m.type === 18)).toHaveLength(1);
    expect(Buffer.from(pulled.find((m) => m.type === 18)!.body).toString('latin1')).toMatch(
      /^\x02\x00\x0aonMetaData/,
    );
    expect(first.tags.some((t) => t.type === 18 && t.body.toString('latin1').includes('onMetaData'))).toBe(
      true,
    );
    // The origin's end of stream ended the pull and the edge's players.
    expect(first.player.endReason?.code).toMatch(/UnpublishNotify|Play\.Stop|StreamEOF/);
    await until(() => p.pulls().length === 0, 5_000, 'the pull ended');
    expect(edge.relay.isLive('live/cam1')).toBe(false);
    expect(starts).toEqual(['live/cam1']);
  });

  it('closes the upstream idleTimeout after the last player left, and not before', async () => {
    const { origin, edge } = await pair();
    const p = puller(edge, { origin: (key) => `${origin.url}/${key.split('/')[1]}`, idleTimeout: 400 });
    const stops: string[] = [];
    p.on('stop', (_pull, reason) => stops.push(reason));
    // A live origin stream (held open by a publisher we control).
    const client = new RtmpClient({ url: `${origin.url}/cam2` });
    cleanup.push(() => client.close());
    await client.connect();
    const publisher = await client.publish();
    const tags = fixtureTags();
    await publishFlv(publisher, tags.slice(0, 60), { realtime: false });

    const a = await collect(`${edge.url}/cam2`);
    await until(() => p.get('live/cam2')?.state === 'live', 5_000, 'pulled');
    await until(() => a.tags.some((t) => t.type === 9), 5_000, 'media at the edge');
    await a.client.close();
    // A player that comes back within the idle timeout finds the same upstream.
    await sleep(150);
    const pull = p.get('live/cam2');
    const b = await collect(`${edge.url}/cam2`);
    cleanup.push(() => b.client.close());
    await sleep(400);
    expect(p.get('live/cam2')).toBe(pull);
    expect(pull?.state).toBe('live');
    await b.client.close();
    await until(() => p.pulls().length === 0, 5_000, 'idle pull closed');
    expect(stops).toEqual(['idle']);
    await until(
      () => (origin.relay.stats('live/cam2')?.players ?? 0) === 0,
      5_000,
      'upstream gone at the origin',
    );
    expect(pull?.info()).toMatchObject({ state: 'stopped', attempts: 1, failures: 0 });
    expect(pull?.info().messagesReceived).toBeGreaterThan(0);
  });

  it('retries while players wait and the origin is down; keys without an origin are not pulled', async () => {
    const edge = await relayServer();
    cleanup.push(() => edge.stop());
    let origin: RelayServer | undefined;
    const originPort = await freePort();
    const resolved: string[] = [];
    const p = puller(edge, {
      origin: async (key) => {
        resolved.push(key);
        return key === 'live/local' ? undefined : `rtmp://127.0.0.1:${originPort}/live/${key.split('/')[1]}`;
      },
    });
    const failures: string[] = [];
    p.on('failure', (_pull, error) => failures.push(String(Reflect.get(error, 'code'))));
    const local = await collect(`${edge.url}/local`);
    cleanup.push(() => local.client.close());
    await until(() => resolved.includes('live/local') && p.pulls().length === 0, 5_000, 'no origin, no pull');

    const waiting = await collect(`${edge.url}/cam3`);
    cleanup.push(() => waiting.client.close());
    await until(() => failures.length >= 1, 5_000, 'a failed attempt');
    expect(p.get('live/cam3')?.state).toMatch(/retrying|resolving|connecting/);
    expect(failures[0]).toMatch(/ERR_RTMP_SOCKET|ERR_RTMP_CLOSED/);
    origin = await relayServer({ port: originPort });
    cleanup.push(() => origin?.stop());
    await until(() => p.get('live/cam3')?.state === 'waiting', 10_000, 'connected to the origin');
    await publishFixture(`${origin.url}/cam3`, { realtime: true });
    await waiting.done;
    expect(mediaRows(waiting.tags)).toEqual(mediaRows(fixtureTags()));
  });

  it('a local publisher that takes the key first wins; the waiting pull goes', async () => {
    const { origin, edge } = await pair();
    const p = puller(edge, { origin: (key) => `${origin.url}/${key.split('/')[1]}` });
    const stops: string[] = [];
    p.on('stop', (_pull, reason) => stops.push(reason));
    const player = await collect(`${edge.url}/cam4`);
    cleanup.push(() => player.client.close());
    await until(() => p.get('live/cam4')?.state === 'waiting', 5_000, 'waiting at the origin');
    await publishFixture(`${edge.url}/cam4`, { realtime: true });
    await player.done;
    expect(stops).toEqual(['published here']);
    expect(mediaRows(player.tags)).toEqual(mediaRows(fixtureTags()));
  });

  it('checks its options', () => {
    const relay = new LiveRelay();
    // @ts-expect-error: no resolver
    expect(() => new Puller(relay, {})).toThrow(/origin resolver/);
    expect(() => new Puller(relay, { origin: () => undefined, idleTimeout: -1 })).toThrow(/idleTimeout/);
  });
});
