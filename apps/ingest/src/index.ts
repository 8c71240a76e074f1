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
  CONFIG_ENV,
  ConfigError,
  envName,
  helpText,
  type IngestConfig,
  type IngestLimits,
  type IngestTlsConfig,
  LOG_LEVELS,
  type LogLevel,
  loadConfig,
  OPTIONS,
} from './config.js';
export { type HttpSource, IngestHttpServer, type StreamApiEntry } from './http.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { type IngestServer, runIngest, startIngest } from './main.js';
export { IngestMetrics } from './metrics.js';
export { DemuxProbe, type ProbeCodecInfo, type ProbeDemuxer, type ProbeEvent } from './probe.js';
export { FlvRecorder, type FlvTagType, recordingFileName, stripSetDataFrame } from './recorder.js';
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
