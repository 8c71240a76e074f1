import { defineConfig } from 'vitest/config';

// Real-peer tests spawn nginx and FFmpeg and stream in real time: several seconds per test is normal.
export default defineConfig({ test: { testTimeout: 30_000, hookTimeout: 30_000 } });
