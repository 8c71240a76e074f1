import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ffmpegPlay, ffmpegPublish, fixture, hasTool, run, sleep, until } from '@rtmp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtmpError, RtmpErrorCodes } from '../../src/index.js';
import type { AttackReport } from './attacker.js';
import { RawPeer } from './lib.js';
import { type Harness, startAttacker, startHarness } from './server-harness.js';

const haveTools = hasTool('ffmpeg') && hasTool('ffprobe');

// Short server timeouts so every hostile connection must be closed within the test; the bounds below add slack for
// a loaded 2-core CI machine (the keepalive tick is min(idle, ping) / 4 = 250 ms).
const HANDSHAKE_TIMEOUT = 3000;
const IDLE_TIMEOUT = 3000;
const PING_INTERVAL = 1000;
const SLACK = 5000;
const BOUND = { handshake: HANDSHAKE_TIMEOUT + SLACK, idle: IDLE_TIMEOUT + SLACK, soon: SLACK };
/** Server RSS bound during the attack: the vitest worker itself is ~100 MiB; two 16 MiB messages may be in flight. */
const RSS_BOUND_MB = 300;
const CYCLES = 300;
const HELD = 200;

type Packet = { codec_type: string; size: string; flags: string };
async function packets(file: string): Promise<Packet[]> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'packet=codec_type,size,flags',
    '-of',
    'json',
    file,
  ]).done;
  return (JSON.parse(stdout || '{"packets":[]}') as { packets: Packet[] }).packets;
}

describe.skipIf(!haveTools)('a relay under attack while FFmpeg publishes to an FFmpeg player', () => {
  let h: Harness;
  let dir: string;
  let report: AttackReport;
  let maxRssMb = 0;
  let played: Packet[] = [];
  let source: Packet[] = [];
  let publisherCode: number | null = null;
  let playerCode: number | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rtmp-hostile-'));
    h = await startHarness({
      handshakeTimeout: HANDSHAKE_TIMEOUT,
      idleTimeout: IDLE_TIMEOUT,
      pingInterval: PING_INTERVAL,
      maxConnections: 1000,
    });
    const sampler = setInterval(() => {
      maxRssMb = Math.max(maxRssMb, process.memoryUsage().rss / 2 ** 20);
    }, 50);
    const url = `rtmp://127.0.0.1:${h.port}/live/legit`;
    const out = path.join(dir, 'played.flv');
    const direct = path.join(dir, 'direct.flv');
    // The source: the very same FFmpeg command written to a file instead of the relay.
    const loop = ['-stream_loop', '3'];
    await run('ffmpeg', [
      '-hide_banner',
      '-nostdin',
      '-y',
      ...loop,
      '-i',
      fixture('small_h264_aac.flv'),
      '-c',
      'copy',
      '-f',
      'flv',
      direct,
    ]).done;
    // The attacker process loads first (seconds of tsx on a loaded machine), so that its attack, the live-key
    // intruder included, falls inside the realtime publish (~16 s) rather than after it.
    const attacker = startAttacker({
      port: h.port,
      liveKey: 'legit',
      cycles: CYCLES,
      held: HELD,
      holdMs: 500,
      waitMs: 15_000,
      rounds: 1,
    });
    await attacker.ready;
    const player = ffmpegPlay(url, out, 60_000);
    await until(() => h.relay.stats().some((s) => s.players === 1), 10_000, 'player');
    const publisher = ffmpegPublish(fixture('small_h264_aac.flv'), url, { realtime: true, extra: loop });
    await until(() => h.relay.isLive('live/legit'), 10_000, 'publisher');
    report = await attacker.go();
    publisherCode = (await publisher.done).code;
    playerCode = (await player.done).code;
    played = await packets(out);
    source = await packets(direct);
    await until(() => h.server.sessions.size === 0, 10_000, 'every session closed');
    clearInterval(sampler);
  }, 90_000);

  afterAll(async () => {
    await h?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the legitimate player receives every frame of the source, in order', () => {
    expect(publisherCode).toBe(0);
    expect(playerCode).toBe(0);
    expect(source.length).toBe(1096);
    expect(played.map((p) => [p.codec_type, p.size, p.flags])).toEqual(
      source.map((p) => [p.codec_type, p.size, p.flags]),
    );
  });

  it('every hostile connection is closed by the server within its timeout', () => {
    const late = report.scenarios.filter((s) => !s.closedByServer || s.msToClose > BOUND[s.expect]);
    expect(late.map((s) => `${s.name}: ${s.msToClose} ms`)).toEqual([]);
    expect(report.scenarios.length).toBeGreaterThanOrEqual(30);
  });

  it('every hostile session logs exactly one typed error, the one it closed with', () => {
    const problems: string[] = [];
    for (const s of report.scenarios) {
      const rec = h.session(s.localPort);
      if (!rec) {
        problems.push(`${s.name}: no session`);
        continue;
      }
      const [error, ...more] = rec.errors;
      if (!(error instanceof RtmpError) || more.length > 0 || !RtmpErrorCodes.includes(error.code)) {
        problems.push(
          `${s.name}: errors ${rec.errors.map((e) => e.code).join(',') || 'none'}` +
            ` (disconnect: ${rec.disconnected} ${rec.disconnectError?.code}, client saw close after ${s.msToClose} ms,` +
            ` ${s.bytesReceived} bytes received${s.error ? `, attacker error ${s.error}` : ''})`,
        );
      } else if (rec.disconnectError !== error) {
        problems.push(`${s.name}: closed with ${rec.disconnectError?.code} but logged ${error.code}`);
      }
      if (s.expect === 'handshake' && error?.code !== 'ERR_RTMP_HANDSHAKE_TIMEOUT')
        problems.push(`${s.name}: ${error?.code}`);
    }
    console.table(
      report.scenarios.map((s) => ({
        scenario: s.name,
        msToClose: s.msToClose,
        code: h.session(s.localPort)?.errors[0]?.code,
      })),
    );
    expect(problems).toEqual([]);
    expect(h.unexpected).toEqual([]);
  });

  it('refuses an intruder on the live key with BadName, and pollution never reaches Object.prototype', () => {
    const intruder = report.scenarios.find((s) => s.name === 'publish-live-key');
    expect(intruder?.statusText).toContain('NetStream.Publish.BadName');
    expect(h.session(intruder!.localPort)?.errors[0]?.code).toBe('ERR_RTMP_PUBLISH_REJECTED');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it(`survives ${CYCLES} connect/close cycles and ${HELD} connections held at once`, () => {
    expect(report.cycles).toMatchObject({ done: CYCLES, failed: 0 });
    expect(report.held).toMatchObject({ opened: HELD, connected: HELD, openAtOnce: HELD });
  });

  it(`keeps its RSS under ${RSS_BOUND_MB} MiB and still serves afterwards`, async () => {
    expect(maxRssMb).toBeLessThan(RSS_BOUND_MB);
    console.log(
      `hostile: max RSS ${maxRssMb.toFixed(0)} MiB; cycles ${report.cycles.ms} ms; held ${report.held.ms} ms`,
    );
    const peer = new RawPeer(h.port);
    await peer.handshake();
    peer.connect();
    await until(() => peer.text.includes('NetConnection.Connect.Success'), 5000, 'connect after the attack');
    peer.destroy();
    await sleep(10);
    expect(h.relay.stats()).toEqual([]);
  });
});
