import { defineConfig } from 'vitest/config';

// Real-peer tests spawn FFmpeg/rtmpdump; under a parallel run a few seconds per test is normal.
export default defineConfig({ test: { testTimeout: 20_000, hookTimeout: 20_000 } });
