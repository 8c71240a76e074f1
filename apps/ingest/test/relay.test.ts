// In-process: startIngest with @rtmp/client as publishers and players (no external tool needed).
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtmpClient } from '@rtmp/client';
import type { RtmpStatus } from '@rtmp/connection';
import { classifyVideoTag } from '@rtmp/flv-demux';
import { until } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { type IngestServer, startIngest } from '../src/main.js';

const clients: RtmpClient[] = [];
let ingest: IngestServer | undefined;
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await ingest?.close();
  ingest = undefined;
});

const logs: Record<string, unknown>[] = [];

async function start(extra: string[]): Promise<IngestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-relay-'));
  const action = loadConfig(
    ['--port', '0', '--http-port', '0', '--host', '127.0.0.1', '--record-dir', dir, ...extra],
    {},
    dir,
  );
  if (action.kind !== 'run') throw new Error('config');
  const log = createLogger({ level: 'silent', pretty: false });
  // Keep the warnings the relay wiring logs, to check them.
  const warn = log.warn.bind(log);
  log.warn = ((obj: Record<string, unknown>, msg?: string) => {
    logs.push({ ...obj, msg });
    warn(obj, msg);
  }) as typeof log.warn;
  ingest = await startIngest(action.config, log);
  return ingest;
}

/** Our client connected to `app` of the ingest's RTMP port (`capsEx` 1: it follows reconnect requests). */
async function client(port: number, app: string, capsEx?: number): Promise<RtmpClient> {
  const c = new RtmpClient({ host: '127.0.0.1', port, app, ...(capsEx === undefined ? {} : { capsEx }) });
  clients.push(c);
  await c.connect();
  return c;
}

