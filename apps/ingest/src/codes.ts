/**
 * Stable codes the app itself reports (in logs and as `code` labels of `rtmp_errors_total`). Protocol-layer codes
 * (`ERR_RTMP_*`...) come from the packages and are documented there.
 */
export const INGEST_CODES = [
  'ERR_INGEST_CONFIG',
  'ERR_INGEST_RECORD_OPEN',
  'ERR_INGEST_RECORD_WRITE',
  'ERR_INGEST_HTTP_MAX_CONNECTIONS',
  'STREAM_NO_KEYFRAME',
  'STREAM_TIMESTAMP_BACKWARDS',
  'STREAM_HUGE_GOP',
] as const;

/** One of {@link INGEST_CODES}. */
export type IngestCode = (typeof INGEST_CODES)[number];
