// A cluster of three apps/ingest processes on one redis-server, on loopback, against real peers: FFmpeg publishing,
// FFmpeg and rtmpdump playing, every packet compared with the fixture's oracle.
import { rmSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishFlv, RtmpClient, type RtmpReconnectRequest } from '@rtmp/client';
import { FlvReader } from '@rtmp/flv-demux';
import {
  ffmpegPlay,
  ffmpegPublish,
  ffmpegTestPatternArgs,
  fixture,
  freePort,
  hasRedis,
  hasTool,
  type RunningRedis,
  run,
  sleep,
  startRedis,
  waitFor,
} from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { metric } from './flv-clients.js';
import { expectEveryPacket, type RunningApp, startApp } from './helpers.js';

const ready = hasRedis() && hasTool('ffmpeg') && hasTool('ffprobe') && hasTool('rtmpdump');

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function redis(): Promise<RunningRedis> {
  const server = await startRedis();
  cleanup.push(() => server.stop());
  return server;
}

/** A node of the cluster: its RTMP port chosen first, so that its --node-url is known. */
async function node(redisUrl: string, extra: string[] = []): Promise<RunningApp> {
  const rtmpPort = await freePort();
  const app = await startApp(
    ['--cluster', redisUrl, '--node-url', `rtmp://127.0.0.1:${rtmpPort}`, '--cluster-ttl', '3', ...extra],
    { rtmpPort },
  );
  cleanup.push(() => app.stop());
  return app;
}

async function tmp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-cluster-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function json(app: RunningApp, path: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`http://127.0.0.1:${app.httpPort}${path}`)).json()) as Record<string, unknown>;
}

interface ClusterStream {
  stream: string;
  node: string;
  viewers: Record<string, number>;
  totalViewers: number;
}

async function clusterStreams(app: RunningApp): Promise<ClusterStream[]> {
  const body = await json(app, '/api/streams');
  return ((body.cluster as { streams: ClusterStream[] | null }).streams ?? []) as ClusterStream[];
}

/** Waits until `app` counts an RTMP viewer: a player's play reached it (live, or waiting for the stream). */
async function viewerAttached(app: RunningApp): Promise<void> {
  const base = `http://127.0.0.1:${app.httpPort}`;
  await waitFor(
    async () => ((await metric(base, 'rtmp_viewers{protocol="rtmp"}')) > 0 ? true : undefined),
    20_000,
  );
}

