// Mutation fuzzing of the handshake, chunk, AMF and flv-demux decoders and of a whole server session, seeded from
// the real captures in fixtures/captures. Run from packages/server:
//
//   node --import tsx bench/fuzz.ts                 # >= 1,000,000 cases, random seed (printed)
//   node --import tsx bench/fuzz.ts --seed 42       # reproduce a run
//   node --import tsx bench/fuzz.ts --scale 0.1     # a tenth of the cases
//   node --import tsx bench/fuzz.ts --only session  # one target
//
// Exits 1 on the first case that throws anything but the package's typed error (fast-check prints the shrunk
// counterexample and the seed/path to replay it). The CI slice is test/hostile/hostile-fuzz.test.ts.
import { fuzz, loadSeeds, TARGETS, type TargetName } from '../test/hostile/fuzz-core.js';

const PLAN: Record<TargetName, number> = {
  handshake: 150_000,
  chunk: 200_000,
  amf0: 200_000,
  amf3: 150_000,
  'flv-tags': 150_000,
  'flv-reader': 100_000,
  session: 60_000,
};
const BATCH = 10_000;

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const seed = Number(arg('seed') ?? Math.floor(Math.random() * 2 ** 31));
const scale = Number(arg('scale') ?? 1);
const only = arg('only');
const seeds = loadSeeds();
let total = 0;
let maxRss = 0;
const started = Date.now();
console.log(`fuzz: seed ${seed}, scale ${scale}`);
for (const target of TARGETS) {
  if (only && only !== target) continue;
  const runs = Math.round(PLAN[target] * scale);
  const t0 = Date.now();
  for (let done = 0, batch = 0; done < runs; done += BATCH, batch++) {
    const n = Math.min(BATCH, runs - done);
    try {
      await fuzz(seeds, target, n, seed + batch);
    } catch (error) {
      console.error(
        `\nFAILED: ${target}, batch seed ${seed + batch}\n${String((error as Error).stack ?? error)}`,
      );
      process.exit(1);
    }
    total += n;
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
  }
  const ms = Date.now() - t0;
  console.log(
    `${target.padEnd(11)} ${String(runs).padStart(8)} cases  ${String(ms).padStart(7)} ms  ${Math.round(
      (runs * 1000) / Math.max(1, ms),
    )
      .toString()
      .padStart(7)} cases/s  max RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB`,
  );
}
console.log(
  `fuzz: ${total} cases, 0 failures, ${((Date.now() - started) / 1000).toFixed(1)} s, max RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB (seed ${seed})`,
);
