import { defineConfig } from 'vitest/config';

// Pure tests take milliseconds, property tests a few seconds; vitest's 5 s default timed one out on a loaded
// 2-core machine (its imports alone took 50 s there), so allow for a slow CI runner.
export default defineConfig({ test: { testTimeout: 30_000 } });
