import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hasFfmpegEncoder, MEDIA_FILES, makeMediaFile, run } from '@rtmp/testing';
import { expect, it } from 'vitest';

const usable = MEDIA_FILES['big-h264-aac.mp4'].encoders.every(hasFfmpegEncoder);
const script = fileURLToPath(new URL('./scripts/read-peak.ts', import.meta.url));

it.skipIf(!usable)(
  'streams a file: memory holding file bytes stays near the read cache, not the file size',
  async () => {
    const file = await makeMediaFile('big-h264-aac.mp4');
    const size = statSync(file).size;
    expect(size).toBeGreaterThan(80 << 20);
    const cache = 4 << 20;
    const result = await run(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', script, file, String(cache)],
      120_000,
    ).done;
    expect(result.code, result.stderr).toBe(0);
    const { tags, bytes, peak } = JSON.parse(result.stdout) as { tags: number; bytes: number; peak: number };
    expect(tags).toBeGreaterThan(700);
    expect(bytes).toBeGreaterThan(size * 0.95);
    // The read cache plus a constant (the sample and tag being built, read buffers): measured 9 MB over the cache at
    // 1 to 16 MiB of cache with these 350 KB frames, whatever the file's size.
    expect(peak).toBeLessThan(cache + (12 << 20));
    expect(peak).toBeLessThan(size / 4);
  },
);
