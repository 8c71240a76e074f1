import { defineConfig } from 'vitest/config';

// Real-peer tests spawn nginx and FFmpeg; under a parallel run several seconds per test is normal.
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 30_000 } });
