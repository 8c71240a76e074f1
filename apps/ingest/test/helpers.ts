import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, probePackets, readOracle, sleep } from '@rtmp/testing';
import { expect } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

/** apps/ingest. */
export const APP_DIR = resolve(here, '..');

/** The built CLI, as a user runs it. */
export const CLI = resolve(APP_DIR, 'dist/cli.js');

/** A running instance of the built app. */
export interface RunningApp {
  proc: ChildProcess;
  rtmpPort: number;
  httpPort: number;
  /** `rtmp://127.0.0.1:<port>/live`. */
  url: string;
  /** JSON log lines seen so far. */
  logs: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  api: () => Promise<{ streams: Record<string, unknown>[] }>;
  stop: () => Promise<void>;
}

/**
 * Starts `node dist/cli.js` as a user would, on free ports (or the given ones, to restart an app where it was), and
 * waits until /healthz answers. `env` is added to this process's environment, `nodeArgs` go before the script (`node
 * <nodeArgs> dist/cli.js`).
 */
export async function startApp(
  extra: string[] = [],
  options: { rtmpPort?: number; httpPort?: number; env?: Record<string, string>; nodeArgs?: string[] } = {},
): Promise<RunningApp> {
  const rtmpPort = options.rtmpPort ?? (await freePort());
  const httpPort = options.httpPort ?? (await freePort());
  const proc = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      CLI,
      ...['--port', String(rtmpPort), '--http-port', String(httpPort), '--host', '127.0.0.1', ...extra],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  const logs: Record<string, unknown>[] = [];
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    // 'close', not 'exit': by then stdout is read to its end, so `logs` holds every line the app wrote.
    proc.once('close', (code, signal) => res({ code, signal })),
  );
  const base = `http://127.0.0.1:${httpPort}`;
  let done = false;
  void exited.then(() => {
    done = true;
  });
  for (let i = 0; ; i++) {
    if (done) throw new Error(`app exited early: ${err}\n${JSON.stringify(logs)}`);
    try {
      if ((await fetch(`${base}/healthz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (i > 200) throw new Error('app did not start');
    await sleep(50);
  }
  return {
    proc,
    rtmpPort,
    httpPort,
    url: `rtmp://127.0.0.1:${rtmpPort}/live`,
    logs,
    stderr: () => err,
    exited,
    api: async () =>
      (await (await fetch(`${base}/api/streams`)).json()) as { streams: Record<string, unknown>[] },
    stop: async () => {
      if (!done) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** The packets of an FLV file against the fixture's oracle: every one, with its size, timestamps and keyframe flag. */
export async function expectEveryPacket(file: string): Promise<void> {
  const rows = (packets: { type: string; size: number; dts: number; pts: number; keyframe: boolean }[]) => ({
    video: packets
      .filter((p) => p.type === 'video')
      .map(({ size, dts, pts, keyframe }) => ({ size, dts, pts, keyframe })),
    audio: packets.filter((p) => p.type === 'audio').map(({ size, dts }) => ({ size, dts })),
  });
  const got = (await probePackets(file)).map((p) => ({
    type: p.codec_type,
    size: p.size,
    dts: p.dts,
    pts: p.pts,
    keyframe: p.flags.startsWith('K'),
  }));
  expect(rows(got)).toEqual(rows(readOracle('small_h264_aac.packets.csv')));
}
