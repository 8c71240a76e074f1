import { defineConfig } from 'vitest/config';

// FFmpeg-driven and property tests run for seconds each, longer when the machine is busy.
export default defineConfig({ test: { testTimeout: 60_000 } });
