/**
 * Publishing throughput of @rtmp/client beside FFmpeg, both sending the same FLV (looped) as fast as nginx-rtmp
 * takes it, plus a load run of the test-client CLI when it is built.
 *
 *   pnpm --filter @rtmp/client bench          (node --import tsx bench/publish.ts)
 *
 * Env: BENCH_LOOPS (default 40 passes of the 4 s fixture), BENCH_RUNS (default 3, the best run is kept).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlvReader, type FlvTag } from '@rtmp/flv-demux';
import { ffmpegPublish, fixture, hasNginxRtmp, startNginxRtmp } from '@rtmp/testing';
import { type FlvTagInput, publishFlv, RtmpClient } from '../src/index.js';

const loops = Number(process.env.BENCH_LOOPS ?? 40);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const file = fixture('small_h264_aac.flv');
const fileBytes = statSync(file).size;

function tags(): FlvTag[] {
  const reader = new FlvReader();
  const out = reader.push(readFileSync(file));
  reader.end();
  return out;
}

/** The fixture `loops` times, timestamps continuing; its metadata once, at the start. */
function* looped(all: readonly FlvTag[]): Generator<FlvTagInput> {
  const last = all.reduce((m, t) => Math.max(m, t.timestamp), 0) + 40;
  for (let loop = 0; loop < loops; loop++) {
    for (const tag of all) {
      if (tag.type === 18) {
        if (loop === 0) yield { type: 18, timestamp: 0, body: tag.body };
      } else yield { type: tag.type, timestamp: tag.timestamp + loop * last, body: tag.body };
    }
  }
}

async function ours(url: string): Promise<{ ms: number; cpuMs: number; bytes: number }> {
  const all = tags();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const client = new RtmpClient({ url });
  await client.connect();
  const publisher = await client.publish();
  // As fast as nginx takes it, every write waiting for the socket when it is full.
  const result = await publishFlv(publisher, looped(all), { realtime: false });
  await client.close();
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000, bytes: result.bytes };
}

async function ffmpeg(url: string): Promise<{ ms: number }> {
  const start = performance.now();
  const result = await ffmpegPublish(file, url, {
    extra: ['-stream_loop', String(loops - 1)],
    timeoutMs: 300_000,
  }).done;
  if (result.code !== 0) throw new Error(result.stderr);
  return { ms: performance.now() - start };
}

function mbps(bytes: number, ms: number): string {
  return `${((bytes * 8) / 1000 / ms).toFixed(1)} Mbit/s`;
}

if (!hasNginxRtmp() || spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).error) {
  console.error('nginx-rtmp and ffmpeg are needed for this benchmark');
  process.exit(1);
}
const nginx = await startNginxRtmp();
try {
  const media = loops * fileBytes;
  let best: Awaited<ReturnType<typeof ours>> | undefined;
  let bestFfmpeg: { ms: number } | undefined;
  for (let i = 0; i < runs; i++) {
    const a = await ours(`${nginx.url}/ours${i}`);
    if (!best || a.ms < best.ms) best = a;
    const b = await ffmpeg(`${nginx.url}/ffmpeg${i}`);
    if (!bestFfmpeg || b.ms < bestFfmpeg.ms) bestFfmpeg = b;
  }
  console.log(
    `publish ${loops} x small_h264_aac.flv (${(media / 1e6).toFixed(1)} MB, ${loops * 4} s of media) to nginx-rtmp, as fast as possible, best of ${runs}`,
  );
  console.log('| publisher | wall time | throughput | CPU (this process) |');
  console.log('| --- | --- | --- | --- |');
  console.log(
    `| @rtmp/client | ${best!.ms.toFixed(0)} ms | ${mbps(media, best!.ms)} | ${best!.cpuMs.toFixed(0)} ms |`,
  );
  console.log(
    `| ffmpeg -c copy -f flv | ${bestFfmpeg!.ms.toFixed(0)} ms | ${mbps(media, bestFfmpeg!.ms)} | (separate process, includes its start-up) |`,
  );

  const cli = path.resolve(fileURLToPath(import.meta.url), '../../../../apps/test-client/dist/cli.js');
  if (existsSync(cli)) {
    const result = spawnSync(
      process.execPath,
      [cli, 'load', `${nginx.url}/load`, '--publishers', '4', '--players', '40', '--duration', '5', '--json'],
      { encoding: 'utf8' },
    );
    const r = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}');
    console.log(
      '\nrtmp-test-client load against nginx-rtmp: 4 publishers x 2.6 Mbit/s synthetic, 40 players, 5 s',
    );
    console.log(
      `delivered ${r.delivered?.frames}/${r.delivered?.expectedFrames} frames (${(r.delivered?.bitrate / 1e6).toFixed(1)} Mbit/s), ` +
        `latency p50 ${r.latencyMs?.p50} ms, p90 ${r.latencyMs?.p90} ms, p99 ${r.latencyMs?.p99} ms`,
    );
  }
} finally {
  await nginx.stop();
}
