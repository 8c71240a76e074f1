// ClusterRelay in process: two relay servers, each a node of one cluster on a real redis-server, with our client as
// publisher and players.
import { RtmpClient } from '@rtmp/client';
import { LiveRelay, RtmpServer } from '@rtmp/server';
import { hasRedis, type RunningRedis, sleep, startRedis, until, waitFor } from '@rtmp/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect, fixtureTags, mediaRows, publishFixture } from '../../restream/test/helpers.js';
import { ClusterNode, ClusterRelay, isEdgeSession, RedisRegistry } from '../src/index.js';

const ready = hasRedis();
let redis: RunningRedis;
let prefixCount = 0;
const cleanup: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  if (ready) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface TestNode {
  relay: LiveRelay;
  node: ClusterNode;
  cluster: ClusterRelay;
  server: RtmpServer;
  /** `rtmp://127.0.0.1:<port>/live`. */
  url: string;
}

async function cluster(count: number, redisUrl = redis.url): Promise<TestNode[]> {
  const prefix = `r${++prefixCount}`;
  const nodes: TestNode[] = [];
  for (let i = 0; i < count; i++) {
    const registry = await RedisRegistry.connect(redisUrl, { prefix, commandTimeout: 500 });
    cleanup.push(() => registry.close());
    const relay = new LiveRelay();
    let port = 0;
    const node = new ClusterNode({ registry, url: () => `rtmp://127.0.0.1:${port}`, ttl: 1_500 });
    const wiring = new ClusterRelay(relay, node, {
      idleTimeout: 300,
      retry: { initialDelay: 50, maxDelay: 300 },
    });
    const server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: wiring.handler() });
    port = await server.start();
    await node.start();
    cleanup.push(
      () => server.stop(),
      () => wiring.close(),
      () => node.close(),
    );
    nodes.push({ relay, node, cluster: wiring, server, url: `rtmp://127.0.0.1:${port}/live` });
  }
  return nodes;
}

describe.skipIf(!ready)('ClusterRelay', () => {
  it('players on another node get every tag through one edge pull per key, which stops after the last one left', async () => {
    const [a, b] = await cluster(2);
    const first = await collect(`${b!.url}/cam1`);
    const second = await collect(`${b!.url}/cam1`);
    cleanup.push(
      () => first.client.close(),
      () => second.client.close(),
    );
    await publishFixture(`${a!.url}/cam1`, { realtime: true });
    await Promise.all([first.done, second.done]);
    const expected = mediaRows(fixtureTags());
    expect(mediaRows(first.tags)).toEqual(expected);
    expect(mediaRows(second.tags)).toEqual(expected);
    // The origin's end ended the pull, and the claim is released. The release is a Redis command sent at unpublish,
    // which may still be on its way when the pull is seen over (a busy CI machine delays it): wait for it, for less
    // than a claim left to expire could take (renewed every 500 ms, 1.5 s TTL: at least 1 s after the last renewal),
    // so only the release itself can pass.
    await until(() => b!.cluster.puller.pulls().length === 0, 5_000, 'pull over');
    const released = await waitFor(
      async () => ((await a!.node.lookup('live/cam1')) === undefined ? true : undefined),
      800,
      20,
    );
    expect(released).toBe(true);

    // A longer publish: one upstream for two players, closed 300 ms after both left (not before).
    const publishing = publishFixture(`${a!.url}/cam2`, {
      realtime: true,
      tags: [...fixtureTags(), ...later()],
    });
    await until(() => a!.relay.isLive('live/cam2'), 5_000, 'published');
    const p1 = await collect(`${b!.url}/cam2`);
    const p2 = await collect(`${b!.url}/cam2`);
    await until(() => b!.relay.isLive('live/cam2'), 5_000, 'pulled');
    const origin = a!.relay.stats('live/cam2')!;
    expect(origin.players).toBe(1);
    expect(isEdgeSession(origin.playerStats[0]!.session)).toBe(true);
    expect(b!.cluster.streams()).toEqual([{ key: 'live/cam2', role: 'edge', viewers: 2 }]);
    expect(a!.cluster.streams()).toEqual([{ key: 'live/cam2', role: 'origin', viewers: 0 }]);
    await p1.client.close();
    await sleep(400);
    expect(b!.cluster.puller.get('live/cam2')?.state).toBe('live');
    await p2.client.close();
    await sleep(100);
    expect(b!.cluster.puller.get('live/cam2')).toBeDefined();
    await until(() => b!.cluster.puller.get('live/cam2') === undefined, 2_000, 'idle pull closed');
    await until(() => (a!.relay.stats('live/cam2')?.players ?? 0) === 0, 2_000, 'edge left the origin');
    await publishing;
  });

  it('a second publisher of a key on another node gets NetStream.Publish.BadName; without the registry a publish is refused', async () => {
    const [a, b] = await cluster(2);
    const owner = new RtmpClient({ url: `${a!.url}/dup` });
    cleanup.push(() => owner.destroy());
    await owner.connect();
    await owner.publish();
    const second = new RtmpClient({ url: `${b!.url}/dup` });
    cleanup.push(() => second.destroy());
    await second.connect();
    const refused: string[] = [];
    b!.cluster.on('refused', (key, holder) => refused.push(`${key}@${holder?.node}`));
    await expect(second.publish()).rejects.toMatchObject({
      status: { code: 'NetStream.Publish.BadName' },
    });
    expect(refused).toEqual([`live/dup@${a!.node.id}`]);
    expect(b!.node.stats.refused).toBe(1);

    const own = await startRedis();
    cleanup.push(() => own.stop());
    const [c] = await cluster(1, own.url);
    await own.stop();
    await until(() => !c!.node.registry.available, 5_000, 'registry down');
    const third = new RtmpClient({ url: `${c!.url}/x` });
    cleanup.push(() => third.destroy());
    await third.connect();
    await expect(third.publish()).rejects.toMatchObject({ status: { code: 'NetStream.Publish.Rejected' } });
    expect(c!.relay.isLive('live/x')).toBe(false);
  });

  it('ensureLocal pulls a key that another node holds (HLS viewers do not subscribe before it is live)', async () => {
    const [a, b] = await cluster(2);
    expect(await b!.cluster.ensureLocal('live/none', 200)).toBe(false);
    const publishing = publishFixture(`${a!.url}/cam3`, { realtime: true });
    await until(() => a!.relay.isLive('live/cam3'), 5_000, 'published');
    expect(await b!.cluster.ensureLocal('live/cam3', 5_000)).toBe(true);
    expect(b!.relay.isLive('live/cam3')).toBe(true);
    await publishing;
  });
});

/** The fixture's tags again, 4.08 s later: an 8 s publish. */
function later() {
  return fixtureTags()
    .filter((t) => t.type !== 18)
    .map((t) => ({ ...t, timestamp: t.timestamp + 4_080 }));
}
