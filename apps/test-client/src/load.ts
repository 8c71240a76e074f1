import {
  newPublishFlvStats,
  type PublishFlvStats,
  publishFlv,
  RtmpClient,
  type RtmpPlayer,
} from '@rtmp/client';
import { percentile } from '@rtmp/testing/stats';
import {
  ExitCode,
  errorJson,
  exitCodeOf,
  formatBitrate,
  interruptSignal,
  parseNumber,
  sleep,
  UsageError,
} from './common.js';
import { clientOptions, commonHelp, parse } from './options.js';
import { sourceFrom, syntheticOptions } from './publish.js';
import { isConfigTag } from './sources.js';

export const loadHelp = `Usage: rtmp-test-client load <url> --publishers N --players M --duration s [options]

Drives many connections from one process: N publishers on keys <name>-0 .. <name>-(N-1) (or <name> when N = 1),
M players spread round-robin over those keys. Players start first, then publishers send in real time. Prints
throughput, frames delivered vs expected (sent x players of that key), drops, and publish-to-play latency
percentiles, measured on one clock: each publisher records (key, timestamp) -> send time, each player looks it up
on receipt. Players count bytes and frames only (no demuxing).

Options:
  --publishers <N>      default 1
  --players <M>         default 1
  --duration <s>        seconds of publishing (default 10)
  --file <file>         publish this FLV, MP4 or MOV file in a loop instead of synthetic media
  --ramp <ms>           delay between connection starts (default 0)
  --settle <ms>         time after the last frame for deliveries to arrive (default 1000)
  --synthetic options of publish (--width, --height, --fps, --video-bitrate, --audio-bitrate, --gop) apply.
${commonHelp}`;

/** Send times of one key: timestamp -> performance.now(), pruned as it ages. */
class SendTimes {
  readonly times = new Map<number, number>();
  prune(olderThan: number): void {
    for (const [ts, at] of this.times) {
      if (at >= olderThan) break;
      this.times.delete(ts);
    }
  }
}

