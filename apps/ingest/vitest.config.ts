import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    // These tests wait on real time (FFmpeg -re publishes, players, browsers), not on the CPU: three files at once
    // instead of one (vitest's default on a 2-core machine) takes the app's suite from ~4.5 to ~2 minutes.
    maxWorkers: 3,
    hookTimeout: 60_000,
  },
});
