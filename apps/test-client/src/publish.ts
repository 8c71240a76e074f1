import {
  CapsEx,
  CLIENT_CAPABILITIES,
  newPublishFlvStats,
  type PublishFlvStats,
  publishFlv,
  RtmpClient,
  type RtmpPublisher,
  type RtmpReconnectRequest,
} from '@rtmp/client';
import {
  formatBitrate,
  formatClock,
  interruptSignal,
  Progress,
  parseBitrate,
  parseNumber,
  UsageError,
} from './common.js';
import { clientOptions, commonHelp, parse } from './options.js';
import { fileSource, type MediaSource, syntheticSource } from './sources.js';

export const publishHelp = `Usage: rtmp-test-client publish <file | --synthetic> <url> [options]

Publishes an FLV, MP4 or MOV file (told apart by content, not extension) or generated media to an RTMP server.
MP4/MOV: H.264/HEVC/AV1 video and AAC/Opus audio; H.264 and AAC go as legacy FLV, HEVC, AV1 and Opus as Enhanced
RTMP; other tracks are left out (the summary says which).

Options:
  --synthetic             generate media instead of reading a file (see below)
  --realtime              pace tags by their timestamps (default)
  --fast                  send as fast as the server takes them (backpressure honoured)
  --loop                  repeat the file (timestamps keep increasing)
  --duration <s>          stop after this many seconds of media
  --type <live|record|append>  publish type (default live)
  --follow-reconnect      announce E-RTMP reconnect support and follow the server's reconnect requests: at the
                          next keyframe, publish on a new connection (metadata and sequence headers first), then
                          leave the old one
Synthetic media (a valid AVC sequence header and AAC config; frames are filler that does not decode):
  --width <px> --height <px>   default 1280x720
  --fps <n>                    default 30
  --video-bitrate <bps>        e.g. 2500k, 4M (default 2500k)
  --audio-bitrate <bps>        default 128k; 0 for no audio
  --gop <s>                    seconds between keyframes (default 2)
${commonHelp}

A progress line (time, bitrate, frames) is shown on a TTY; a summary is printed at the end.`;

export const syntheticOptions = {
  synthetic: { type: 'boolean' },
  width: { type: 'string' },
  height: { type: 'string' },
  fps: { type: 'string' },
  'video-bitrate': { type: 'string' },
  'audio-bitrate': { type: 'string' },
  gop: { type: 'string' },
} as const;

/** The synthetic source from its flags. */
export function syntheticFrom(values: Record<string, unknown>): MediaSource {
  const audio = values['audio-bitrate'] as string | undefined;
  return syntheticSource({
    width: parseNumber(values.width as string | undefined, 'width', 1280),
    height: parseNumber(values.height as string | undefined, 'height', 720),
    fps: parseNumber(values.fps as string | undefined, 'fps', 30),
    videoBitrate: parseBitrate((values['video-bitrate'] as string | undefined) ?? '2500k', 'video-bitrate'),
    audioBitrate: audio === '0' ? 0 : parseBitrate(audio ?? '128k', 'audio-bitrate'),
    gop: parseNumber(values.gop as string | undefined, 'gop', 2),
  });
}

/**
 * The media to publish: the FLV/MP4/MOV `file` (unreadable, or a format it is not: a usage error), or the synthetic
 * source from its flags.
 */
export async function sourceFrom(
  file: string | undefined,
  values: Record<string, unknown>,
): Promise<MediaSource> {
  if (file === undefined) return syntheticFrom(values);
  return fileSource(file).catch((error: Error) => {
    throw new UsageError(`cannot read ${file}: ${error.message}`);
  });
}

