import { setFlagsFromString } from 'node:v8';

/**
 * What the `rtmp-ingest` command tells V8 before anything else loads, and why (BENCHMARKS.md, issue 18). An ingest
 * server copies every payload out of its read buffer; the copies are external memory (ArrayBuffer backing stores)
 * that V8 frees only when a collection finds them dead. Each setting is skipped when the user gave a flag of its
 * own (on the command line or in NODE_OPTIONS): theirs wins.
 */
export interface GcTuning {
  /**
   * The young generation stays at V8's initial 1 MB per semi-space (`--semi-space-growth-factor=1`, the equivalent
   * of `node --max-semi-space-size=1`). Node grows it to 8-16 MB per semi-space when start-up allocates a lot
   * (pino, prom-client): scavenges then come rarely, tens of MB of payload copies wait for them, and malloc's heap
   * grows and is trimmed again (page faults). `--max-semi-space-size` is read once, at start; the growth factor
   * whenever V8 would grow the space, so setting it before the first growth works.
   */
  youngGenerationCapped: boolean;
  /**
   * Mark-compacts are scheduled with room for a scavenge's worth of payload copies (`--heap-growing-percent=200`,
   * `--no-memory-reducer`). V8 counts external memory allocated since the last mark-compact (current minus the
   * lowest seen since) against the old generation's limit, and starts incremental marking once the old generation
   * holds more than 8 MB, which the app's does (the bare server's does not). Between two scavenges a publisher at
   * full speed adds about 10 MB of payload copies that the scavenge then frees: a swing that the default slack of a
   * small heap (limit = live + 8 MB, 2 MB after an idle-time memory-reducer collection) does not hold, so every
   * swing started a mark-compact, and the next one too. In interleaved ingests with idle gaps every default process
   * fell into that cycle (2-9 mark-compacts per 115.6 MB ingest, about twice the CPU); with these two flags none did
   * past its first ingest. Incremental and concurrent marking stay on, so full collections keep their short pauses.
   */
  markingRoomForPayloads: boolean;
}

/** Node/V8 flags that size the young generation: one of them given means the user sized it. */
const YOUNG_GENERATION_FLAG =
  /(^|\s)--(max|min)[-_]semi[-_]space[-_]size\b|(^|\s)--semi[-_]space[-_]growth[-_]factor\b/;

/** Node/V8 flags that schedule mark-compacts: one of them given means the user chose. */
const MARKING_FLAG =
  /(^|\s)--(no[-_])?memory[-_]reducer\b|(^|\s)--heap[-_]growing[-_]percent\b|(^|\s)--(no[-_])?incremental[-_]marking\b/;

/** Which of the settings of {@link GcTuning} apply, given the process's `execArgv` and `NODE_OPTIONS`. */
export function plannedGcTuning(execArgv: readonly string[], nodeOptions: string): GcTuning {
  const given = `${execArgv.join(' ')} ${nodeOptions}`;
  return {
    youngGenerationCapped: !YOUNG_GENERATION_FLAG.test(given),
    markingRoomForPayloads: !MARKING_FLAG.test(given),
  };
}

/** What {@link tuneGarbageCollector} applied in this process (all false until it ran). */
export let appliedGcTuning: GcTuning = { youngGenerationCapped: false, markingRoomForPayloads: false };

/**
 * Applies {@link GcTuning}'s settings that the user did not set otherwise. cli.ts calls it before it loads anything
 * else; an application that embeds `runIngest` tunes its own process.
 */
export function tuneGarbageCollector(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): GcTuning {
  const plan = plannedGcTuning(execArgv, nodeOptions);
  if (plan.youngGenerationCapped) setFlagsFromString('--semi-space-growth-factor=1');
  if (plan.markingRoomForPayloads) {
    setFlagsFromString('--heap-growing-percent=200');
    setFlagsFromString('--no-memory-reducer');
  }
  appliedGcTuning = plan;
  return plan;
}
