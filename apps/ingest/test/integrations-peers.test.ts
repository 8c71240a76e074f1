// Push, pull, webhooks and signed URLs of the built app against real peers: FFmpeg, nginx-rtmp, a second app over
// RTMPS with a self-signed certificate, rtmpdump.
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { verifyWebhookSignature, type WebhookEvent } from '@rtmp/restream';
import { signUrl } from '@rtmp/server';
import {
  buildIfStale,
  ffmpegPlay,
  ffmpegPublish,
  ffmpegTestPatternArgs,
  fixture,
  freePort,
  hasNginxRtmp,
  hasTool,
  type NginxRtmp,
  probeFrames,
  run,
  selfSignedCert,
  sleep,
  startNginxRtmp,
  until,
  waitFor,
} from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { metric } from './flv-clients.js';
import { APP_DIR, expectEveryPacket, type RunningApp, startApp } from './helpers.js';

const tools = hasTool('ffmpeg') && hasTool('ffprobe');
const nginxReady = tools && hasNginxRtmp();
const tlsReady = tools && hasTool('openssl');
const rtmpdumpReady = tools && hasTool('rtmpdump');

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function app(extra: string[], options: Parameters<typeof startApp>[1] = {}): Promise<RunningApp> {
  const running = await startApp(extra, options);
  cleanup.push(() => running.stop());
  return running;
}

async function tmp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-peers-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function nginx(extraApplication = ''): Promise<NginxRtmp> {
  const server = await startNginxRtmp({ extraApplication });
  cleanup.push(() => server.stop());
  return server;
}

/** Established TCP connections whose local port is `port` (the server side), from /proc/net/tcp. */
function establishedTo(port: number): number {
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '01' && Number.parseInt(fields[1]?.split(':')[1] ?? '', 16) === port) count++;
    }
  }
  return count;
}

/** The `rtmp_viewers{protocol="rtmp"}` gauge of an app. */
const rtmpViewers = (server: RunningApp) =>
  metric(`http://127.0.0.1:${server.httpPort}`, 'rtmp_viewers{protocol="rtmp"}');

/**
 * An FFmpeg player of `url` recording to `out`, returned once it waits for the stream: at one of our apps, once the
 * app counts it as an RTMP viewer (its play command arrived); at nginx, which has no such count here, once it is
 * connected and has had time to send its play command.
 */
async function waitingPlayer(url: string, out: string, server: RunningApp | NginxRtmp) {
  if ('httpPort' in server) {
    const before = await rtmpViewers(server);
    const player = ffmpegPlay(url, out, 40_000);
    await waitFor(async () => ((await rtmpViewers(server)) > before ? true : undefined), 20_000);
    return player;
  }
  const before = establishedTo(server.port);
  const player = ffmpegPlay(url, out, 40_000);
  await until(() => establishedTo(server.port) > before, 20_000, 'FFmpeg connected');
  await sleep(1_500);
  return player;
}

const api = async (base: RunningApp, path: string, token = 't') =>
  (
    await fetch(`http://127.0.0.1:${base.httpPort}${path}`, { headers: { authorization: `Bearer ${token}` } })
  ).json() as Promise<Record<string, unknown[]>>;