/** `publish`: returns the process exit code (errors are thrown and mapped by the caller). */
export async function publishCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...syntheticOptions,
    realtime: { type: 'boolean' },
    fast: { type: 'boolean' },
    loop: { type: 'boolean' },
    duration: { type: 'string' },
    type: { type: 'string' },
    'follow-reconnect': { type: 'boolean' },
  });
  if (values.help) {
    console.log(publishHelp);
    return 0;
  }
  const expected = values.synthetic ? 1 : 2;
  if (positionals.length !== expected) {
    throw new UsageError(values.synthetic ? 'expected <url> after --synthetic' : 'expected <file> <url>');
  }
  if (values.fast && values.realtime) throw new UsageError('--fast and --realtime exclude each other');
  const url = positionals[expected - 1]!;
  const type = (values.type ?? 'live') as 'live' | 'record' | 'append';
  if (!['live', 'record', 'append'].includes(type))
    throw new UsageError(`--type must be live, record or append`);
  const durationMs =
    values.duration === undefined
      ? Number.POSITIVE_INFINITY
      : parseNumber(values.duration, 'duration', 0) * 1000;
  const source = await sourceFrom(values.synthetic ? undefined : positionals[0]!, values);
  const follow = values['follow-reconnect'] === true;
  const options = clientOptions(url, values);
  // Reconnect, on top of what the client announces anyway (multitrack, ModEx, nano offsets).
  if (follow) options.capsEx = CLIENT_CAPABILITIES.capsEx | CapsEx.Reconnect;
  let client = new RtmpClient(options);
  const interrupt = interruptSignal();
  // Reconnect requests heard and not yet followed (the latest wins), and the URLs moved to.
  let request: RtmpReconnectRequest | undefined;
  const moves: string[] = [];
  // followReconnect carries this listener over to each new client.
  if (follow) client.on('reconnectRequest', (r) => (request = r));
  let publisher: RtmpPublisher | undefined;
  // At a keyframe: follow the latest request heard. followReconnect sends the new server the metadata and sequence
  // headers this publisher sent.
  const switchAt = async (current: RtmpPublisher): Promise<RtmpPublisher | undefined> => {
    if (request === undefined) return undefined;
    const target = `${request.tcUrl}/${current.name}`;
    try {
      const moved = await client.followReconnect(request, current, { signal: interrupt.signal });
      request = undefined;
      progress.note(`reconnect requested: moved to ${target}`);
      client = moved.client;
      publisher = moved.publisher;
      moves.push(target);
      return moved.publisher;
    } catch (error) {
      // The old connection still works: stay on it, say why.
      request = undefined;
      progress.note(`reconnect to ${target} failed, staying: ${(error as Error).message}`);
      return undefined;
    }
  };
  const progress = new Progress(!values.json);
  for (const note of source.notes ?? []) progress.note(note);
  const stats: PublishFlvStats = newPublishFlvStats();
  let timer: NodeJS.Timeout | undefined;
  try {
    const connected = await client.connect({ signal: interrupt.signal });
    publisher = await client.publish({ type, signal: interrupt.signal });
    timer = setInterval(() => {
      const elapsed = performance.now() - stats.startedAt;
      progress.update(
        `${formatClock(elapsed)}  ${formatBitrate((stats.bytes * 8 * 1000) / Math.max(1, elapsed))}  video ${stats.videoFrames}  audio ${stats.audioFrames}`,
      );
    }, 500);
    await publishFlv(publisher, source.tags(values.loop === true), {
      realtime: !values.fast,
      duration: durationMs,
      signal: interrupt.signal,
      stats,
      ...(follow ? { switchAt } : {}),
    });
    clearInterval(timer);
    progress.done();
    const elapsedMs = performance.now() - stats.startedAt;
    await client.close();
    const summary = {
      ok: true,
      command: 'publish',
      url,
      stream: publisher.name,
      source: source.description,
      handshake: connected.handshakeKind,
      interrupted: interrupt.signal.aborted,
      elapsedMs: Math.round(elapsedMs),
      mediaMs: stats.mediaMs,
      videoFrames: stats.videoFrames,
      audioFrames: stats.audioFrames,
      keyframes: stats.keyframes,
      bytes: stats.bytes,
      bitrate: Math.round((stats.bytes * 8 * 1000) / Math.max(1, elapsedMs)),
      ...(follow ? { reconnects: moves } : {}),
    };
    if (values.json) console.log(JSON.stringify(summary));
    else {
      console.log(
        `published ${summary.stream} (${summary.source}, ${summary.handshake} handshake): ${formatClock(summary.elapsedMs)}, ` +
          `${summary.videoFrames} video + ${summary.audioFrames} audio frames (${summary.keyframes} keyframes), ` +
          `${summary.bytes} bytes, ${formatBitrate(summary.bitrate)}`,
      );
    }
    return 0;
  } finally {
    clearInterval(timer);
    progress.done();
    interrupt.dispose();
    client.destroy();
    source.close?.();
  }
}
