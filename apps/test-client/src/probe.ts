import { RtmpClient } from '@rtmp/client';
import {
  type CodecSummary,
  codecDetail,
  ExitCode,
  interruptSignal,
  parseNumber,
  sleep,
  summarizeCodec,
  UsageError,
} from './common.js';
import { enhancedLines, enhancedSummary } from './enhanced.js';
import { clientOptions, commonHelp, parse } from './options.js';

export const probeHelp = `Usage: rtmp-test-client probe <url> [--wait s] [options]

Connects, plays briefly and prints the server's connect reply, the handshake kind, the Enhanced RTMP capabilities the
server states (capsEx, FourCC info maps, fourCcList) and the capsEx bits both sides announced, the stream's metadata,
its codecs with their RFC 6381 strings, and the resolution. Exit code 4 when no codec was seen within --wait.

Options:
  --wait <s>    how long to wait for both codecs (default 5)
${commonHelp}`;

/** `probe`: returns the process exit code. */
export async function probeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { wait: { type: 'string' } });
  if (values.help) {
    console.log(probeHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('expected <url>');
  const url = positionals[0]!;
  const waitMs = parseNumber(values.wait, 'wait', 5) * 1000;
  const client = new RtmpClient(clientOptions(url, values));
  const interrupt = interruptSignal();
  try {
    const began = performance.now();
    const connected = await client.connect({ signal: interrupt.signal });
    const connectMs = performance.now() - began;
    const player = await client.play({ signal: interrupt.signal });
    const codecs: CodecSummary[] = [];
    let metadata: Record<string, unknown> | undefined;
    let firstMediaMs: number | undefined;
    const done = new AbortController();
    const check = () => {
      const video = codecs.some((c) => c.type === 'video');
      const audio = codecs.some((c) => c.type === 'audio');
      // Both codecs known, or metadata says a track is absent and the other is known.
      const wantsVideo = metadata === undefined || 'videocodecid' in metadata || 'width' in metadata;
      const wantsAudio = metadata === undefined || 'audiocodecid' in metadata;
      if ((video || !wantsVideo) && (audio || !wantsAudio) && (video || audio)) done.abort();
    };
    player.on('metadata', (m) => {
      metadata ??= m;
      check();
    });
    player.on('message', () => {
      firstMediaMs ??= performance.now() - began;
    });
    player.on('codec', (c) => {
      codecs.push(summarizeCodec(c));
      check();
    });
    player.once('end', () => done.abort());
    player.once('close', () => done.abort());
    interrupt.signal.addEventListener('abort', () => done.abort(), { once: true });
    await sleep(waitMs, done.signal);
    const video = codecs.find((c) => c.type === 'video');
    const summary = {
      ok: codecs.length > 0,
      command: 'probe',
      url,
      stream: player.name,
      handshake: connected.handshakeKind,
      server: connected.properties,
      connectStatus: connected.status,
      enhancedRtmp: enhancedSummary(connected.enhancedRtmp),
      connectMs: Math.round(connectMs),
      firstMediaMs: firstMediaMs === undefined ? null : Math.round(firstMediaMs),
      metadata: metadata ?? null,
      codecs,
      resolution:
        video?.width !== undefined && video.height !== undefined ? `${video.width}x${video.height}` : null,
      endReason: player.endReason?.code ?? null,
    };
    await client.close();
    if (values.json) console.log(JSON.stringify(summary));
    else {
      console.log(`${url}`);
      console.log(
        `  handshake: ${summary.handshake}, connect: ${summary.connectStatus.code} in ${summary.connectMs} ms`,
      );
      const server = summary.server as Record<string, unknown> | null;
      if (server && typeof server === 'object' && 'fmsVer' in server)
        console.log(`  server: ${String(server.fmsVer)}`);
      for (const line of enhancedLines(connected.enhancedRtmp)) console.log(line);
      if (metadata) {
        console.log('  metadata:');
        for (const [key, value] of Object.entries(metadata))
          console.log(`    ${key}: ${JSON.stringify(value)}`);
      }
      for (const c of codecs) {
        console.log(`  ${c.type}: ${c.codecString} (${c.codec}) ${codecDetail(c)}`);
      }
      if (summary.resolution) console.log(`  resolution: ${summary.resolution}`);
      if (codecs.length === 0) console.log(`  no media within ${waitMs / 1000} s`);
    }
    return codecs.length > 0 ? ExitCode.Ok : ExitCode.Timeout;
  } finally {
    interrupt.dispose();
    client.destroy();
  }
}
