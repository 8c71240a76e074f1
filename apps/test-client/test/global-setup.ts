import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIfStale } from '@rtmp/testing';

/** Builds the CLI when dist/cli.js is missing or older than its sources, so `vitest` alone works. */
export default function setup(): void {
  buildIfStale(path.resolve(fileURLToPath(import.meta.url), '../..'), 'dist/cli.js');
}