// AVC in FLV: a (minimal) sequence header, then frames holding one NAL unit each.
const header = Uint8Array.of(0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe0, 0);
function frame(key: boolean, size: number): Uint8Array {
  const body = new Uint8Array(size);
  body.set([key ? 0x17 : 0x27, 1, 0, 0, 0]);
  new DataView(body.buffer).setUint32(5, size - 9);
  body[9] = key ? 0x65 : 0x41;
  return body;
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

describe('ingest relay wiring', () => {
  it('keeps the same key in two apps apart: publishes, API, players and recordings', async () => {
    const s = await start(['--apps', 'live,show']);
    const viewer = await client(s.rtmpPort, 'show');
    let viewed = 0;
    const played = await viewer.play({ name: 'same', demux: false });
    played.on('message', (m) => {
      if (m.type === 9) viewed++;
    });
    const a = await client(s.rtmpPort, 'live');
    const b = await client(s.rtmpPort, 'show');
    const pa = await a.publish({ name: 'same' });
    // One namespace for all apps would refuse this with NetStream.Publish.BadName.
    const pb = await b.publish({ name: 'same' });
    for (const p of [pa, pb]) {
      p.write(9, 0, header);
      p.write(9, 0, frame(true, 1000));
    }
    await until(() => viewed >= 2, 5_000, 'viewer media');
    const api = s.registry
      .api()
      .map((e) => [e.app, e.key, e.players])
      .sort();
    expect(api).toEqual([
      ['live', 'same', 0],
      ['show', 'same', 1],
    ]);
    const recordings = s.registry.all().map((e) => e.recorder?.path);
    a.destroy();
    b.destroy();
    await until(() => s.registry.all().length === 0, 5_000, 'publishes ended');
    await s.close();
    // With several apps, each app records into its own folder.
    expect(recordings.map((p) => p?.split('/').at(-2)).sort()).toEqual(['live', 'show']);
    for (const p of recordings) expect(existsSync(p!)).toBe(true);
    expect(readdirSync(join(recordings[0]!, '..'))).toHaveLength(1);
  });

  it('rtmp_dropped_frames_total and droppedFrames are the relay exact count', async () => {
    const s = await start(['--no-record']);
    const viewer = await client(s.rtmpPort, 'live');
    let viewed = 0;
    const played = await viewer.play({ name: 'cam', demux: false });
    played.on('message', (m) => {
      const kind = m.type === 9 ? classifyVideoTag(m.payload).kind : undefined;
      if (kind === 'keyframe' || kind === 'frame') viewed++;
    });
    const pubClient = await client(s.rtmpPort, 'live');
    // A chunk size change after connect is not in the client's API: its connection core sends it.
    pubClient.connection!.setChunkSize(65536);
    const pub = await pubClient.publish({ name: 'cam' });
    pub.write(9, 0, header);
    pub.write(9, 0, frame(true, 1000));
    await until(() => viewed === 1, 5_000, 'keyframe');
    // The viewer stops reading: once the kernel buffers and 4 MiB of server queue are full, the relay drops.
    const viewerSocket = viewer.connection!.socket;
    viewerSocket.pause();
    const FRAMES = 400;
    const SIZE = 64 * 1024;
    let sent = 0;
    for (let i = 1; i <= FRAMES; i++) {
      pub.write(9, i * 40, frame(false, SIZE));
      sent++;
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    const total = header.byteLength + 1000 + FRAMES * SIZE;
    await until(() => s.registry.get('live', 'cam')!.stats.bytesIn >= total, 10_000, 'all frames in');
    viewerSocket.resume();
    // Everything queued before the player fell behind arrives; nothing after it (inter frames only). Wait until
    // the count stays still, so the server's queue to the viewer is empty before the next keyframe.
    for (let last = -1; last !== viewed; ) {
      last = viewed;
      await new Promise((r) => setTimeout(r, 300));
    }
    const delivered = viewed - 1;
    const dropped = sent - delivered;
    expect(dropped).toBeGreaterThan(0);
    expect(metric(await s.metrics.scrape(), 'rtmp_dropped_frames_total')).toBe(dropped);
    expect(s.registry.api()[0]!.droppedFrames).toBe(dropped);
    // A keyframe with an empty queue ends the episode: the player gets media again and one warning is logged.
    pub.write(9, (FRAMES + 1) * 40, frame(true, 1000));
    await until(() => viewed === delivered + 2, 5_000, 'keyframe after the drop');
    const warning = logs.find((l) => l.msg === 'player fell behind: media dropped');
    expect(warning).toMatchObject({ stream: 'live/cam', messages: dropped, bytes: dropped * SIZE });
    // Scraping again adds nothing: the counter follows the relay, it does not re-add.
    expect(metric(await s.metrics.scrape(), 'rtmp_dropped_frames_total')).toBe(dropped);
  }, 30_000);
});

describe('shutdown with --reconnect-grace (E-RTMP reconnect requests)', () => {
  const reconnects = (c: RtmpClient): RtmpStatus[] => {
    const seen: RtmpStatus[] = [];
    c.on('status', (st) => {
      if (st.code === 'NetConnection.Connect.ReconnectRequest') seen.push(st);
    });
    return seen;
  };

  it('asks the clients that follow them, waits for them to leave, and closes the rest as before', async () => {
    const s = await start(['--reconnect-grace', '20', '--reconnect-url', '/elsewhere']);
    const mover = await client(s.rtmpPort, 'live', 1);
    const moverRequests = reconnects(mover);
    const moving = await mover.publish({ name: 'a' });
    const legacy = await client(s.rtmpPort, 'live');
    const legacyRequests = reconnects(legacy);
    await legacy.play({ name: 'a', demux: false });

    let closed = false;
    const closing = s.close().then(() => {
      closed = true;
    });
    await until(() => moverRequests.length === 1, 5_000, 'reconnect request');
    expect(moverRequests[0]!.info).toMatchObject({
      level: 'status',
      tcUrl: '/elsewhere',
      description: 'The server is shutting down',
    });
    expect(moverRequests[0]!.streamId).toBe(0);
    // The server keeps serving the asked client meanwhile (it streams on to its next keyframe).
    moving.write(9, 0, header);
    await new Promise((r) => setTimeout(r, 300));
    expect(closed).toBe(false);
    expect(mover.connection?.closed).toBe(false);

    // The client has moved: once it leaves, shutdown goes on at once, long before the 20 s grace.
    const left = Date.now();
    mover.destroy();
    await closing;
    expect(Date.now() - left).toBeLessThan(10_000);
    expect(legacyRequests).toEqual([]);
    await until(() => !legacy.connected, 5_000, 'legacy player closed');
    ingest = undefined;
  });

  it('closes a client that does not leave once the grace is over', async () => {
    const s = await start(['--reconnect-grace', '1']);
    const stuck = await client(s.rtmpPort, 'live', 1);
    const requests = reconnects(stuck);
    await stuck.publish({ name: 'b' });
    const started = Date.now();
    await s.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.info).not.toHaveProperty('tcUrl');
    await until(() => !stuck.connected, 5_000, 'closed by the shutdown');
    ingest = undefined;
  });
});
