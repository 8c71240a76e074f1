import {
  appendStreamName,
  Puller,
  type PushInfo,
  type PushRule,
  Restreamer,
  type WebhookNotice,
  Webhooks,
} from '@rtmp/restream';
import type { LiveRelay, RtmpHandlerFactory, SignatureRefusal } from '@rtmp/server';
import { signedUrlHandler } from '@rtmp/server';
import { RecordingControl } from './api-recording.js';
import type { AuthorizerOptions } from './auth.js';
import type { IngestConfig } from './config.js';
import type { StreamUrlRule } from './config-integrations.js';
import { IntegrationMetrics } from './integration-metrics.js';
import type { Logger } from './logger.js';
import type { IngestMetrics } from './metrics.js';
import { SessionTable } from './session-table.js';
import type { StreamRegistry } from './streams.js';
import { VOD_APP } from './vod/paths.js';

/** What {@link startIntegrations} needs of the app. */
export interface IntegrationParts {
  readonly config: IngestConfig;
  readonly relay: LiveRelay;
  readonly registry: StreamRegistry;
  readonly metrics: IngestMetrics;
  readonly log: Logger;
  /** A puller made elsewhere (the cluster's, which also serves `--pull`), used instead of one for `--pull`. */
  readonly puller?: Puller | undefined;
}

/** Push, pull, webhooks, signed URLs, sessions and recordings on request: what the control API drives. */
export interface Integrations {
  readonly restreamer: Restreamer;
  /** Null without `--pull`. */
  readonly puller: Puller | null;
  /** Null without `--webhook`. */
  readonly webhooks: Webhooks | null;
  readonly sessions: SessionTable;
  readonly recordings: RecordingControl;
  readonly metrics: IntegrationMetrics;
  /** Wraps the connection handler in the signed-URL check (nothing without `--sign-*`). */
  signed<O>(handler: RtmpHandlerFactory<O>): RtmpHandlerFactory<O>;
  /**
   * The signed-URL check for HTTP-FLV, WS-FLV and HLS viewers, as options of their `Authorizer` (empty without
   * `--sign-*`): the same policy as RTMP plays, refusals logged and counted the same way.
   */
  readonly viewerSigning: Pick<AuthorizerOptions, 'signing' | 'onSignatureRefused'>;
  /** Sends a webhook event (nothing without `--webhook`): HTTP viewers' `play` and `play_done`. */
  notify(notice: WebhookNotice): void;
  /** The pushes of `<app>/<key>`, for `/api/streams`. */
  pushesOf(app: string, key: string): PushInfo[];
  /** Stops pulls, pushes and recordings of the control API, and delivers the webhooks still queued (5 s at most). */
  close(): Promise<void>;
}