describe.skipIf(!nginxReady)('push and pull with nginx-rtmp', () => {
  it('--push: FFmpeg publishes here, FFmpeg playing from nginx gets every packet', async () => {
    const target = await nginx('play_restart on;');
    const source = await app(['--push', target.url]);
    const out = join(await tmp(), 'nginx.flv');
    const player = await waitingPlayer(`${target.url}/cam1`, out, target);
    const publish = await ffmpegPublish(fixture('small_h264_aac.flv'), `${source.url}/cam1`, {
      realtime: true,
    }).done;
    expect(publish.code, publish.stderr).toBe(0);
    const played = await player.done;
    expect(played.code, `${played.stderr}\n${target.log()}`).toBe(0);
    await expectEveryPacket(out);
    const metrics = await (await fetch(`http://127.0.0.1:${source.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^rtmp_push_connects_total 1$/m);
  });

  it('--pull: FFmpeg publishes to nginx, an FFmpeg player here gets every packet through one upstream', async () => {
    const origin = await nginx();
    const edge = await app(['--pull', origin.url, '--api-token', 't']);
    const out = join(await tmp(), 'pulled.flv');
    const player = ffmpegPlay(`${edge.url}/cam2`, out, 40_000);
    // The player's demand started a pull, which waits at nginx (nothing published there yet).
    await waitFor(
      async () =>
        ((await api(edge, '/api/pulls')).pulls?.[0] as { state?: string })?.state === 'waiting' || undefined,
      20_000,
    );
    await sleep(500);
    const publish = await ffmpegPublish(fixture('small_h264_aac.flv'), `${origin.url}/cam2`, {
      realtime: true,
    }).done;
    expect(publish.code, publish.stderr).toBe(0);
    const played = await player.done;
    expect(played.code, played.stderr).toBe(0);
    await expectEveryPacket(out);
    const metrics = await (await fetch(`http://127.0.0.1:${edge.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^rtmp_pulls_total 1$/m);
    await until(
      () => edge.logs.some((l) => l.msg === 'pull stopped' && l.reason === 'origin ended'),
      5_000,
      'pull ended',
    );
  });
});

describe.skipIf(!nginxReady)('--pull for HTTP viewers', () => {
  it('an HLS playlist request (a signed one: an unsigned one starts nothing) pulls a stream live at nginx; /api/streams lists the pulled stream with its pull and its probed codecs; the control API records it', async () => {
    const origin = await nginx();
    const records = await tmp();
    const edge = await app([
      ...['--pull', origin.url, '--sign-play-secret', 'pp', '--api-token', 't'],
      ...['--record-dir', records],
    ]);
    const publish = ffmpegPublish(fixture('small_h264_aac.flv'), `${origin.url}/cam3`, { realtime: true });
    // Nothing watches at the edge yet: the stream is live at nginx only.
    await sleep(1_500);
    const unsigned = `http://127.0.0.1:${edge.httpPort}/live/cam3/index.m3u8`;
    // A viewer who may not play starts no upstream connection.
    expect((await fetch(unsigned)).status).toBe(403);
    expect((await api(edge, '/api/pulls')).pulls).toEqual([]);
    const playlist = await fetch(signUrl(unsigned, { secret: 'pp', action: 'play' }));
    expect(playlist.status).toBe(200);
    const text = await playlist.text();
    expect(text).toContain('#EXTM3U');
    const segment = text.split('\n').find((line) => line !== '' && !line.startsWith('#'));
    expect(segment).toBeDefined();
    const media = await fetch(new URL(segment!, playlist.url));
    expect(media.status).toBe(200);
    expect((await media.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    const streams = (await api(edge, '/api/streams')).streams as {
      app: string;
      key: string;
      players: number;
      playersByProtocol: Record<string, number>;
      codecs: string[];
      resolution: string | null;
      video: { frames: number };
      pull?: { state: string; bytesReceived: number };
    }[];
    expect(streams).toHaveLength(1);
    expect(streams[0]).toMatchObject({ app: 'live', key: 'cam3', playersByProtocol: { hls: 1 } });
    expect(streams[0]!.pull?.state).toBe('live');
    expect(streams[0]!.pull!.bytesReceived).toBeGreaterThan(0);
    // Probed from the pull's own messages, as a publish here is (the muxer's segment came after the configs).
    expect(streams[0]!.codecs).toEqual([expect.stringMatching(/^avc1\.[0-9a-fA-F]{6}$/), 'mp4a.40.2']);
    expect(streams[0]!.resolution).toMatch(/^\d+x\d+$/);
    expect(streams[0]!.video.frames).toBeGreaterThan(0);
    // The control API records a pulled stream too, from now until the pull ends with the origin's stream.
    const recording = await fetch(`http://127.0.0.1:${edge.httpPort}/api/streams/live/cam3/recording`, {
      method: 'POST',
      headers: { authorization: 'Bearer t' },
    });
    expect(recording.status).toBe(201);
    const { path } = (await recording.json()) as { path: string };
    expect(path.startsWith(records)).toBe(true);
    expect(((await api(edge, '/api/streams')).streams?.[0] as { recording?: string })?.recording).toBe(path);
    expect((await publish.done).code).toBe(0);
    await until(
      () => edge.logs.some((l) => l.msg === 'recording finalized (control API)'),
      10_000,
      'recording',
    );
    const frames = probeFrames(path);
    expect(frames.video).toBeGreaterThan(10);
    expect(frames.audio).toBeGreaterThan(10);
  });
});

describe.skipIf(!tlsReady)('push over rtmps:// into a second app', () => {
  async function pair() {
    const cert = selfSignedCert();
    cleanup.push(() => rmSync(cert.dir, { recursive: true, force: true }));
    const ports = { rtmpPort: await freePort(), httpPort: await freePort() };
    const tlsPort = await freePort();
    const targetArgs = [
      '--tls-cert',
      cert.certPath,
      '--tls-key',
      cert.keyPath,
      '--rtmps-port',
      String(tlsPort),
    ];
    const target = await app(targetArgs, ports);
    // The source trusts the self-signed certificate the way any Node.js program can.
    const source = await app(['--push', `rtmps://127.0.0.1:${tlsPort}/live`, '--api-token', 't'], {
      env: { NODE_EXTRA_CA_CERTS: cert.certPath },
    });
    return { target, source, restartTarget: () => app(targetArgs, ports) };
  }

  it('FFmpeg playing from the target gets every packet', async () => {
    const { target, source } = await pair();
    const out = join(await tmp(), 'target.flv');
    const player = await waitingPlayer(`${target.url}/cam3`, out, target);
    const publish = await ffmpegPublish(fixture('small_h264_aac.flv'), `${source.url}/cam3`, {
      realtime: true,
    }).done;
    expect(publish.code, publish.stderr).toBe(0);
    const played = await player.done;
    expect(played.code, played.stderr).toBe(0);
    await expectEveryPacket(out);
  });

  it('the target killed mid-stream and restarted: the push resumes, the source players see nothing', async () => {
    const { target, source, restartTarget } = await pair();
    const dir = await tmp();
    const sourceOut = join(dir, 'source.flv');
    const sourcePlayer = await waitingPlayer(`${source.url}/cam4`, sourceOut, source);
    const publish = run('ffmpeg', ffmpegTestPatternArgs(`${source.url}/cam4`, 12), 40_000);
    const pushState = async () =>
      ((await api(source, '/api/streams')).streams?.[0] as { pushes?: { state: string; connects: number }[] })
        ?.pushes?.[0];
    await waitFor(async () => ((await pushState())?.state === 'live' ? true : undefined), 15_000);
    await sleep(2_000);

    target.proc.kill('SIGKILL');
    await target.exited;
    await waitFor(async () => ((await pushState())?.state !== 'live' ? true : undefined), 10_000);
    const restarted = await restartTarget();
    const push = await waitFor(async () => {
      const state = await pushState();
      return state?.state === 'live' && state.connects >= 2 ? state : undefined;
    }, 20_000);
    expect(push.connects).toBeGreaterThanOrEqual(2);
    // The resumed push delivers media to the restarted target's players.
    const targetOut = join(dir, 'target.flv');
    const targetPlayer = ffmpegPlay(`${restarted.url}/cam4`, targetOut, 30_000);

    const published = await publish.done;
    expect(published.code, published.stderr).toBe(0);
    const [fromSource, fromTarget] = await Promise.all([sourcePlayer.done, targetPlayer.done]);
    expect(fromSource.code, fromSource.stderr).toBe(0);
    expect(fromTarget.code, fromTarget.stderr).toBe(0);
    // 12 s at 25 fps: the source's player got every frame, whatever happened to the push.
    const source12 = probeFrames(sourceOut);
    expect(source12.ok, source12.stderr).toBe(true);
    expect(source12.video).toBe(300);
    const resumed = probeFrames(targetOut);
    expect(resumed.video).toBeGreaterThan(25);
    const metrics = await (await fetch(`http://127.0.0.1:${source.httpPort}/metrics`)).text();
    expect(Number(/^rtmp_push_connects_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
    expect(metrics).toMatch(/^rtmp_push_failures_total\{code="ERR_[A-Z_]+"\} [1-9]/m);
  });
});

describe.skipIf(!rtmpdumpReady)('webhooks and signed URLs with FFmpeg and rtmpdump', () => {
  it('signed publish and play URLs from rtmp-test-client sign: accepted, expired and forged ones refused', async () => {
    const testClientDir = resolve(APP_DIR, '../test-client');
    buildIfStale(testClientDir, 'dist/cli.js');
    const testClient = resolve(testClientDir, 'dist/cli.js');
    const source = await app(['--sign-secret', 'sesame']);
    const sign = async (url: string, ...args: string[]) => {
      const r = await run(process.execPath, [testClient, 'sign', url, '--secret', 'sesame', ...args]).done;
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const url = `${source.url}/cam5`;
    const expired = await sign(
      url,
      '--action',
      'publish',
      '--expires',
      String(Math.floor(Date.now() / 1000) - 5),
    );
    const forged = (await sign(url, '--action', 'publish')).replace(/sig=[0-9a-f]/, (m) =>
      m.endsWith('0') ? 'sig=1' : 'sig=0',
    );
    const asPlay = await sign(url, '--action', 'play');
    for (const refused of [url, expired, forged, asPlay]) {
      const r = await ffmpegPublish(fixture('small_h264_aac.flv'), refused, { timeoutMs: 20_000 }).done;
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/Unauthorized|signature|signed URL/);
    }
    const dir = await tmp();
    const publish = ffmpegPublish(fixture('small_h264_aac.flv'), await sign(url, '--action', 'publish'), {
      realtime: true,
    });
    await until(
      () => source.logs.some((l) => l.msg === 'publish started'),
      15_000,
      'signed publish accepted',
    );
    const dumped = join(dir, 'dump.flv');
    const refusedPlay = await run('rtmpdump', ['-r', url, '-o', join(dir, 'refused.flv'), '--live'], 20_000)
      .done;
    expect(refusedPlay.code).not.toBe(0);
    // HTTP viewers need the same signed link: HTTP-FLV, WS-FLV (same check) and the HLS playlist.
    const http = `http://127.0.0.1:${source.httpPort}/live/cam5`;
    for (const unsigned of [`${http}.flv`, `${http}/index.m3u8`]) {
      const refused = await fetch(unsigned);
      expect(refused.status, unsigned).toBe(403);
      await refused.body?.cancel();
    }
    const signedFlv = await fetch(await sign(`${http}.flv`, '--action', 'play'));
    expect(signedFlv.status).toBe(200);
    const first = await signedFlv.body!.getReader().read();
    expect(Buffer.from(first.value!).subarray(0, 3).toString()).toBe('FLV');
    await signedFlv.body!.cancel().catch(() => undefined);
    const signedHls = await fetch(await sign(`${http}/index.m3u8`, '--action', 'play'));
    expect(signedHls.status).toBe(200);
    expect(await signedHls.text()).toContain('#EXTM3U');
    const dump = await run(
      'rtmpdump',
      ['-r', await sign(url, '--action', 'play'), '-o', dumped, '--live'],
      30_000,
    ).done;
    expect((await publish.done).code).toBe(0);
    expect(dump.timedOut).toBe(false);
    expect(probeFrames(dumped).video).toBeGreaterThan(20);
    const refusals = source.logs.filter(
      (l) => typeof l.msg === 'string' && l.msg.endsWith('refused: signature missing'),
    );
    expect(refusals.map((l) => l.action).sort()).toEqual(['play', 'publish']);
    const httpRefusals = source.logs.filter((l) => l.msg === 'http play denied: signature missing');
    expect(httpRefusals).toHaveLength(2);
  });

  it('a webhook receiver gets every event of an FFmpeg publish and player, signed and in order', async () => {
    const events: { event: WebhookEvent; valid: boolean }[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const signature = req.headers['x-rtmp-signature'];
        events.push({
          event: JSON.parse(body),
          valid: verifyWebhookSignature(body, String(signature), 'hook'),
        });
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
    cleanup.push(() => new Promise((done) => receiver.close(done)));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
    const dir = await tmp();
    const source = await app([
      ...['--webhook', hook, '--webhook-secret', 'hook', '--record-dir', dir],
      ...['--push', `rtmp://127.0.0.1:${await freePort()}/live`],
    ]);
    const out = join(dir, 'play.flv');
    const player = await waitingPlayer(`${source.url}/cam6?viewer=1`, out, source);
    const publish = await ffmpegPublish(fixture('small_h264_aac.flv'), `${source.url}/cam6?token=x`, {
      realtime: true,
    }).done;
    expect(publish.code).toBe(0);
    await player.done;
    const names = () => events.map((e) => e.event.event);
    await until(
      () => names().includes('record_done') && names().filter((n) => n === 'disconnect').length === 2,
      10_000,
      'events',
    );
    expect(events.every((e) => e.valid)).toBe(true);
    // One queue per stream: its events arrive in the order they happened (the player was there first; its play
    // ends with the publish, and the recording is finalized last).
    const stream = events
      .filter((e) => e.event.key === 'cam6' && e.event.event !== 'push_failed')
      .map((e) => e.event.event);
    expect(stream.toSorted()).toEqual(['play', 'play_done', 'publish', 'publish_done', 'record_done']);
    const at = (name: string) => stream.indexOf(name);
    expect(at('play')).toBeLessThan(at('publish'));
    expect(at('publish')).toBeLessThan(at('publish_done'));
    expect(at('publish')).toBeLessThan(at('play_done'));
    expect(at('publish_done')).toBeLessThan(at('record_done'));
    expect(names()).toContain('push_failed');
    expect(names().filter((n) => n === 'connect')).toHaveLength(2);
    const publishEvent = events.find((e) => e.event.event === 'publish')!.event;
    expect(publishEvent).toMatchObject({
      app: 'live',
      key: 'cam6',
      query: 'token=x',
      clientAddress: '127.0.0.1',
      protocol: 'rtmp',
    });
    const recorded = events.find((e) => e.event.event === 'record_done')!.event;
    expect(probeFrames(String(recorded.path)).video).toBe(100);
  });

  it('HTTP-FLV viewers get play and play_done webhooks too', async () => {
    const events: WebhookEvent[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
    cleanup.push(() => new Promise((done) => receiver.close(done)));
    const source = await app(['--webhook', `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`]);
    const publish = ffmpegPublish(fixture('small_h264_aac.flv'), `${source.url}/cam7`, { realtime: true });
    await until(() => source.logs.some((l) => l.msg === 'publish started'), 15_000, 'publish');
    const viewer = new AbortController();
    const response = await fetch(`http://127.0.0.1:${source.httpPort}/live/cam7.flv?viewer=2`, {
      signal: viewer.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let received = 0;
    while (received < 50_000) {
      const { value, done } = await reader.read();
      if (done) break;
      received += value.byteLength;
    }
    viewer.abort();
    await until(() => events.some((e) => e.event === 'play_done'), 10_000, 'play_done');
    const plays = events.filter((e) => e.event === 'play' || e.event === 'play_done');
    expect(plays.map((e) => e.event)).toEqual(['play', 'play_done']);
    for (const e of plays) {
      expect(e).toMatchObject({ app: 'live', key: 'cam7', query: 'viewer=2', protocol: 'http-flv' });
    }
    expect(Number(plays[1]!.bytes)).toBeGreaterThanOrEqual(received);
    expect((await publish.done).code).toBe(0);
  });
});
