// The Redis registry and the cluster node against a real redis-server (Debian's), started on a free port.
import { hasRedis, type RunningRedis, sleep, startRedis, until } from '@rtmp/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ClusterError,
  ClusterNode,
  type NodeRecord,
  RedisRegistry,
  type RegistryEvent,
  type StreamClaim,
} from '../src/index.js';

const ready = hasRedis();
let redis: RunningRedis;
let prefixCount = 0;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  if (ready) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A registry on its own prefix, so that tests never see each other's keys. */
async function registry(prefix = `t${++prefixCount}`): Promise<RedisRegistry> {
  const r = await RedisRegistry.connect(redis.url, { prefix, commandTimeout: 1_000 });
  cleanup.push(() => r.close());
  return r;
}

function claim(key: string, node: string, draining = false): StreamClaim {
  return { key, node, url: `rtmp://${node}.example:1935`, since: 1, draining };
}

function record(
  id: string,
  bytes: number,
  connections: number,
  state: NodeRecord['state'] = 'live',
): NodeRecord {
  return {
    id,
    url: `rtmp://${id}:1935`,
    httpUrl: null,
    state,
    load: { connections, publishers: 0, viewers: 0, bytesInPerSec: bytes, bytesOutPerSec: 0 },
    streams: [],
    startedAt: 1,
    updatedAt: 2,
  };
}

describe.skipIf(!ready)('RedisRegistry', () => {
  it('claims a key once: the same node refreshes, another is refused with the holder, a draining holder is taken over', async () => {
    const r = await registry();
    const events: RegistryEvent[] = [];
    r.subscribe((e) => events.push(e));
    expect(await r.claim(claim('live/a', 'n1'), 5_000)).toEqual({ claimed: true, previous: undefined });
    expect(await r.claim(claim('live/a', 'n1'), 5_000)).toEqual({
      claimed: true,
      previous: claim('live/a', 'n1'),
    });
    expect(await r.claim(claim('live/a', 'n2'), 5_000)).toEqual({
      claimed: false,
      holder: claim('live/a', 'n1'),
    });
    expect(await r.lookup('live/a')).toEqual(claim('live/a', 'n1'));

    await r.renew([claim('live/a', 'n1', true)], 5_000);
    expect(await r.claim(claim('live/a', 'n2'), 5_000)).toEqual({
      claimed: true,
      previous: claim('live/a', 'n1', true),
    });
    expect(await r.lookup('live/a')).toEqual(claim('live/a', 'n2'));
    await until(() => events.filter((e) => e.type === 'claim').length === 2, 5_000, 'claim events');
    expect(events.filter((e) => e.type === 'claim')).toEqual([
      { type: 'claim', claim: claim('live/a', 'n1'), previous: null },
      { type: 'claim', claim: claim('live/a', 'n2'), previous: 'n1' },
    ]);
  });

  it('releases only what the node holds, and says so on the events channel', async () => {
    const r = await registry();
    const events: RegistryEvent[] = [];
    r.subscribe((e) => events.push(e));
    await r.claim(claim('live/b', 'n1'), 5_000);
    expect(await r.release('live/b', 'n2')).toBe(false);
    expect(await r.lookup('live/b')).toBeDefined();
    expect(await r.release('live/b', 'n1')).toBe(true);
    expect(await r.release('live/b', 'n1')).toBe(false);
    expect(await r.lookup('live/b')).toBeUndefined();
    await until(() => events.some((e) => e.type === 'release'), 5_000, 'release event');
    expect(events.find((e) => e.type === 'release')).toEqual({ type: 'release', key: 'live/b', node: 'n1' });
  });

  it('a claim expires after its TTL; renew keeps it, sets it again when missing and reports a key lost to another node', async () => {
    const r = await registry();
    await r.claim(claim('live/c', 'n1'), 300);
    await r.claim(claim('live/d', 'n1'), 300);
    for (let i = 0; i < 4; i++) {
      await sleep(150);
      expect(await r.renew([claim('live/c', 'n1')], 300)).toEqual({ reasserted: [], lost: [] });
    }
    expect(await r.lookup('live/c')).toBeDefined();
    expect(await r.lookup('live/d')).toBeUndefined();
    await r.claim(claim('live/d', 'n2'), 5_000);
    expect(await r.renew([claim('live/c', 'n1'), claim('live/d', 'n1'), claim('live/e', 'n1')], 300)).toEqual(
      {
        reasserted: ['live/e'],
        lost: [claim('live/d', 'n2')],
      },
    );
    expect((await r.claims()).map((c) => `${c.key}@${c.node}`)).toEqual([
      'live/c@n1',
      'live/d@n2',
      'live/e@n1',
    ]);
  });

  it('lists the nodes whose record has not expired', async () => {
    const r = await registry();
    await r.announce(record('a', 10, 1), 5_000);
    await r.announce(record('b', 5, 1), 200);
    expect((await r.nodes()).map((n) => n.id)).toEqual(['a', 'b']);
    expect((await r.nodes())[0]).toEqual(record('a', 10, 1));
    await sleep(300);
    expect((await r.nodes()).map((n) => n.id)).toEqual(['a']);
    await r.withdraw('a');
    expect(await r.nodes()).toEqual([]);
  });

  it('a value under the prefix that is not a claim is never overwritten: ERR_CLUSTER_BAD_RECORD', async () => {
    const r = await registry('bad');
    const raw = new Redis(redis.url);
    cleanup.push(() => raw.quit());
    await raw.set('bad:stream:live/x', 'not json');
    await expect(r.claim(claim('live/x', 'n1'), 5_000)).rejects.toMatchObject({
      code: 'ERR_CLUSTER_BAD_RECORD',
    });
    expect(await r.lookup('live/x')).toBeUndefined();
    expect(await raw.get('bad:stream:live/x')).toBe('not json');
  });

  it('refuses bad options with ERR_CLUSTER_INVALID_OPTION and an unreachable Redis with ERR_CLUSTER_REGISTRY_UNAVAILABLE', async () => {
    await expect(RedisRegistry.connect('http://127.0.0.1:1')).rejects.toMatchObject({
      code: 'ERR_CLUSTER_INVALID_OPTION',
    });
    await expect(RedisRegistry.connect(redis.url, { prefix: 'a b' })).rejects.toBeInstanceOf(ClusterError);
    await expect(RedisRegistry.connect('redis://127.0.0.1:1', { connectTimeout: 300 })).rejects.toMatchObject(
      {
        code: 'ERR_CLUSTER_REGISTRY_UNAVAILABLE',
      },
    );
  });
});

