import { spawn } from 'node:child_process';

/** The per-package micro benchmarks (each prints its own table beside node-media-server's figures). */
export const MICRO_PACKAGES = ['@rtmp/amf', '@rtmp/chunk', '@rtmp/flv-demux', '@rtmp/handshake'] as const;

/** Output of one package's `bench` script. */
export interface MicroResult {
  pkg: string;
  ok: boolean;
  output: string;
  seconds: number;
}

/** Runs `pnpm --filter <pkg> bench` and keeps what it printed (pnpm's own banner lines removed). */
export function runMicro(pkg: string, timeoutMs = 300_000): Promise<MicroResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('pnpm', ['--silent', '--filter', pkg, 'bench'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      resolve({ pkg, ok, output: output.trimEnd(), seconds: (Date.now() - started) / 1000 });
    };
    child.once('error', () => finish(false));
    child.once('exit', (code) => finish(code === 0));
  });
}
