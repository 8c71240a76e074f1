import type { Puller, Restreamer, Webhooks } from '@rtmp/restream';
import { Counter, Gauge } from 'prom-client';
import type { IngestMetrics } from './metrics.js';

/**
 * The metrics of pushes, pulls, webhooks, signed URLs and the control API, on the app's registry: counters fed by
 * events, gauges read from the restreamer and the puller at each scrape (per push target: `rtmp_push_up` and
 * `rtmp_push_sent_bytes`, labelled with the stream and the target with its stream key hidden).
 */
export class IntegrationMetrics {
  readonly pushAttempts: Counter;
  readonly pushConnects: Counter;
  readonly pushFailures: Counter<'code'>;
  readonly pushDropped: Counter;
  readonly pullsStarted: Counter;
  readonly pullFailures: Counter<'code'>;
  readonly webhookDeliveries: Counter<'result'>;
  readonly webhookRetries: Counter;
  readonly signatureRefusals: Counter<'action' | 'reason'>;
  readonly apiRefusals: Counter<'status'>;

  constructor(
    metrics: IngestMetrics,
    restreamer: Restreamer,
    puller: Puller | null,
    webhooks: Webhooks | null,
  ) {
    const registers = [metrics.registry];
    this.pushAttempts = new Counter({
      name: 'rtmp_push_attempts_total',
      help: 'Push connection attempts',
      registers,
    });
    this.pushConnects = new Counter({
      name: 'rtmp_push_connects_total',
      help: 'Push connections that reached publishing',
      registers,
    });
    this.pushFailures = new Counter({
      name: 'rtmp_push_failures_total',
      help: 'Failed push attempts and broken push connections, by code',
      labelNames: ['code'] as const,
      registers,
    });
    this.pushDropped = new Counter({
      name: 'rtmp_push_dropped_frames_total',
      help: 'Media messages skipped for push targets that fell behind',
      registers,
    });
    new Gauge({
      name: 'rtmp_pushes',
      help: 'Push targets by state',
      labelNames: ['state'] as const,
      registers,
      collect() {
        this.reset();
        for (const push of restreamer.pushes()) this.inc({ state: push.state });
      },
    });
    new Gauge({
      name: 'rtmp_push_up',
      help: 'Whether a push target is publishing (1) or not (0)',
      labelNames: ['stream', 'target'] as const,
      registers,
      collect() {
        this.reset();
        for (const push of restreamer.pushes())
          this.set({ stream: push.key, target: push.target }, push.state === 'live' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'rtmp_push_sent_bytes',
      help: 'Payload bytes sent to a push target since it was added',
      labelNames: ['stream', 'target'] as const,
      registers,
      collect() {
        this.reset();
        for (const push of restreamer.pushes())
          this.set({ stream: push.key, target: push.target }, push.info().bytesSent);
      },
    });
    this.pullsStarted = new Counter({ name: 'rtmp_pulls_total', help: 'Pulls started', registers });
    this.pullFailures = new Counter({
      name: 'rtmp_pull_failures_total',
      help: 'Failed pull attempts and broken pulls, by code',
      labelNames: ['code'] as const,
      registers,
    });
    new Gauge({
      name: 'rtmp_pulls',
      help: 'Pulls running, by state',
      labelNames: ['state'] as const,
      registers,
      collect() {
        this.reset();
        for (const pull of puller?.pulls() ?? []) this.inc({ state: pull.state });
      },
    });
    this.webhookDeliveries = new Counter({
      name: 'rtmp_webhook_deliveries_total',
      help: 'Webhook events by outcome: delivered, failed (given up), dropped (queue full)',
      labelNames: ['result'] as const,
      registers,
    });
    this.webhookRetries = new Counter({
      name: 'rtmp_webhook_retries_total',
      help: 'Webhook attempts that failed and were retried',
      registers,
    });
    new Gauge({
      name: 'rtmp_webhook_queued',
      help: 'Webhook events waiting',
      registers,
      collect() {
        this.set(webhooks?.stats().queued ?? 0);
      },
    });
    this.signatureRefusals = new Counter({
      name: 'rtmp_signed_url_refusals_total',
      help: 'Publishes and plays refused for a missing, expired or invalid signature',
      labelNames: ['action', 'reason'] as const,
      registers,
    });
    this.apiRefusals = new Counter({
      name: 'rtmp_api_refusals_total',
      help: 'Control API requests refused (401 bad token, 403 disabled or not from loopback)',
      labelNames: ['status'] as const,
      registers,
    });
  }
}
