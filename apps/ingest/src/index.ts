export {
  type AuthDecision,
  Authorizer,
  type AuthorizerOptions,
  type AuthRequest,
  type StreamAction,
  splitStreamName,
} from './auth.js';
export { INGEST_CODES, type IngestCode } from './codes.js';
export {
  type CliAction,
  ConfigError,
  type IngestConfig,
  type IngestLimits,
  type IngestReconnect,
  type IngestTlsConfig,
  loadConfig,
} from './config.js';
export { createHls, type IngestHlsConfig } from './hls.js';
export { type HttpSource, IngestHttpServer, type StreamApiEntry } from './http.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { type IngestServer, runIngest, startIngest } from './main.js';
export { IngestMetrics } from './metrics.js';
export {
  CONFIG_ENV,
  envName,
  helpText,
  type IngestOption,
  LOG_LEVELS,
  type LogLevel,
  OPTIONS,
  type OptionKey,
  type OptionKind,
  type OptionSpec,
  type OptionValues,
} from './options.js';
export { DemuxProbe, type ProbeCodecInfo, type ProbeDemuxer, type ProbeEvent } from './probe.js';
export { FlvRecorder, type FlvTagType, recordingFileName } from './recorder.js';
export {
  type AudioInfo,
  type StreamSnapshot,
  StreamStats,
  type StreamStatsOptions,
  type StreamWarning,
  type StreamWarningCode,
  type VideoInfo,
} from './stats.js';
export { LiveStream, type MediaProbe, type ProbeFactory, type StreamIo, StreamRegistry } from './streams.js';
