import { createWriteStream, type WriteStream } from 'node:fs';
import { RtmpClient, type RtmpPlayerEvents } from '@rtmp/client';
import { FlvWriter } from '@rtmp/flv-demux';
import {
  type CodecSummary,
  codecDetail,
  formatBitrate,
  formatClock,
  interruptSignal,
  Progress,
  parseNumber,
  sleep,
  summarizeCodec,
  UsageError,
} from './common.js';
import { clientOptions, commonHelp, parse } from './options.js';

export const playHelp = `Usage: rtmp-test-client play <url> [-o out.flv] [--duration s] [options]

Plays a stream: records it to an FLV file (playable by ffplay) or discards it, and prints the codecs, bitrate,
frame rate and timestamp gaps.

Options:
  -o, --output <file.flv>   record to this file (default: discard)
  --duration <s>            stop after this many seconds (default: until the stream ends)
  --start <ms>              play start: -2000 live or recorded (default), -1000 live only, >= 0 recorded
  --gap <ms>                a jump between consecutive video (or audio) timestamps above this is a gap (default 500)
${commonHelp}`;

const ON_METADATA = Uint8Array.of(0x02, 0x00, 0x0a, ...new TextEncoder().encode('onMetaData'));

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.byteLength < prefix.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Per-track timing: frames, first/last timestamp, gaps. */
class Track {
  frames = 0;
  bytes = 0;
  first = -1;
  last = -1;
  gaps: { at: number; ms: number }[] = [];
  constructor(readonly gapMs: number) {}
  add(timestamp: number, bytes: number): void {
    this.frames++;
    this.bytes += bytes;
    if (this.first < 0) this.first = timestamp;
    else if (timestamp - this.last > this.gapMs || timestamp < this.last)
      this.gaps.push({ at: timestamp, ms: timestamp - this.last });
    this.last = timestamp;
  }
  get durationMs(): number {
    return this.first < 0 ? 0 : this.last - this.first;
  }
}

/** `play`: returns the process exit code. */
export async function playCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    output: { type: 'string', short: 'o' },
    duration: { type: 'string' },
    start: { type: 'string' },
    gap: { type: 'string' },
  });
  if (values.help) {
    console.log(playHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('expected <url>');
  const url = positionals[0]!;
  const durationMs = values.duration === undefined ? 0 : parseNumber(values.duration, 'duration', 0) * 1000;
  const start = values.start === undefined ? -2000 : Number(values.start);
  if (!Number.isFinite(start)) throw new UsageError('--start must be a number');
  const gapMs = parseNumber(values.gap, 'gap', 500);
  const client = new RtmpClient(clientOptions(url, values));
  const interrupt = interruptSignal();
  const progress = new Progress(!values.json);
  let file: WriteStream | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const connected = await client.connect({ signal: interrupt.signal });
    const player = await client.play({ start, signal: interrupt.signal });
    const began = performance.now();
    const video = new Track(gapMs);
    const audio = new Track(gapMs);
    const codecs: CodecSummary[] = [];
    let metadata: Record<string, unknown> | undefined;
    if (values.output) {
      file = createWriteStream(values.output);
      file.on('error', () => {});
    }
    const writer = new FlvWriter({ audio: true, video: true });
    const record = (message: RtmpPlayerEvents['message'][0]) => {
      if (!file) return;
      if (message.type === 18 && !startsWith(message.payload, ON_METADATA)) return;
      if (message.type !== 8 && message.type !== 9 && message.type !== 18) return;
      for (const piece of writer.tag(message.type, message.timestamp, message.payload)) file.write(piece);
    };
    player.on('message', record);
    player.on('metadata', (m) => {
      metadata ??= m;
    });
    player.on('codec', (c) => {
      codecs.push(summarizeCodec(c));
    });
    player.on('video', (v) =>
      video.add(
        v.dts,
        Array.isArray(v.payload)
          ? v.payload.reduce((n, p) => n + p.byteLength, 0)
          : (v.payload as Uint8Array).byteLength,
      ),
    );
    player.on('audio', (a) => audio.add(a.timestamp, a.payload.byteLength));
    timer = setInterval(() => {
      const elapsed = performance.now() - began;
      progress.update(
        `${formatClock(elapsed)}  ${formatBitrate((player.bytesReceived * 8 * 1000) / Math.max(1, elapsed))}  video ${video.frames}  audio ${audio.frames}`,
      );
    }, 500);
    // Ends at end of stream, after --duration, on Ctrl-C, or with the disconnect's error.
    const ended = new Promise<void>((resolve, reject) => {
      player.once('end', () => resolve());
      player.once('close', (error) => (error ? reject(error) : resolve()));
    });
    const stop = new AbortController();
    const waits: Promise<void>[] = [
      ended,
      new Promise<void>((resolve) =>
        interrupt.signal.addEventListener('abort', () => resolve(), { once: true }),
      ),
    ];
    if (durationMs > 0) waits.push(sleep(durationMs, stop.signal));
    try {
      await Promise.race(waits);
    } finally {
      stop.abort();
    }
    clearInterval(timer);
    progress.done();
    const elapsedMs = performance.now() - began;
    const endReason = player.endReason;
    await client.close();
    if (file) {
      const f = file;
      await new Promise<void>((resolve) => f.end(() => resolve()));
    }
    const fps = video.durationMs > 0 ? ((video.frames - 1) * 1000) / video.durationMs : 0;
    const summary = {
      ok: true,
      command: 'play',
      url,
      stream: player.name,
      handshake: connected.handshakeKind,
      output: values.output ?? null,
      endReason:
        endReason?.code ?? (interrupt.signal.aborted ? 'interrupted' : durationMs > 0 ? 'duration' : null),
      elapsedMs: Math.round(elapsedMs),
      metadata: metadata ?? null,
      codecs,
      videoFrames: video.frames,
      audioFrames: audio.frames,
      bytes: player.bytesReceived,
      bitrate: Math.round((player.bytesReceived * 8 * 1000) / Math.max(1, elapsedMs)),
      fps: Math.round(fps * 100) / 100,
      mediaMs: Math.max(video.durationMs, audio.durationMs),
      gaps: {
        video: video.gaps.slice(0, 100),
        audio: audio.gaps.slice(0, 100),
        count: video.gaps.length + audio.gaps.length,
      },
    };
    if (values.json) console.log(JSON.stringify(summary));
    else {
      console.log(
        `played ${summary.stream} (${summary.handshake} handshake) for ${formatClock(summary.elapsedMs)}, end: ${summary.endReason ?? '-'}`,
      );
      for (const c of codecs) {
        console.log(`  ${c.type}: ${c.codec} (${c.codecString}) ${codecDetail(c)}`);
      }
      console.log(
        `  ${summary.videoFrames} video frames (${summary.fps} fps), ${summary.audioFrames} audio frames, ${summary.bytes} bytes, ${formatBitrate(summary.bitrate)}`,
      );
      console.log(
        `  gaps over ${gapMs} ms: ${summary.gaps.count}${summary.gaps.count > 0 ? ` (first at ${(video.gaps[0] ?? audio.gaps[0])?.at} ms)` : ''}`,
      );
      if (values.output) console.log(`  recorded to ${values.output}`);
    }
    return 0;
  } finally {
    clearInterval(timer);
    progress.done();
    interrupt.dispose();
    client.destroy();
    file?.destroy();
  }
}