/** `load`: returns the process exit code. */
export async function loadCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...syntheticOptions,
    publishers: { type: 'string' },
    players: { type: 'string' },
    duration: { type: 'string' },
    file: { type: 'string' },
    ramp: { type: 'string' },
    settle: { type: 'string' },
  });
  if (values.help) {
    console.log(loadHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('expected <url>');
  const url = positionals[0]!;
  const publishers = Math.floor(parseNumber(values.publishers, 'publishers', 1));
  const players = Math.floor(parseNumber(values.players, 'players', 1, true));
  const durationMs = parseNumber(values.duration, 'duration', 10) * 1000;
  const rampMs = parseNumber(values.ramp, 'ramp', 0, true);
  const settleMs = parseNumber(values.settle, 'settle', 1000, true);
  const source = await sourceFrom(values.file, values);
  const base = clientOptions(url, values);
  const probe = new RtmpClient(base);
  const baseName = probe.target.streamName || 'load';
  const query = baseName.includes('?') ? baseName.slice(baseName.indexOf('?')) : '';
  const bare = query ? baseName.slice(0, baseName.indexOf('?')) : baseName;
  const keys = Array.from({ length: publishers }, (_, i) =>
    publishers === 1 ? baseName : `${bare}-${i}${query}`,
  );
  const sendTimes = keys.map(() => new SendTimes());
  const interrupt = interruptSignal();
  const clients: RtmpClient[] = [];
  const errors: Record<string, unknown>[] = [];
  let worstExit: number = ExitCode.Ok;
  const fail = (role: string, error: unknown) => {
    if (errors.length < 50) errors.push({ role, ...errorJson(error) });
    const code = exitCodeOf(error);
    if (worstExit === ExitCode.Ok || code === ExitCode.Rejected) worstExit = code;
  };

  // Latencies are kept as a growing Float64Array: millions of samples without boxing.
  let latencies = new Float64Array(1 << 16);
  let latencyCount = 0;
  const addLatency = (ms: number) => {
    if (latencyCount === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[latencyCount++] = ms;
  };
  const delivered = { frames: 0, bytes: 0, video: 0, audio: 0 };
  const playersPerKey = keys.map(() => 0);
  const connectTimes: number[] = [];
  const startedAt = performance.now();

  try {
    // Players first, so they see every frame the publishers send.
    const playerStarts: Promise<RtmpPlayer | undefined>[] = [];
    for (let i = 0; i < players; i++) {
      const keyIndex = i % publishers;
      const key = keys[keyIndex]!;
      const times = sendTimes[keyIndex]!.times;
      playerStarts.push(
        (async () => {
          if (rampMs > 0) await sleep(rampMs * i, interrupt.signal);
          const client = new RtmpClient({ ...base, streamName: key });
          clients.push(client);
          try {
            const t0 = performance.now();
            await client.connect({ signal: interrupt.signal });
            connectTimes.push(performance.now() - t0);
            const player = await client.play({ demux: false, signal: interrupt.signal });
            playersPerKey[keyIndex]!++;
            player.on('message', (message) => {
              if (message.type !== 8 && message.type !== 9) return;
              if (isConfigTag(message.type, message.payload)) return;
              delivered.frames++;
              delivered.bytes += message.payload.byteLength;
              if (message.type === 9) {
                delivered.video++;
                const sent = times.get(message.timestamp);
                if (sent !== undefined) addLatency(performance.now() - sent);
              } else delivered.audio++;
            });
            player.on('close', (error) => {
              if (error && !interrupt.signal.aborted) fail('player', error);
            });
            return player;
          } catch (error) {
            fail('player', error);
            return undefined;
          }
        })(),
      );
    }
    await Promise.all(playerStarts);

    const stats: PublishFlvStats[] = [];
    const pruner = setInterval(() => {
      const horizon = performance.now() - 30_000;
      for (const s of sendTimes) s.prune(horizon);
    }, 5_000);
    const publishing = keys.map(async (key, index) => {
      if (rampMs > 0) await sleep(rampMs * index, interrupt.signal);
      const client = new RtmpClient({ ...base, streamName: key });
      clients.push(client);
      const times = sendTimes[index]!.times;
      const s: PublishFlvStats = newPublishFlvStats();
      stats.push(s);
      try {
        const t0 = performance.now();
        await client.connect({ signal: interrupt.signal });
        connectTimes.push(performance.now() - t0);
        const publisher = await client.publish({ signal: interrupt.signal });
        await publishFlv(publisher, source.tags(true), {
          duration: durationMs,
          signal: interrupt.signal,
          stats: s,
          onTag: (tag, role) => {
            if (tag.type === 9 && (role === 'keyframe' || role === 'frame')) {
              times.set(tag.timestamp, performance.now());
            }
          },
        });
      } catch (error) {
        fail('publisher', error);
      }
    });
    const publishStart = performance.now();
    await Promise.all(publishing);
    const publishMs = performance.now() - publishStart;
    await sleep(settleMs, interrupt.signal);
    clearInterval(pruner);

    const sent = stats.reduce(
      (acc, s) => ({
        video: acc.video + s.videoFrames,
        audio: acc.audio + s.audioFrames,
        bytes: acc.bytes + s.bytes,
      }),
      { video: 0, audio: 0, bytes: 0 },
    );
    let expected = 0;
    stats.forEach((s, i) => {
      expected += (s.videoFrames + s.audioFrames) * (playersPerKey[i] ?? 0);
    });
    const sorted = latencies.subarray(0, latencyCount).sort();
    const round = (n: number) => (Number.isFinite(n) ? Math.round(n * 100) / 100 : null);
    const sortedConnect = Float64Array.from(connectTimes).sort();
    const summary = {
      ok: errors.length === 0,
      command: 'load',
      url,
      publishers,
      players,
      playersConnected: playersPerKey.reduce((a, b) => a + b, 0),
      durationMs: Math.round(publishMs),
      source: source.description,
      sent: {
        videoFrames: sent.video,
        audioFrames: sent.audio,
        bytes: sent.bytes,
        bitrate: Math.round((sent.bytes * 8 * 1000) / Math.max(1, publishMs)),
      },
      delivered: {
        frames: delivered.frames,
        videoFrames: delivered.video,
        audioFrames: delivered.audio,
        bytes: delivered.bytes,
        bitrate: Math.round((delivered.bytes * 8 * 1000) / Math.max(1, publishMs)),
        expectedFrames: expected,
      },
      drops: Math.max(0, expected - delivered.frames),
      dropRate: expected > 0 ? round(Math.max(0, expected - delivered.frames) / expected) : 0,
      latencyMs: {
        samples: latencyCount,
        p50: round(percentile(sorted, 50)),
        p90: round(percentile(sorted, 90)),
        p99: round(percentile(sorted, 99)),
        max: round(sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN),
      },
      connectMs: { p50: round(percentile(sortedConnect, 50)), p99: round(percentile(sortedConnect, 99)) },
      wallMs: Math.round(performance.now() - startedAt),
      errors,
    };
    if (values.json) console.log(JSON.stringify(summary));
    else {
      console.log(
        `load ${url}: ${publishers} publishers, ${summary.playersConnected}/${players} players, ${(publishMs / 1000).toFixed(1)} s`,
      );
      console.log(
        `  sent:      ${sent.video} video + ${sent.audio} audio frames, ${formatBitrate(summary.sent.bitrate)}`,
      );
      console.log(
        `  delivered: ${delivered.frames} of ${expected} frames, ${formatBitrate(summary.delivered.bitrate)}, drops ${summary.drops} (${((summary.dropRate ?? 0) * 100).toFixed(2)}%)`,
      );
      const l = summary.latencyMs;
      console.log(
        `  latency:   p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms, max ${l.max} ms (${l.samples} samples)`,
      );
      console.log(`  connect:   p50 ${summary.connectMs.p50} ms, p99 ${summary.connectMs.p99} ms`);
      for (const e of errors.slice(0, 5))
        console.log(`  error (${String(e.role)}): ${String(e.code)} ${String(e.message)}`);
    }
    return worstExit;
  } finally {
    interrupt.dispose();
    await Promise.all(clients.map((c) => c.close({ timeout: 2_000 }).catch(() => {})));
    source.close?.();
  }
}
