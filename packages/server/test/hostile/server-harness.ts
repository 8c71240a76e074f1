// An in-process relay server that records, per remote port, every sessionError and the disconnect of each session.
// The fault tests of packages/e2e (publisher deaths, slow players, timestamps, driven by @rtmp/client) use it too.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LiveRelay,
  RtmpError,
  type RtmpHandlerFactory,
  RtmpServer,
  type RtmpServerOptions,
} from '../../src/index.js';
import { ATTACKER_READY, type AttackConfig, type AttackReport } from './attacker.js';

export interface SessionRecord {
  remotePort: number;
  errors: RtmpError[];
  disconnected: boolean;
  disconnectError: RtmpError | undefined;
  openedAt: number;
  closedAt: number;
}

export interface Harness {
  server: RtmpServer;
  relay: LiveRelay;
  port: number;
  /** Every session by remote port, oldest first (ephemeral ports are reused during floods). */
  sessions: Map<number, SessionRecord[]>;
  /** The first session seen from `port`. */
  session(port: number): SessionRecord | undefined;
  /** Errors from listeners or anything else that should never happen. */
  unexpected: unknown[];
  stop(): Promise<void>;
}

export async function startHarness(
  options: Partial<RtmpServerOptions> = {},
  relayOptions: ConstructorParameters<typeof LiveRelay>[0] = {},
  inner?: RtmpHandlerFactory,
): Promise<Harness> {
  const relay = new LiveRelay(relayOptions);
  const server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: relay.handler(inner), ...options });
  const sessions = new Map<number, SessionRecord[]>();
  // The live record of a port is the last one; a finished one stays in the list for the assertions.
  const current = (port: number) => sessions.get(port)?.at(-1);
  const unexpected: unknown[] = [];
  const portOf = (remote: string) => Number(remote.slice(remote.lastIndexOf(':') + 1));
  server.on('connection', (session) => {
    const port = portOf(session.remote);
    const list = sessions.get(port) ?? [];
    sessions.set(port, list);
    list.push({
      remotePort: port,
      errors: [],
      disconnected: false,
      disconnectError: undefined,
      openedAt: Date.now(),
      closedAt: 0,
    });
  });
  server.on('sessionError', (session, error) => {
    const rec = current(portOf(session.remote));
    if (rec) rec.errors.push(error);
    if (!(error instanceof RtmpError)) unexpected.push(error);
  });
  server.on('disconnect', (session, stats) => {
    const rec = current(portOf(session.remote));
    if (!rec) return;
    if (rec.disconnected) unexpected.push(new Error(`double disconnect of ${session.remote}`));
    rec.disconnected = true;
    rec.disconnectError = stats.error;
    rec.closedAt = Date.now();
  });
  server.on('error', (e) => unexpected.push(e));
  const port = await server.start();
  return {
    server,
    relay,
    port,
    sessions,
    session: (p) => sessions.get(p)?.[0],
    unexpected,
    stop: () => server.stop(),
  };
}

const here = path.dirname(fileURLToPath(import.meta.url));
export const PACKAGE_DIR = path.resolve(here, '../..');

/** The attacker's child process, started and loaded, waiting for {@link StartedAttacker.go}. */
export interface StartedAttacker {
  /** Resolves once the child has loaded its modules and waits; rejects if it exited first. */
  ready: Promise<void>;
  /** Lets the attack begin and resolves with its report. */
  go(): Promise<AttackReport>;
}

/**
 * Starts the attacker in its own Node process. It loads (tsx takes seconds on a loaded machine), says it is ready,
 * and attacks only on {@link StartedAttacker.go}, so that a test can start a realtime publish after the load and
 * the attack then falls inside the publish rather than after it.
 */
export function startAttacker(config: AttackConfig, timeoutMs = 120_000): StartedAttacker {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(here, 'attacker.ts'), JSON.stringify({ ...config, waitForGo: true })],
    {
      cwd: PACKAGE_DIR,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  let onReady: (() => void) | undefined;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith(`${ATTACKER_READY}\n`)) onReady?.();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const report = new Promise<AttackReport>((resolve, reject) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{'))
        reject(new Error(`attacker exited ${code}: ${err.slice(-2000)}`));
      else resolve(JSON.parse(line) as AttackReport);
    });
  });
  return {
    ready: Promise.race([
      ready,
      report.then(() => Promise.reject(new Error('attacker exited before ready'))),
    ]),
    go: () => {
      child.stdin.end('go\n');
      return report;
    },
  };
}

/** Runs the attacker in its own Node process and resolves with its report. */
export async function runAttacker(config: AttackConfig, timeoutMs = 120_000): Promise<AttackReport> {
  const attacker = startAttacker(config, timeoutMs);
  await attacker.ready;
  return attacker.go();
}
