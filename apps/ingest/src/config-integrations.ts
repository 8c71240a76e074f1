import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { invalidStreamUrl } from '@rtmp/restream';
import { messageOf } from './config-sources.js';
import type { OptionKey, OptionValues } from './options.js';

/** A `--push` or `--pull` base URL, for every app or for one (`<app>=<url>`). */
export interface StreamUrlRule {
  /** The app it applies to; null: every app. */
  readonly app: string | null;
  /** `rtmp[s]://host[:port]/app[?query]`: each stream's name is appended (`<url>/<key>`). */
  readonly url: string;
}

/** Restream, pull, webhooks, signed URLs and the control API: the part of the configuration this file reads. */
export interface IngestIntegrations {
  readonly push: {
    /** `--push`: every live stream (of the app) to `<url>/<key>`. */
    readonly rules: readonly StreamUrlRule[];
    /** `--push-map`: full target URLs per `<app>/<key>`. */
    readonly map: ReadonlyMap<string, readonly string[]>;
  };
  readonly pull: {
    /** `--pull`: streams that are not live here are played from `<url>/<key>`. */
    readonly rules: readonly StreamUrlRule[];
    /** `--pull-idle`: seconds an upstream stays after the last player left. */
    readonly idleSec: number;
  };
  readonly webhooks: {
    readonly urls: readonly string[];
    readonly secret: string | null;
  };
  /** Signed URLs: null secrets need no signature. */
  readonly signing: {
    readonly publishSecret: string | null;
    readonly playSecret: string | null;
    /** `--sign-nms`: node-media-server's `?sign=` links too. */
    readonly nodeMediaServer: boolean;
  };
  readonly api: {
    /** `--api-token`: bearer token of the control endpoints; null: they are off. */
    readonly token: string | null;
    /** `--api-bind`: `loopback` answers `/api/*` and `/metrics` to 127.0.0.0/8 and ::1 only. */
    readonly bind: 'any' | 'loopback';
  };
}

/** The valid option values read so far (as `loadConfig` holds them). */
export type IntegrationValues = { readonly [K in OptionKey]?: OptionValues[K] | undefined };

const APP_RE = /^([A-Za-z0-9._~-]{1,128})=(.*)$/s;

/** Whether `url` is an rtmp(s) URL with a host and an app (a base a stream name is appended to). */
function isStreamBase(url: string): boolean {
  try {
    const u = new URL(url);
    return (
      (u.protocol === 'rtmp:' || u.protocol === 'rtmps:') &&
      u.hostname !== '' &&
      u.pathname.split('/').some((s) => s !== '')
    );
  } catch {
    return false;
  }
}

function isHttpUrl(url: string): boolean {
  try {
    const protocol = new URL(url).protocol;
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** `--push` / `--pull` values: `[<app>=]rtmp[s]://host[:port]/app`. */
function readRules(flag: string, values: readonly string[], apps: readonly string[], errors: string[]) {
  const rules: StreamUrlRule[] = [];
  for (const value of values) {
    const scoped = APP_RE.exec(value);
    const app = scoped === null || /^rtmps?:/i.test(value) ? null : (scoped[1] ?? null);
    const url = app === null ? value : (scoped?.[2] ?? '');
    if (!isStreamBase(url)) {
      errors.push(`--${flag}: "${url}" is not an rtmp:// or rtmps:// URL with a host and an app`);
    } else if (app !== null && !apps.includes(app)) {
      errors.push(`--${flag}: app "${app}" is not one of --apps (${apps.join(', ')})`);
    } else {
      rules.push({ app, url });
    }
  }
  return rules;
}

/** The `--push-map` file: `{ "<app>/<key>": "<url>" | ["<url>", ...] }`. */
function readPushMap(file: string, apps: readonly string[], errors: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    errors.push(`--push-map: cannot read ${file}: ${messageOf(e)}`);
    return map;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    errors.push(`--push-map: ${file} must hold a JSON object {"<app>/<key>": "<rtmp URL>" | [URLs]}`);
    return map;
  }
  for (const [stream, targets] of Object.entries(json)) {
    const slash = stream.indexOf('/');
    const app = stream.slice(0, slash);
    if (slash <= 0 || slash === stream.length - 1 || stream.indexOf('/', slash + 1) >= 0) {
      errors.push(`--push-map: "${stream}" is not <app>/<key>`);
      continue;
    }
    if (!apps.includes(app)) errors.push(`--push-map: app "${app}" of "${stream}" is not one of --apps`);
    const list: unknown[] = Array.isArray(targets) ? targets : [targets];
    const urls: string[] = [];
    for (const url of list) {
      const problem = typeof url === 'string' ? invalidStreamUrl(url) : undefined;
      if (typeof url !== 'string' || problem !== undefined) {
        errors.push(`--push-map: target of "${stream}": ${problem?.message ?? 'not a string'}`);
      } else urls.push(url);
    }
    map.set(stream, urls);
  }
  return map;
}

/** Reads and checks the options of {@link IngestIntegrations}; problems go to `errors`. */
export function readIntegrations(
  values: IntegrationValues,
  apps: readonly string[],
  cwd: string,
  errors: string[],
): IngestIntegrations {
  const webhooks = values.webhook ?? [];
  for (const url of webhooks) {
    if (!isHttpUrl(url)) errors.push(`--webhook: "${url}" is not an http(s) URL`);
  }
  if (values.webhookSecret !== undefined && webhooks.length === 0) {
    errors.push('--webhook-secret needs --webhook');
  }
  const bind = values.apiBind ?? 'any';
  if (bind !== 'any' && bind !== 'loopback') errors.push(`--api-bind: "${bind}" is not any or loopback`);
  const signing = [values.signSecret, values.signPublishSecret, values.signPlaySecret];
  if (values.signNms === true && signing.every((secret) => secret === undefined)) {
    errors.push('--sign-nms needs --sign-secret (or --sign-publish-secret / --sign-play-secret)');
  }
  const map =
    values.pushMap === undefined ? new Map() : readPushMap(resolve(cwd, values.pushMap), apps, errors);
  return {
    push: { rules: readRules('push', values.push ?? [], apps, errors), map },
    pull: { rules: readRules('pull', values.pull ?? [], apps, errors), idleSec: values.pullIdle ?? 10 },
    webhooks: { urls: webhooks, secret: values.webhookSecret ?? null },
    signing: {
      publishSecret: values.signPublishSecret ?? values.signSecret ?? null,
      playSecret: values.signPlaySecret ?? values.signSecret ?? null,
      nodeMediaServer: values.signNms ?? false,
    },
    api: { token: values.apiToken ?? null, bind: bind === 'loopback' ? 'loopback' : 'any' },
  };
}