describe.skipIf(!ready)('ClusterNode', () => {
  async function node(id: string, r: RedisRegistry, load = 0): Promise<ClusterNode> {
    const n = new ClusterNode({
      registry: r,
      id,
      url: `rtmp://${id}.example:1935`,
      ttl: 600,
      report: () => ({
        load: { connections: load, publishers: 0, viewers: 0, bytesInPerSec: load * 1000, bytesOutPerSec: 0 },
        streams: [],
      }),
    });
    cleanup.push(() => n.close());
    await n.start();
    return n;
  }

  it('keeps its claims past the TTL with heartbeats, and a taken key is refused to another node', async () => {
    const r = await registry();
    const a = await node('a', r);
    const b = await node('b', r);
    expect((await a.claim('live/k')).claimed).toBe(true);
    await sleep(1_500);
    expect(await r.lookup('live/k')).toMatchObject({ node: 'a' });
    expect(await b.claim('live/k')).toMatchObject({ claimed: false, holder: { node: 'a' } });
    expect(b.stats.refused).toBe(1);
    await a.release('live/k');
    expect((await b.claim('live/k')).claimed).toBe(true);
  });

  it('a draining node is no target, its keys are taken over and it hears that they moved', async () => {
    const r = await registry();
    const a = await node('a', r, 1);
    const b = await node('b', r, 5);
    const c = await node('c', r, 3);
    await a.heartbeat();
    expect((await b.leastLoaded())?.id).toBe('a');
    await a.claim('live/m');
    const moved: string[] = [];
    a.on('moved', (key, holder) => moved.push(`${key}->${holder.node}`));
    expect(await c.claim('live/m')).toMatchObject({ claimed: false });
    await a.drain();
    expect((await b.leastLoaded())?.id).toBe('c');
    expect(await c.claim('live/m')).toMatchObject({ claimed: true, previous: { node: 'a', draining: true } });
    await until(() => moved.length === 1, 5_000, 'moved event');
    expect(moved).toEqual(['live/m->c']);
    expect(a.holds('live/m')).toBe(false);
  });

  it('re-asserts its claims when Redis comes back empty, and the node record with them', async () => {
    const own = await startRedis();
    cleanup.push(() => own.stop());
    const r = await RedisRegistry.connect(own.url, { commandTimeout: 500 });
    cleanup.push(() => r.close());
    const n = new ClusterNode({ registry: r, url: 'rtmp://127.0.0.1:1935', ttl: 3_000 });
    cleanup.push(() => n.close());
    await n.start();
    expect(n.id).toBe('127.0.0.1:1935');
    await n.claim('live/r');
    const reasserted: string[] = [];
    n.on('reasserted', (keys) => reasserted.push(...keys));
    await own.restart();
    await until(() => reasserted.includes('live/r'), 10_000, 're-asserted');
    expect(await r.lookup('live/r')).toMatchObject({ node: '127.0.0.1:1935' });
    expect((await r.nodes()).map((x) => x.id)).toEqual(['127.0.0.1:1935']);
    expect(n.stats.reasserted).toBe(1);
  });
});