/** Splits a relay key `<app>/<name>` (apps have no `/`: see `--apps`). */
function splitKey(key: string): { app: string; name: string } {
  const slash = key.indexOf('/');
  return { app: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The `--push` / `--pull` base of `key`: its app's rule, else a rule for every app. */
export function ruleUrl(rules: readonly StreamUrlRule[], key: string): string | undefined {
  const { app, name } = splitKey(key);
  if (app === VOD_APP || name === '') return undefined;
  const rule = rules.find((r) => r.app === app) ?? rules.find((r) => r.app === null);
  return rule === undefined ? undefined : appendStreamName(rule.url, name);
}

/**
 * Builds the app's integrations from its configuration: the restreamer with `--push` rules and `--push-map`
 * targets, the puller of `--pull`, the webhooks of `--webhook` fed by the sessions, the recordings and the pushes,
 * with their logs and metrics.
 */
export function startIntegrations(parts: IntegrationParts): Integrations {
  const { config, relay, registry, metrics, log } = parts;
  const webhooks =
    config.webhooks.urls.length === 0
      ? null
      : new Webhooks({
          urls: config.webhooks.urls,
          ...(config.webhooks.secret === null ? {} : { secret: config.webhooks.secret }),
        });
  const notify = (notice: WebhookNotice) => void webhooks?.send(notice);
  const restreamer = new Restreamer(relay);
  const puller =
    parts.puller ??
    (config.pull.rules.length === 0
      ? null
      : new Puller(relay, {
          origin: (key) => ruleUrl(config.pull.rules, key),
          idleTimeout: config.pull.idleSec * 1000,
        }));
  const integrationMetrics = new IntegrationMetrics(metrics, restreamer, puller, webhooks);
  const sessions = new SessionTable(notify);
  const recordings = new RecordingControl(config, relay, registry, metrics, log, (done) =>
    notify({
      event: 'record_done',
      app: done.app,
      key: done.key,
      data: { path: done.path, bytes: done.bytes, error: done.error, startedBy: done.startedBy },
    }),
  );
  registry.onRecordingDone = (stream, rec) => recordings.finalized(stream.app, stream.key, rec);

  const pushLog = log.child({ component: 'push' });
  restreamer.on('state', (push, state) => {
    if (state === 'connecting') integrationMetrics.pushAttempts.inc();
    pushLog.debug({ stream: push.key, target: push.target, id: push.id, state }, 'push state');
  });
  restreamer.on('connect', (push) => {
    integrationMetrics.pushConnects.inc();
    pushLog.info({ stream: push.key, target: push.target, id: push.id }, 'push publishing');
  });
  restreamer.on('failure', (push, error, retryIn) => {
    const code = push.info().lastError?.code ?? 'unknown';
    integrationMetrics.pushFailures.inc({ code });
    metrics.error(code);
    pushLog.warn(
      { stream: push.key, target: push.target, id: push.id, code, err: error.message, retryIn },
      'push failed',
    );
    const { app, name } = splitKey(push.key);
    notify({
      event: 'push_failed',
      app,
      key: name,
      protocol: push.url.startsWith('rtmps:') ? 'rtmps' : 'rtmp',
      data: { pushId: push.id, target: push.target, code, message: error.message, retryIn: retryIn ?? null },
    });
  });
  restreamer.on('drop', (push, messages, bytes) => {
    integrationMetrics.pushDropped.inc(messages);
    pushLog.warn(
      { stream: push.key, target: push.target, messages, bytes },
      'push target fell behind: media dropped',
    );
  });
  restreamer.on('invalidTarget', (key, target, error) =>
    pushLog.error({ stream: key, target, err: error.message }, 'bad push target'),
  );
  for (const rule of config.push.rules) {
    const pushRule: PushRule = (key) => ruleUrl([rule], key);
    restreamer.addRule(pushRule);
  }
  for (const [stream, urls] of config.push.map) for (const url of urls) restreamer.push(stream, url);

  if (puller !== null) {
    const pullLog = log.child({ component: 'pull' });
    puller.on('start', (pull) => {
      integrationMetrics.pullsStarted.inc();
      pullLog.info({ stream: pull.key }, 'pull started');
    });
    puller.on('live', (pull) => {
      pullLog.info({ stream: pull.key, origin: pull.info().origin }, 'pull live');
      const stream = registry.beginPull(pull.key, pull);
      const relayStats = () => relay.stats(pull.key);
      stream.io = {
        bytesIn: () => pull.info().bytesReceived,
        // Not metered for pulled streams (their players' bytes are in the node's totals in /metrics).
        bytesOut: () => 0,
        players: () => relayStats()?.players ?? 0,
        playersByProtocol: () => ({ ...relayStats()?.playersByProtocol }),
        droppedFrames: () => relayStats()?.droppedMessages ?? 0,
      };
    });
    // Probed as a publish is (codecs, resolution, bitrate for /api/streams and the stats log), from the pull's own
    // messages: a relay subscriber would count as a viewer and keep the pull from going idle.
    puller.on('media', (pull, message) => {
      const { type, timestamp, payload } = message;
      if (type === 8 || type === 9 || type === 18)
        registry.pulledStream(pull.key)?.media(type, timestamp, payload);
    });
    puller.on('failure', (pull, error, retryIn) => {
      const code = pull.info().lastError?.code ?? 'unknown';
      integrationMetrics.pullFailures.inc({ code });
      pullLog.warn({ stream: pull.key, code, err: error.message, retryIn }, 'pull failed');
    });
    puller.on('stop', (pull, reason) => {
      registry.endPull(pull.key, pull);
      pullLog.info({ stream: pull.key, reason }, 'pull stopped');
    });
  }
  if (webhooks !== null) {
    const hookLog = log.child({ component: 'webhook' });
    webhooks.on('delivered', () => integrationMetrics.webhookDeliveries.inc({ result: 'delivered' }));
    webhooks.on('retry', (event, _url, error, retryIn) => {
      integrationMetrics.webhookRetries.inc();
      hookLog.debug({ event: event.event, id: event.id, err: error.message, retryIn }, 'webhook retry');
    });
    webhooks.on('failed', (event, _url, error) => {
      integrationMetrics.webhookDeliveries.inc({ result: 'failed' });
      hookLog.warn(
        { event: event.event, id: event.id, code: error.code, err: error.message },
        'webhook given up',
      );
    });
    webhooks.on('dropped', (event) => {
      integrationMetrics.webhookDeliveries.inc({ result: 'dropped' });
      hookLog.warn({ event: event.event, id: event.id }, 'webhook queue full: event dropped');
    });
  }

  const { signing } = config;
  const signLog = log.child({ component: 'signed-url' });
  const onRefused = (refusal: SignatureRefusal) => {
    integrationMetrics.signatureRefusals.inc({ action: refusal.action, reason: refusal.reason });
    metrics.error(refusal.action === 'publish' ? 'INGEST_PUBLISH_REFUSED' : 'INGEST_PLAY_REFUSED');
    signLog.warn(
      {
        app: refusal.app,
        key: refusal.key,
        action: refusal.action,
        reason: refusal.reason,
        session: refusal.session.id,
      },
      `${refusal.action} refused: signature ${refusal.reason}`,
    );
  };

  return {
    restreamer,
    puller,
    webhooks,
    sessions,
    recordings,
    metrics: integrationMetrics,
    signed: (handler) =>
      signing.publishSecret === null && signing.playSecret === null
        ? handler
        : signedUrlHandler(
            {
              publishSecret: signing.publishSecret ?? undefined,
              playSecret: signing.playSecret ?? undefined,
              nodeMediaServer: signing.nodeMediaServer,
              onRefused,
            },
            handler,
          ),
    notify,
    viewerSigning:
      signing.publishSecret === null && signing.playSecret === null
        ? {}
        : {
            signing: {
              publishSecret: signing.publishSecret ?? undefined,
              playSecret: signing.playSecret ?? undefined,
              nodeMediaServer: signing.nodeMediaServer,
            },
            onSignatureRefused: (request, reason) => {
              integrationMetrics.signatureRefusals.inc({ action: request.action, reason });
              signLog.warn(
                { app: request.app, key: request.key, action: request.action, reason, ip: request.ip },
                `http ${request.action} denied: signature ${reason}`,
              );
            },
          },
    pushesOf: (app, key) => restreamer.pushes(`${app}/${key}`).map((push) => push.info()),
    close: async () => {
      await Promise.all([puller?.close(), recordings.close()]);
      await restreamer.close();
      await webhooks?.close();
    },
  };
}
