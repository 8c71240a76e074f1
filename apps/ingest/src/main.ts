import type { IngestConfig } from './config.js';

/** Starts the ingest server and installs the signal handlers (placeholder until @rtmp/server lands). */
export async function runIngest(_config: IngestConfig): Promise<void> {
  throw new Error('not wired yet');
}
