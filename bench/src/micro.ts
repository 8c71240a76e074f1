import { run } from '@rtmp/testing';
/** The per-package micro benchmarks (each prints its own table beside node-media-server's figures). */
export const MICRO_PACKAGES = ['@rtmp/amf', '@rtmp/chunk', '@rtmp/flv-demux', '@rtmp/handshake'] as const;

/** Output of one package's `bench` script. */
export interface MicroResult {
  pkg: string;
  ok: boolean;
  output: string;
  seconds: number;
}

/** Runs `pnpm --filter <pkg> bench` and keeps what it printed (stdout, then stderr). */
export async function runMicro(pkg: string, timeoutMs = 300_000): Promise<MicroResult> {
  const started = Date.now();
  const result = await run('pnpm', ['--silent', '--filter', pkg, 'bench'], timeoutMs).done;
  return {
    pkg,
    ok: result.code === 0,
    output: (result.stdout + result.stderr).trimEnd(),
    seconds: (Date.now() - started) / 1000,
  };
}
