import { RtmpClientError } from '@rtmp/client';
import { watchDeadline } from '@rtmp/connection';
import type { AudioCodecEvent, VideoCodecEvent } from '@rtmp/flv-demux';

/** Exit codes scripts can rely on. */
export const ExitCode = {
  /** Everything worked. */
  Ok: 0,
  /** A runtime or connection error (refused, reset, protocol error, disconnect). */
  Runtime: 1,
  /** Bad command line. */
  Usage: 2,
  /** The server rejected connect, publish or play (its status code is printed). */
  Rejected: 3,
  /** A step timed out, or probe saw no media in time. */
  Timeout: 4,
} as const;

/** A usage error: printed with the command's help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The exit code for an error thrown by a command. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return ExitCode.Usage;
  if (error instanceof RtmpClientError) {
    switch (error.code) {
      case 'ERR_RTMP_CONNECT_REJECTED':
      case 'ERR_RTMP_PUBLISH_REJECTED':
      case 'ERR_RTMP_PLAY_REJECTED':
      case 'ERR_RTMP_CREATE_STREAM_FAILED':
        return ExitCode.Rejected;
      case 'ERR_RTMP_TIMEOUT':
        return ExitCode.Timeout;
      case 'ERR_RTMP_INVALID_URL':
      case 'ERR_RTMP_INVALID_OPTION':
        return ExitCode.Usage;
      default:
        return ExitCode.Runtime;
    }
  }
  return ExitCode.Runtime;
}

/** The JSON shape of an error (`--json`). */
export function errorJson(error: unknown): Record<string, unknown> {
  if (error instanceof RtmpClientError) {
    return {
      code: error.code,
      step: error.step,
      message: error.message,
      ...(error.status ? { status: error.status } : {}),
    };
  }
  return {
    code: error instanceof UsageError ? 'USAGE' : 'ERROR',
    message: error instanceof Error ? error.message : String(error),
  };
}

/** Parses `1500k`, `2M`, `128000` into bits per second. */
export function parseBitrate(text: string, name: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  if (!match) throw new UsageError(`--${name}: not a bitrate: ${text}`);
  const scale = match[2] === '' ? 1 : match[2]!.toLowerCase() === 'k' ? 1_000 : 1_000_000;
  const value = Math.round(Number(match[1]) * scale);
  if (value <= 0) throw new UsageError(`--${name} must be positive`);
  return value;
}

/** Parses a positive (or non-negative) number option. */
export function parseNumber(
  text: string | undefined,
  name: string,
  fallback: number,
  allowZero = false,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new UsageError(
      `--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${text}`,
    );
  }
  return value;
}

/** `1234567` bits/s as `1.23 Mbit/s`. */
export function formatBitrate(bps: number): string {
  if (!Number.isFinite(bps)) return '-';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbit/s`;
  return `${(bps / 1e3).toFixed(1)} kbit/s`;
}

/** `65432` ms as `00:01:05`. */
export function formatClock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

/** Waits `ms`, or less when `signal` aborts (it resolves then, it does not reject). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0) resolve();
    else watchDeadline({ timeout: ms, signal }, () => resolve());
  });
}

/** An AbortSignal fired by SIGINT/SIGTERM (a second signal exits at once). */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(ExitCode.Runtime);
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** A one-line progress display on a TTY (stderr), silent otherwise. */
export class Progress {
  readonly #enabled: boolean;
  #last = '';
  constructor(enabled: boolean) {
    this.#enabled = enabled && process.stderr.isTTY === true;
  }
  update(line: string): void {
    if (!this.#enabled) return;
    const padded = line.padEnd(this.#last.length);
    this.#last = line;
    process.stderr.write(`\r${padded}`);
  }
  done(): void {
    if (this.#enabled && this.#last !== '') process.stderr.write('\n');
    this.#last = '';
  }
  /** A line on stderr that stays (TTY or not), above the progress line. */
  note(line: string): void {
    this.done();
    process.stderr.write(`${line}\n`);
  }
}

/** What play and probe report about a codec (JSON output and text). */
export interface CodecSummary {
  type: 'video' | 'audio';
  codec: string;
  codecString: string;
  width?: number;
  height?: number;
  profile?: number;
  level?: number;
  sampleRate?: number;
  channels?: number;
}

/** The summary of a codec event; fields the codec does not have are left out (not `undefined`) of the JSON. */
export function summarizeCodec(event: VideoCodecEvent | AudioCodecEvent): CodecSummary {
  const i = event.info;
  return {
    type: event.mediaType,
    codec: event.codec,
    codecString: i.codecString,
    ...(i.width === undefined ? {} : { width: i.width }),
    ...(i.height === undefined ? {} : { height: i.height }),
    ...(i.profile === undefined ? {} : { profile: i.profile }),
    ...(i.level === undefined ? {} : { level: i.level }),
    ...(i.sampleRate === undefined ? {} : { sampleRate: i.sampleRate }),
    ...(i.channels === undefined ? {} : { channels: i.channels }),
  };
}

/** `320x240` for video, `44100 Hz, 2 ch` for audio (`?` for what is unknown). */
export function codecDetail(c: CodecSummary): string {
  return c.type === 'video'
    ? `${c.width ?? '?'}x${c.height ?? '?'}`
    : `${c.sampleRate ?? '?'} Hz, ${c.channels ?? '?'} ch`;
}
