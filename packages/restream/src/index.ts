/**
 * `@rtmp/restream`: wires an `@rtmp/server` relay into the rest of a system with `@rtmp/client`: pushes streams on
 * to other RTMP/RTMPS servers ({@link Restreamer}), pulls streams from an origin on demand ({@link Puller}), and
 * delivers signed webhooks ({@link Webhooks}).
 * @packageDocumentation
 */

export { BACKOFF_DEFAULTS, Backoff, type BackoffOptions } from './backoff.js';
export {
  RESTREAM_ERROR_CODES,
  RestreamError,
  type RestreamErrorCode,
  type RestreamErrorOptions,
} from './errors.js';
export {
  type OriginResolver,
  type PullInfo,
  type PullOptions,
  type PullState,
  RelayPull,
  type RelayPullEvents,
} from './pull.js';
export { Puller, type PullerEvents, type PullerOptions } from './puller.js';
export {
  type PushFailure,
  type PushInfo,
  type PushOptions,
  type PushState,
  RelayPush,
  type RelayPushEvents,
} from './push.js';
export { type PushRule, Restreamer, type RestreamerEvents, type RestreamerOptions } from './restreamer.js';
export { appendStreamName, checkStreamUrl, invalidStreamUrl, redactStreamUrl } from './urls.js';
export {
  type JsonValue,
  signWebhookBody,
  verifyWebhookSignature,
  WEBHOOK_SIGNATURE_HEADER,
  type WebhookEvent,
  type WebhookEvents,
  type WebhookNotice,
  type WebhookOptions,
  type WebhookStats,
  Webhooks,
} from './webhooks.js';
