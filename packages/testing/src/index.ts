/**
 * Shared tooling of the RTMP stack's tests and benchmarks (private, never built: consumers load the TypeScript).
 * It depends on no `@rtmp/*` package, so every package can use it without a dependency cycle.
 */
export { concat, fromHex, sameBytes, splitAt, toHex } from './bytes.js';
export {
  allCaptures,
  type CaptureRecord,
  chunkReads,
  directionBytes,
  directionReads,
  HANDSHAKE_BYTES,
  readCapture,
} from './captures.js';
export { CHROMIUM, CHROMIUM_ARGS, hasChromium, launchChromium, type RunningChromium } from './chromium.js';
export { distBuilds, internalMarkers } from './dist.js';
export {
  type FrameCount,
  type OraclePacket,
  oracleVideoRow,
  type ProbedPacket,
  type ProbedStream,
  probe,
  probeFrames,
  probeMediaPackets,
  probePackets,
  readOracle,
  type VideoPacketRow,
  videoSampleRow,
} from './ffprobe.js';
export { FIXTURES, fixture, readCsv, readFixture } from './fixtures.js';
export { parseFlvTags, type RawFlvTag, readFlvFile } from './flv.js';
export {
  MEDIA_FILES,
  type MediaFileName,
  makeMediaFile,
  probeTimedPackets,
  relativePackets,
  type TimedPacket,
} from './media-files.js';
export {
  CuttableProxy,
  freePort,
  freezableProxy,
  type ServerProcess,
  superviseServer,
  waitForPort,
} from './net.js';
export {
  hasNginxRtmp,
  type NginxRtmp,
  type NginxRtmpOptions,
  rtmpModulePath,
  startNginxRtmp,
} from './nginx.js';
export { installPacked, type PackedInstall, type TypeCheckOptions } from './pack.js';
export { clkTck, cpuSeconds, memory } from './proc.js';
export {
  type ReadmeBlock,
  type ReadmeErrorRow,
  readmeErrorRows,
  readmeTypeErrors,
  typescriptBlocks,
} from './readme.js';
export { hasRedis, type RunningRedis, startRedis } from './redis.js';
export { percentile } from './stats.js';
export { type SelfSignedCert, selfSignedCert } from './tls.js';
export {
  buildIfStale,
  ffmpegPlay,
  ffmpegPublish,
  ffmpegTestPatternArgs,
  gstreamerPlay,
  gstreamerRemux,
  hasFfmpegEncoder,
  hasGstreamerRtmp,
  hasTool,
  missing,
  openFds,
  type Running,
  type RunResult,
  rtmp2srcExpected,
  run,
  toolAvailable,
} from './tools.js';
export { next, sleep, until, waitFor } from './wait.js';
