/**
 * Preloaded into a server process (`node --require bench/src/profile-preload.cjs ...`) by src/profile-ingest.ts:
 * the first SIGUSR2 starts the V8 CPU profiler in-process, the next one stops it and writes
 * `$RTMP_BENCH_PROFILE_DIR/<pid>-<n>.cpuprofile`. So a profile covers the steady state only, after warm-up ingests,
 * not start-up and compilation (what `node --cpu-prof` would include).
 */
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.RTMP_BENCH_PROFILE_DIR ?? '.';
let session;
let written = 0;
process.on('SIGUSR2', () => {
  if (session === undefined) {
    session = new inspector.Session();
    session.connect();
    session.post('Profiler.enable', () =>
      session.post('Profiler.setSamplingInterval', { interval: 250 }, () => session.post('Profiler.start')),
    );
    // RTMP_BENCH_HEAP_PROFILE=1: also the sampling heap profiler, counting what GC collected (allocation sites).
    if (process.env.RTMP_BENCH_HEAP_PROFILE) {
      session.post('HeapProfiler.startSampling', {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    }
    return;
  }
  const current = session;
  session = undefined;
  if (process.env.RTMP_BENCH_HEAP_PROFILE) {
    current.post('HeapProfiler.stopSampling', (error, result) => {
      if (error) return;
      const file = path.join(dir, `${process.pid}-${written + 1}.heapprofile`);
      fs.writeFileSync(file, JSON.stringify(result.profile));
    });
  }
  current.post('Profiler.stop', (error, result) => {
    if (error) {
      process.stderr.write(`profile-preload: ${error.message}\n`);
    } else {
      const file = path.join(dir, `${process.pid}-${++written}.cpuprofile`);
      fs.writeFileSync(file, JSON.stringify(result.profile));
      process.stderr.write(`profile-preload: wrote ${file}\n`);
    }
    current.disconnect();
  });
});
