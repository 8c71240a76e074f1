import { defineConfig } from 'vitest/config';

// CLI tests spawn the built CLI (built on demand by the global setup) and stream in real time.
export default defineConfig({
  test: { testTimeout: 40_000, hookTimeout: 60_000, globalSetup: ['./test/global-setup.ts'] },
});
