import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const sources = (name: string) => fileURLToPath(new URL(`../${name}/src/index.ts`, import.meta.url));

// @rtmp/server and @rtmp/client resolve to their sources, as each package's own tests import them: a change in either
// is tested here without a rebuild, and the helpers shared with those packages' tests (recording handler, relay
// harness, media helpers) see the same classes as these tests. tsconfig.json maps the same names for the type-check.
// Real-peer tests spawn FFmpeg and GStreamer and stream in real time: several seconds per test is normal.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@rtmp\/server$/, replacement: sources('server') },
      { find: /^@rtmp\/client$/, replacement: sources('client') },
    ],
  },
  test: { testTimeout: 30_000, hookTimeout: 30_000 },
});
