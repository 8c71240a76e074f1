import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { watchDeadline } from '@rtmp/connection';
import type { FromProbes, ToProbes } from './probe-protocol.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const READY_TIMEOUT = 30_000;

/** What the probe process reports at the end of a window. */
export interface ProbeReport {
  players: { id: number; bytes: number; closedEarly: boolean }[];
  cpuPercent: number;
}

/**
 * The harness side of the latency probe process (probe-process.ts): joins probe players there and turns their
 * receipt samples into latencies against the publisher's send times (`sentAt`, same CLOCK_MONOTONIC clock).
 */
export class ProbeProcess {
  /** Milliseconds from the publisher's write to a probe's receipt, per video message in the window. */
  readonly latencies: number[] = [];
  #next = 0;
  readonly #pending = new Map<number, { resolve(): void; reject(error: Error): void }>();
  #report: ((report: ProbeReport) => void) | undefined;
  readonly #exited: Promise<unknown>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly sentAt: ReadonlyMap<number, number>,
  ) {
    this.#exited = once(child, 'exit');
    child.on('message', (message: FromProbes) => this.#onMessage(message));
    child.once('exit', () => {
      for (const p of this.#pending.values()) p.reject(new Error('probe process exited'));
      this.#pending.clear();
    });
  }

  /** Forks the probe process (with the harness's own `--import tsx`) and waits until it is ready. */
  static async start(sentAt: ReadonlyMap<number, number>): Promise<ProbeProcess> {
    const child = fork(path.join(here, 'probe-process.ts'), [], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const probes = new ProbeProcess(child, sentAt);
    const ready = new Promise<void>((resolve, reject) => {
      const deadline = watchDeadline({ timeout: READY_TIMEOUT }, () =>
        reject(new Error('probe process not ready')),
      );
      child.on('message', (m: FromProbes) => {
        if (m.type === 'ready') {
          deadline.clear();
          resolve();
        }
      });
      child.once('exit', (code) => {
        deadline.clear();
        reject(new Error(`probe process exited ${code}`));
      });
    });
    try {
      await ready;
    } catch (error) {
      await probes.stop();
      throw error;
    }
    return probes;
  }

  #send(message: ToProbes): void {
    if (this.child.connected) this.child.send(message);
  }

  #onMessage(message: FromProbes): void {
    switch (message.type) {
      case 'joined':
        this.#pending.get(message.id)?.resolve();
        this.#pending.delete(message.id);
        break;
      case 'failed':
        this.#pending.get(message.id)?.reject(new Error(message.error));
        this.#pending.delete(message.id);
        break;
      case 'samples': {
        // Matched on arrival (within ~250 ms of receipt), while `sentAt` still holds this lap's send of the key.
        const s = message.samples;
        for (let i = 0; i + 1 < s.length; i += 2) {
          const sent = this.sentAt.get(s[i] as number);
          if (sent !== undefined && !Number.isNaN(sent)) this.latencies.push((s[i + 1] as number) - sent);
        }
        break;
      }
      case 'report':
        this.#report?.(message);
        this.#report = undefined;
        break;
    }
  }

  /** Joins one probe player; resolves on its NetStream.Play.Start. Returns its id in the report. */
  join(url: URL, stream: string): Promise<number> {
    const id = this.#next++;
    return new Promise<number>((resolve, reject) => {
      this.#pending.set(id, { resolve: () => resolve(id), reject });
      this.#send({ type: 'join', id, url: url.href, stream });
    });
  }

  /** Starts the window: probes count bytes and send samples. */
  startCounting(): void {
    this.#send({ type: 'counting', on: true });
  }

  /** Ends the window; resolves once the last samples are matched, with the probes' bytes. */
  stopCounting(): Promise<ProbeReport> {
    return new Promise<ProbeReport>((resolve, reject) => {
      const deadline = watchDeadline({ timeout: READY_TIMEOUT }, () =>
        reject(new Error('probe process did not report')),
      );
      this.#report = (report) => {
        deadline.clear();
        resolve(report);
      };
      this.#send({ type: 'counting', on: false });
    });
  }

  /** Stops the probes and waits for the process to exit (killed if it lingers). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.#send({ type: 'stop' });
    const lingering = watchDeadline({ timeout: 3_000 }, () => this.child.kill('SIGKILL'));
    await this.#exited;
    lingering.clear();
  }
}
