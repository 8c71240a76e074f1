import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
// @rtmp/server is not a dependency of this app (see README): its built output is imported by path.
import { LiveRelay, type RtmpHandler, RtmpServer } from '@rtmp/server';

export const CLI = path.resolve(fileURLToPath(import.meta.url), '../../dist/cli.js');

/** The shared fixtures folder: $RTMP_FIXTURES, or `shared/fixtures` beside the repository root. */
export const FIXTURES =
  process.env.RTMP_FIXTURES ?? path.resolve(fileURLToPath(import.meta.url), '../../../../../shared/fixtures');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** Parsed JSON output: any shape. */
type Json = ReturnType<typeof JSON.parse>;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (with --json). */
  json: Json;
}

/** Runs the built CLI; resolves when it exits (killed after `timeoutMs`). */
export function cli(args: string[], timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      let json: Json = {};
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        json = JSON.parse(last);
      } catch {
        // Not JSON output.
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

/** Our RtmpServer + LiveRelay on 127.0.0.1:<free port>. */
export async function startServer(
  inner?: () => RtmpHandler,
): Promise<{ server: RtmpServer; port: number; url: string }> {
  const relay = new LiveRelay();
  const server = new RtmpServer({
    host: '127.0.0.1',
    port: 0,
    handler: relay.handler(inner ? () => inner() : undefined),
  });
  const port = await server.start();
  return { server, port, url: `rtmp://127.0.0.1:${port}/live` };
}