describe.skipIf(!ready)('a cluster of three ingest nodes on Redis', () => {
  it('FFmpeg publishes to node 1: FFmpeg on node 2 and rtmpdump on node 3 get every packet, a second publisher on node 2 is refused', async () => {
    const r = await redis();
    const [n1, n2, n3] = [await node(r.url), await node(r.url), await node(r.url)];
    const dir = await tmp();
    const ffmpegOut = join(dir, 'node2.flv');
    const dumpOut = join(dir, 'node3.flv');
    const ffmpegPlayer = ffmpegPlay(`${n2.url}/cam1`, ffmpegOut, 40_000);
    const dumper = run('rtmpdump', ['-r', `${n3.url}/cam1`, '-o', dumpOut, '--live', '-V'], 40_000);
    await viewerAttached(n2);
    await viewerAttached(n3);

    const publish = ffmpegPublish(fixture('small_h264_aac.flv'), `${n1.url}/cam1`, { realtime: true });
    // While it is live: the cluster knows where it is, and another node refuses a second publisher.
    const live = await waitFor(async () => {
      const streams = await clusterStreams(n3);
      return streams.find((s) => s.stream === 'live/cam1' && s.totalViewers === 2);
    }, 20_000);
    expect(live.node).toBe(`127.0.0.1:${n1.rtmpPort}`);
    expect(live.viewers).toMatchObject({ [`127.0.0.1:${n2.rtmpPort}`]: 1, [`127.0.0.1:${n3.rtmpPort}`]: 1 });
    const duplicate = await ffmpegPublish(fixture('small_h264_aac.flv'), `${n2.url}/cam1`).done;
    expect(duplicate.code).not.toBe(0);
    expect(duplicate.stderr).toContain('already being published');

    const nodes = (await json(n2, '/api/nodes')).nodes as { id: string; state: string; self: boolean }[];
    expect(nodes.map((n) => n.state)).toEqual(['live', 'live', 'live']);
    expect(nodes.filter((n) => n.self).map((n) => n.id)).toEqual([`127.0.0.1:${n2.rtmpPort}`]);
    const metrics = await (await fetch(`http://127.0.0.1:${n1.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^rtmp_cluster_nodes\{state="live"\} 3$/m);
    expect(metrics).toMatch(/^rtmp_cluster_registry_up 1$/m);
    expect(metrics).toMatch(/^rtmp_cluster_claims 1$/m);

    const published = await publish.done;
    expect(published.code, published.stderr).toBe(0);
    const [played, dumped] = await Promise.all([ffmpegPlayer.done, dumper.done]);
    expect(played.code, played.stderr).toBe(0);
    expect(dumped.code, dumped.stderr).toBe(0);
    await expectEveryPacket(ffmpegOut);
    await expectEveryPacket(dumpOut);
    // Unpublished: the claim is gone at once (not after the TTL).
    await waitFor(async () => ((await clusterStreams(n1)).length === 0 ? true : undefined), 5_000);
  });

  it('HLS and HTTP-FLV viewers on a node that has the stream from nowhere yet make it pull the stream', async () => {
    const r = await redis();
    const [n1, n2] = [await node(r.url), await node(r.url)];
    // A 20 s live pattern: long enough for a loaded machine to get through the requests below while it is live.
    const publish = run('ffmpeg', ffmpegTestPatternArgs(`${n1.url}/cam5`, 20), 40_000);
    cleanup.push(() => publish.child.kill('SIGKILL'));
    await waitFor(async () => {
      const streams = await clusterStreams(n2);
      return streams.find((s) => s.stream === 'live/cam5');
    }, 20_000);
    // HLS muxes only live streams (no demand before it is live): a playlist request on a node that has the stream
    // from nowhere yet makes that node pull it first.
    const hls = await fetch(`http://127.0.0.1:${n2.httpPort}/live/cam5/index.m3u8`);
    expect(hls.status).toBe(200);
    expect(await hls.text()).toContain('#EXTM3U');
    // HTTP-FLV on the same node: the edge pull it started serves this viewer too, tags from a keyframe on.
    const flv = new FlvReader();
    const httpTags: { type: number; keyframe: boolean }[] = [];
    const viewer = new AbortController();
    const response = await fetch(`http://127.0.0.1:${n2.httpPort}/live/cam5.flv`, { signal: viewer.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    while (httpTags.filter((t) => t.type === 9).length < 30) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const tag of flv.push(value))
        httpTags.push({ type: tag.type, keyframe: tag.type === 9 && tag.body[0]! >> 4 === 1 });
    }
    viewer.abort();
    const video = httpTags.filter((t) => t.type === 9);
    expect(video.length).toBeGreaterThanOrEqual(30);
    // The first video tag is the sequence header (keyframe type), then media from a keyframe.
    expect(video[0]!.keyframe && video[1]!.keyframe).toBe(true);

    expect(await clusterStreams(n1)).toMatchObject([
      { stream: 'live/cam5', node: `127.0.0.1:${n1.rtmpPort}` },
    ]);
  });
});

describe.skipIf(!ready)('a cluster when things fail', () => {
  it('kill -9 of the origin node: its key is free within the TTL, and a new publisher on node 2 serves the players again once they reconnect', async () => {
    const r = await redis();
    const [n1, n2, n3] = [await node(r.url), await node(r.url), await node(r.url)];
    const dir = await tmp();
    const firstPlayers = [
      ffmpegPlay(`${n2.url}/cam2`, join(dir, 'a2.flv'), 40_000),
      run('rtmpdump', ['-r', `${n3.url}/cam2`, '-o', join(dir, 'a3.flv'), '--live'], 40_000),
    ];
    await viewerAttached(n2);
    await viewerAttached(n3);
    const doomed = run('ffmpeg', ffmpegTestPatternArgs(`${n1.url}/cam2`, 30), 40_000);
    await waitFor(async () => {
      const streams = await clusterStreams(n2);
      return streams.find((s) => s.stream === 'live/cam2' && s.totalViewers === 2);
    }, 20_000);

    n1.proc.kill('SIGKILL');
    const killedAt = Date.now();
    // The players' upstream is gone: they get the end of the stream.
    await Promise.all(firstPlayers.map((p) => p.done));
    await doomed.done;
    // Until the claim expires a publisher on another node is still refused; then the key is free.
    await waitFor(async () => ((await clusterStreams(n2)).length === 0 ? true : undefined), 10_000, 50);
    // Within the 3 s TTL (the last refresh came before the kill), plus room for a loaded machine's polling.
    expect(Date.now() - killedAt).toBeLessThanOrEqual(3_000 + 2_000);

    // The players reconnect (to the same nodes) and wait; a new publisher on node 2 serves them all.
    const again = [join(dir, 'b2.flv'), join(dir, 'b3.flv')];
    const players = [
      ffmpegPlay(`${n2.url}/cam2`, again[0]!, 40_000),
      run('rtmpdump', ['-r', `${n3.url}/cam2`, '-o', again[1]!, '--live'], 40_000),
    ];
    await viewerAttached(n3);
    await sleep(1_000);
    const publish = await ffmpegPublish(fixture('small_h264_aac.flv'), `${n2.url}/cam2`, { realtime: true })
      .done;
    expect(publish.code, publish.stderr).toBe(0);
    for (const player of players) expect((await player.done).code).toBe(0);
    for (const file of again) await expectEveryPacket(file);
  });

  it('Redis restarted mid-stream: media keeps flowing to every player and the claim is re-asserted', async () => {
    const r = await redis();
    const [n1, n2, n3] = [await node(r.url), await node(r.url), await node(r.url)];
    const dir = await tmp();
    const outs = [join(dir, 'r2.flv'), join(dir, 'r3.flv')];
    const players = [
      ffmpegPlay(`${n2.url}/cam3`, outs[0]!, 40_000),
      run('rtmpdump', ['-r', `${n3.url}/cam3`, '-o', outs[1]!, '--live'], 40_000),
    ];
    await viewerAttached(n2);
    await viewerAttached(n3);
    const publish = ffmpegPublish(fixture('small_h264_aac.flv'), `${n1.url}/cam3`, { realtime: true });
    await waitFor(async () => {
      const streams = await clusterStreams(n1);
      return streams.find((s) => s.stream === 'live/cam3' && s.totalViewers === 2);
    }, 20_000);
    await r.restart();
    // Redis came back empty: node 1 sets its claim again, and the others see the stream where it was.
    const back = await waitFor(async () => {
      const streams = await clusterStreams(n3).catch(() => []);
      return streams.find((s) => s.stream === 'live/cam3');
    }, 10_000);
    expect(back.node).toBe(`127.0.0.1:${n1.rtmpPort}`);
    // The log line travels on stdout, not through Redis: it may come a moment after the claim.
    await waitFor(
      () => n1.logs.some((l) => l.msg === 'claims re-asserted (the registry had lost them)') || undefined,
      5_000,
    );
    const published = await publish.done;
    expect(published.code, published.stderr).toBe(0);
    for (const player of players) expect((await player.done).code).toBe(0);
    for (const file of outs) await expectEveryPacket(file);
  });

  it('a drained node moves a @rtmp/client publisher that follows reconnect requests to another node, with no frame lost for its players', async () => {
    const r = await redis();
    const n1 = await node(r.url, ['--reconnect-grace', '20']);
    const [n2, n3] = [await node(r.url), await node(r.url)];
    const dir = await tmp();
    const outs = [join(dir, 'd2.flv'), join(dir, 'd3.flv')];
    const players = [
      ffmpegPlay(`${n2.url}/cam4`, outs[0]!, 40_000),
      run('rtmpdump', ['-r', `${n3.url}/cam4`, '-o', outs[1]!, '--live'], 40_000),
    ];
    await viewerAttached(n2);
    await viewerAttached(n3);

    let client = new RtmpClient({ url: `${n1.url}/cam4`, capsEx: 15 });
    cleanup.push(() => client.destroy());
    let request: RtmpReconnectRequest | undefined;
    client.on('reconnectRequest', (req) => {
      request = req;
    });
    await client.connect();
    const first = await client.publish();
    const tags = new FlvReader().push(await readFile(fixture('small_h264_aac.flv')));
    const moves: string[] = [];
    const publishing = publishFlv(first, tags, {
      switchAt: async (publisher) => {
        if (request === undefined) return undefined;
        const moved = await client.followReconnect(request, publisher);
        moves.push(request.url);
        request = undefined;
        client = moved.client;
        return moved.publisher;
      },
    });
    // Before the 2 s keyframe: node 1 is told to stop (SIGTERM, as an orchestrator does).
    await sleep(800);
    n1.proc.kill('SIGTERM');
    const result = await publishing;
    expect(result.stoppedBy).toBe('end');
    expect(moves).toHaveLength(1);
    const target = [n2, n3].find((n) => moves[0] === `${n.url}/cam4`);
    expect(target, moves[0]).toBeDefined();
    await client.close();
    expect((await n1.exited).code).toBe(0);
    expect(n1.logs.some((l) => l.msg === 'asked clients to reconnect')).toBe(true);
    const [played, dumped] = await Promise.all(players.map((p) => p.done));
    expect(played!.code, played!.stderr).toBe(0);
    // rtmpdump exits 2 when the last timestamp is under 99.9 % of onMetaData's duration: the file's metadata says
    // 4.08 s and its last frame is at 4.07 s (FFmpeg publishers send duration 0, hence 0 in the tests above).
    if (dumped!.code !== 0) expect(dumped!.stderr).toContain('downloaded about 99.80%');
    for (const file of outs) await expectEveryPacket(file);
  });
});
