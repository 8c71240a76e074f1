import { setFlagsFromString } from 'node:v8';

/**
 * Node/V8 flags that size the young generation: when the user gave one of them (on the command line or in
 * NODE_OPTIONS), the CLI leaves the sizing alone.
 */
const YOUNG_GENERATION_FLAG =
  /(^|\s)--(max|min)[-_]semi[-_]space[-_]size\b|(^|\s)--semi[-_]space[-_]growth[-_]factor\b/;

/**
 * Whether the CLI should keep V8's young generation at its initial size: yes unless `execArgv` or `nodeOptions`
 * size it already.
 */
export function shouldCapYoungGeneration(execArgv: readonly string[], nodeOptions: string): boolean {
  return !YOUNG_GENERATION_FLAG.test(execArgv.join(' ')) && !YOUNG_GENERATION_FLAG.test(nodeOptions);
}

/**
 * Keeps the young generation at V8's initial size (1 MB per semi-space on 64-bit), the equivalent of `node
 * --max-semi-space-size=1`, unless the user sized it. Why: an ingest server copies every payload out of its read
 * buffer, and those copies (external memory) are freed only when a scavenge finds them dead. Node grows the young
 * generation up to 16 MB per semi-space when start-up allocates a lot (pino, prom-client), so scavenges come rarely,
 * tens of MB of payload copies wait for them, malloc's heap grows and is trimmed again (page faults, system time),
 * and external-memory pressure runs mark-compacts instead: under FFmpeg `-c copy` at full speed, 6-30 MB of RSS
 * and, in some runs, 25-50 % of the app's CPU per GB (BENCHMARKS.md, issue 18). `--max-semi-space-size` cannot be
 * changed at run time (the heap reads it once, at start), but V8 reads the growth factor whenever it would grow the
 * space, so setting that works as long as it happens before the first growth: cli.ts calls this before it loads
 * anything else.
 */
export function capYoungGeneration(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): boolean {
  if (!shouldCapYoungGeneration(execArgv, nodeOptions)) return false;
  setFlagsFromString('--semi-space-growth-factor=1');
  return true;
}
