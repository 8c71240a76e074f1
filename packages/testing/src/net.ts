import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as net from 'node:net';

/** Ports this process handed out: never handed out twice. */
const handedOut = new Set<number>();
/**
 * Below Linux's ephemeral range (32768-60999): the kernel never picks these as the local port of an outgoing
 * connection (FFmpeg's, a player's), which could otherwise take a port between its check here and the server's bind.
 */
const PORT_RANGE = { from: 20_000, to: 32_767 } as const;

function bindable(port: number): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(0));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A TCP port free right now on 127.0.0.1 (bound, then released for the caller's server to take): a random one below
 * the ephemeral range, never one this process handed out before (two calls in a row must not return the same port,
 * which listening on port 0 twice can).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from + 1));
    if (handedOut.has(candidate)) continue;
    if ((await bindable(candidate)) === candidate) {
      handedOut.add(candidate);
      return candidate;
    }
  }
  for (;;) {
    const port = await bindable(0);
    if (port !== 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/**
 * Resolves once something accepts TCP connections on 127.0.0.1:`port`, retrying every 50 ms. Rejects after
 * `timeoutMs`, or as soon as `alive` says the process meant to listen there has gone (a child process counts as
 * alive while it has neither an exit code nor a signal).
 */
export function waitForPort(
  port: number,
  timeoutMs: number,
  alive: ChildProcess | (() => boolean) = () => true,
): Promise<void> {
  const isAlive =
    typeof alive === 'function' ? alive : () => alive.exitCode === null && alive.signalCode === null;
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (!isAlive()) {
        reject(new Error(`process exited before listening on ${port}`));
        return;
      }
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** A server process that {@link superviseServer} saw listening. */
export interface ServerProcess {
  /** The process doing the work (measured by benchmarks). */
  pid: number;
  port: number;
  /** `rtmp://127.0.0.1:<port>/live`. */
  url: string;
  /** SIGTERM, SIGKILL after 3 s, waits for the exit, removes `dir`. Idempotent. */
  stop(): Promise<void>;
  /** What the process printed so far, plus `extraLog()` (for failure messages). */
  log(): string;
}

/**
 * Collects a spawned server's output and waits until it listens on `port`. When it does not (exit or timeout) the
 * process is killed, `dir` removed, and the error carries the log.
 */
export async function superviseServer(
  child: ChildProcess,
  options: { port: number; name: string; dir?: string; timeoutMs?: number; extraLog?: () => string },
): Promise<ServerProcess> {
  const { port, name, dir } = options;
  let output = '';
  const collect = (d: Buffer): void => {
    output += d.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = (): string => output + (options.extraLog?.() ?? '');
  const cleanup = (): void => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, options.timeoutMs ?? 15_000, child);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    const text = log();
    cleanup();
    throw new Error(`${name}: ${(error as Error).message}\n${text}`);
  }
  if (child.pid === undefined) throw new Error(`${name}: no pid`);
  let stopped: Promise<void> | undefined;
  return {
    pid: child.pid,
    port,
    url: `rtmp://127.0.0.1:${port}/live`,
    log,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
          await exited;
          clearTimeout(timer);
        }
        cleanup();
      })();
      return stopped;
    },
  };
}

/**
 * A TCP proxy in front of 127.0.0.1:`targetPort` that can "cut the network": after {@link CuttableProxy.cut} it
 * stops forwarding in both directions and closes neither side, as when a cable is pulled (no FIN, no RST), so each
 * end must find out by its own timeouts. {@link CuttableProxy.close} tears everything down.
 */
export class CuttableProxy {
  readonly server: net.Server;
  readonly sockets = new Set<net.Socket>();
  #cut = false;
  /** The listening port, once {@link CuttableProxy.listen} resolved. */
  port = 0;

  constructor(targetPort: number) {
    this.server = net.createServer((down) => {
      const up = net.connect(targetPort, '127.0.0.1');
      for (const s of [down, up]) {
        s.on('error', () => {});
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
      }
      down.on('data', (d) => {
        if (!this.#cut) up.write(d);
      });
      up.on('data', (d) => {
        if (!this.#cut) down.write(d);
      });
      // While cut, a close on one side is not propagated: the other side must find out by itself.
      down.on('close', () => {
        if (!this.#cut) up.destroy();
      });
      up.on('close', () => {
        if (!this.#cut) down.destroy();
      });
    });
  }

  /** Listens on a free port of 127.0.0.1 and returns it. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Stops forwarding for good, leaving every socket open. */
  cut(): void {
    this.#cut = true;
  }

  /** Destroys every socket and closes the listener. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * {@link CuttableProxy}, listening, in the shape the server tests use: `freeze()` cuts, `close()` does not wait.
 */
export async function freezableProxy(
  target: number,
): Promise<{ port: number; freeze(): void; close(): void }> {
  const proxy = new CuttableProxy(target);
  const port = await proxy.listen();
  return {
    port,
    freeze: () => proxy.cut(),
    close: () => {
      void proxy.close();
    },
  };
}
