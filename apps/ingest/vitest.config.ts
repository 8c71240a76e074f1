import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    // These tests wait on real time (FFmpeg -re publishes, players, browsers), not on the CPU: two files at once
    // instead of one (vitest's default on a 2-core machine) takes the app's suite from ~4.5 to under 3 minutes.
    // Three were faster still, but a loaded machine then started processes late enough to miss short live streams.
    maxWorkers: 2,
    hookTimeout: 60_000,
  },
});
