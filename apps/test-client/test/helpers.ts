import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
// @rtmp/server is not a dependency of this app (see README): its built output is imported by path.
import { LiveRelay, type RtmpHandler, RtmpServer } from '@rtmp/server';
import { run } from '@rtmp/testing';

export const CLI = path.resolve(fileURLToPath(import.meta.url), '../../dist/cli.js');

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
export async function cli(args: string[], timeoutMs = 30_000): Promise<CliResult> {
  const { code, stdout, stderr } = await run(process.execPath, [CLI, ...args], timeoutMs).done;
  let json: Json = {};
  try {
    json = JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
  } catch {
    // Not JSON output.
  }
  return { code, stdout, stderr, json };
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
