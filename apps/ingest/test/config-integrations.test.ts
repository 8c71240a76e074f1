import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, type IngestConfig, loadConfig } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'ingest-config-integrations-'));

function run(argv: string[], env: Record<string, string> = {}): IngestConfig {
  const a = loadConfig(argv, env, dir);
  if (a.kind !== 'run') throw new Error(`expected run, got ${a.kind}`);
  return a.config;
}

function errorsOf(argv: string[], env: Record<string, string> = {}): string {
  try {
    loadConfig(argv, env, dir);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).messages.join('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('push, pull, webhooks, signed URLs and control API options', () => {
  it('are off by default', () => {
    const c = run([]);
    expect(c.push).toEqual({ rules: [], map: new Map() });
    expect(c.pull).toEqual({ rules: [], idleSec: 10 });
    expect(c.webhooks).toEqual({ urls: [], secret: null });
    expect(c.signing).toEqual({ publishSecret: null, playSecret: null, nodeMediaServer: false });
    expect(c.api).toEqual({ token: null, bind: 'any' });
  });

  it('takes --push and --pull several times, for every app or for one (<app>=<url>), from flags, env and file', () => {
    const c = run([
      ...[
        '--apps',
        'live,show',
        '--push',
        'rtmp://a.example/live',
        '--push',
        'show=rtmps://b.example:4443/show?x=1',
      ],
      ...['--pull', 'rtmp://origin.example/live', '--pull-idle', '30'],
    ]);
    expect(c.push.rules).toEqual([
      { app: null, url: 'rtmp://a.example/live' },
      { app: 'show', url: 'rtmps://b.example:4443/show?x=1' },
    ]);
    expect(c.pull).toEqual({ rules: [{ app: null, url: 'rtmp://origin.example/live' }], idleSec: 30 });
    expect(
      run([], { RTMP_INGEST_PUSH: 'rtmp://a/live  rtmp://b/live' }).push.rules.map((r) => r.url),
    ).toEqual(['rtmp://a/live', 'rtmp://b/live']);
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({ push: ['rtmp://c/live'], webhook: 'http://hooks/x', apiToken: 't' }),
    );
    const fromFile = run(['--config', file]);
    expect(fromFile.push.rules).toEqual([{ app: null, url: 'rtmp://c/live' }]);
    expect(fromFile.webhooks.urls).toEqual(['http://hooks/x']);
    expect(fromFile.api.token).toBe('t');
  });

  it('refuses bad push and pull URLs and unknown apps', () => {
    expect(errorsOf(['--push', 'http://a/live'])).toMatch(/--push: "http:\/\/a\/live" is not an rtmp/);
    expect(errorsOf(['--push', 'rtmp://a'])).toMatch(/with a host and an app/);
    expect(errorsOf(['--pull', 'other=rtmp://a/live'])).toMatch(/app "other" is not one of --apps/);
    expect(errorsOf(['--pull-idle', '3601'])).toMatch(/0\.\.3600/);
  });

  it('reads --push-map: full URLs per <app>/<key>, and reports every problem', () => {
    const file = join(dir, 'map.json');
    writeFileSync(
      file,
      JSON.stringify({
        'live/cam1': ['rtmp://yt/live2/k1', 'rtmps://fb:443/rtmp/k2'],
        'live/cam2': 'rtmp://tw/app/k3',
      }),
    );
    expect([...run(['--push-map', file]).push.map]).toEqual([
      ['live/cam1', ['rtmp://yt/live2/k1', 'rtmps://fb:443/rtmp/k2']],
      ['live/cam2', ['rtmp://tw/app/k3']],
    ]);
    writeFileSync(
      file,
      JSON.stringify({ cam1: 'rtmp://a/b/c', 'x/cam2': 'rtmp://a/b/c', 'live/cam3': ['rtmp://a/b', 7] }),
    );
    const errors = errorsOf(['--push-map', file]);
    expect(errors).toMatch(/"cam1" is not <app>\/<key>/);
    expect(errors).toMatch(/app "x" of "x\/cam2" is not one of --apps/);
    expect(errors).toMatch(/target of "live\/cam3": .*has no stream name/);
    expect(errors).toMatch(/target of "live\/cam3": not a string/);
    writeFileSync(file, '[1]');
    expect(errorsOf(['--push-map', file])).toMatch(/must hold a JSON object/);
    expect(errorsOf(['--push-map', join(dir, 'missing.json')])).toMatch(/cannot read/);
  });

  it('checks webhooks, signing secrets and --api-bind', () => {
    expect(
      run(['--webhook', 'https://a/x', '--webhook', 'http://b/y', '--webhook-secret', 's']).webhooks,
    ).toEqual({
      urls: ['https://a/x', 'http://b/y'],
      secret: 's',
    });
    expect(errorsOf(['--webhook', 'ftp://a/x'])).toMatch(/is not an http\(s\) URL/);
    expect(errorsOf(['--webhook-secret', 's'])).toMatch(/needs --webhook/);
    expect(run(['--sign-secret', 'both']).signing).toEqual({
      publishSecret: 'both',
      playSecret: 'both',
      nodeMediaServer: false,
    });
    expect(run(['--sign-secret', 'both', '--sign-play-secret', 'p', '--sign-nms']).signing).toEqual({
      publishSecret: 'both',
      playSecret: 'p',
      nodeMediaServer: true,
    });
    expect(run(['--sign-publish-secret', 'only']).signing).toEqual({
      publishSecret: 'only',
      playSecret: null,
      nodeMediaServer: false,
    });
    expect(errorsOf(['--sign-nms'])).toMatch(/--sign-nms needs --sign-secret/);
    expect(run(['--api-bind', 'loopback', '--api-token', 'x']).api).toEqual({ token: 'x', bind: 'loopback' });
    expect(errorsOf(['--api-bind', 'lan'])).toMatch(/--api-bind: "lan" is not any or loopback/);
  });
});
