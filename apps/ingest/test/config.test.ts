import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, type IngestConfig, loadConfig } from '../src/config.js';
import { envName, helpText, OPTIONS } from '../src/options.js';
import { APP_DIR } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ingest-config-'));

function run(argv: string[], env: Record<string, string> = {}): IngestConfig {
  const a = loadConfig(argv, env, dir);
  if (a.kind !== 'run') throw new Error(`expected run, got ${a.kind}`);
  return a.config;
}

function errorsOf(argv: string[], env: Record<string, string> = {}): string[] {
  try {
    loadConfig(argv, env, dir);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).code).toBe('ERR_INGEST_CONFIG');
    return [...(e as ConfigError).messages];
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = run([]);
    expect(c.port).toBe(1935);
    expect(c.httpPort).toBe(8080);
    expect(c.host).toBe('0.0.0.0');
    expect(c.apps).toEqual(['live']);
    expect(c.keys).toBeNull();
    expect(c.keysUrl).toBeNull();
    expect(c.record).toBe(false);
    expect(c.tls).toBeNull();
    expect(c.logLevel).toBe('info');
    expect(c.reconnect).toEqual({ graceSec: 0, tcUrl: null });
  });

  it('takes a reconnect grace and target, and refuses a target that is not rtmp(s) or a path', () => {
    expect(run(['--reconnect-grace', '30']).reconnect).toEqual({ graceSec: 30, tcUrl: null });
    for (const target of [
      'rtmp://ingest-2.example:1936/live',
      'rtmps://edge/live',
      '/live',
      '//10.0.0.7/live',
    ]) {
      expect(run(['--reconnect-grace', '5', '--reconnect-url', target]).reconnect.tcUrl).toBe(target);
    }
    for (const target of ['http://x/live', 'live', 'rtmp:/nohost']) {
      expect(errorsOf(['--reconnect-grace', '5', '--reconnect-url', target]).join()).toMatch(
        /neither an rtmp\(s\):\/\/ URL nor a path/,
      );
    }
    expect(errorsOf(['--reconnect-url', '/live']).join()).toMatch(/needs --reconnect-grace/);
    expect(errorsOf(['--reconnect-grace', '601']).join()).toMatch(/0\.\.600/);
  });

  it('parses flags in both --a b and --a=b forms', () => {
    const c = run(['--port', '1936', '--http-port=8081', '--host', '127.0.0.1', '--apps', 'live,show']);
    expect([c.port, c.httpPort, c.host]).toEqual([1936, 8081, '127.0.0.1']);
    expect(c.apps).toEqual(['live', 'show']);
  });

  it('turns recording on with --record-dir, off with --no-record', () => {
    const c = run(['--record-dir', 'out']);
    expect(c.record).toBe(true);
    expect(c.recordDir).toBe(join(dir, 'out'));
    expect(run(['--record-dir', 'out', '--no-record']).record).toBe(false);
    expect(run(['--record']).recordDir).toBe(join(dir, 'recordings'));
  });

  it('reads keys from a list and from @file', () => {
    expect(run(['--keys', 'a, b,c']).keys).toEqual(['a', 'b', 'c']);
    writeFileSync(join(dir, 'keys.txt'), '# comment\nk1\n\nk2\r\n');
    expect(run(['--keys', '@keys.txt']).keys).toEqual(['k1', 'k2']);
  });

  it('applies precedence flags > env > file > defaults', () => {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ port: 2000, httpPort: 3000, host: '127.0.0.2', keys: ['f1'] }));
    const env = { RTMP_INGEST_HTTP_PORT: '3001', RTMP_INGEST_HOST: '127.0.0.3', RTMP_INGEST_CONFIG: file };
    const c = run(['--host', '127.0.0.4'], env);
    expect(c.port).toBe(2000);
    expect(c.httpPort).toBe(3001);
    expect(c.host).toBe('127.0.0.4');
    expect(c.keys).toEqual(['f1']);
    expect(run(['--config', file]).port).toBe(2000);
  });

  it('names one env var per option', () => {
    expect(envName({ flag: 'http-port' })).toBe('RTMP_INGEST_HTTP_PORT');
    const names = OPTIONS.map(envName);
    expect(new Set(names).size).toBe(names.length);
  });

  it('collects every error with a clear message', () => {
    const errs = errorsOf(['--port', 'abc', '--http-port', '70000', '--bogus', '--log-level', 'loud']);
    expect(errs).toHaveLength(4);
    expect(errs.join('\n')).toMatch(/--port: "abc" is not a port/);
    expect(errs.join('\n')).toMatch(/--http-port: "70000" is not a port in 0..65535/);
    expect(errs.join('\n')).toMatch(/unknown option --bogus/);
    expect(errs.join('\n')).toMatch(/--log-level/);
  });

  it('rejects inconsistent settings', () => {
    expect(errorsOf(['--port', '9000', '--http-port', '9000']).join()).toMatch(/both 9000/);
    expect(errorsOf(['--tls-cert', 'x.pem']).join()).toMatch(/--tls-cert and --tls-key/);
    expect(errorsOf(['--keys-url', 'ftp://x']).join()).toMatch(/not an http\(s\) URL/);
    expect(errorsOf(['--keys', '@missing.txt']).join()).toMatch(/cannot read keys file/);
    expect(errorsOf(['--apps', 'a/b']).join()).toMatch(/invalid name/);
    expect(errorsOf(['--port']).join()).toMatch(/--port needs a value/);
    expect(errorsOf(['stray']).join()).toMatch(/unexpected argument/);
    expect(errorsOf([], { RTMP_INGEST_PORT: '-1' }).join()).toMatch(/RTMP_INGEST_PORT/);
  });

  it('reports bad config files', () => {
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    expect(errorsOf(['--config', 'bad.json']).join()).toMatch(/not valid JSON/);
    writeFileSync(join(dir, 'unk.json'), '{"porty": 1}');
    expect(errorsOf(['--config', 'unk.json']).join()).toMatch(/unknown key "porty"/);
    expect(errorsOf(['--config', 'none.json']).join()).toMatch(/cannot read config file/);
  });

  it('ignores the -- that `pnpm start -- --port N` passes on', () => {
    const result = loadConfig(['--', '--port', '19350'], {}, dir);
    expect(result.kind).toBe('run');
    if (result.kind === 'run') expect(result.config.port).toBe(19350);
  });

  it('handles --help and --version', () => {
    expect(loadConfig(['--port', 'x', '--help'], {}, dir).kind).toBe('help');
    expect(loadConfig(['-v'], {}, dir).kind).toBe('version');
    const h = helpText();
    for (const o of OPTIONS) {
      expect(h).toContain(`--${o.flag}`);
      expect(h).toContain(envName(o));
    }
  });

  it('documents every flag, env var and config key in the README', () => {
    const readme = readFileSync(join(APP_DIR, 'README.md'), 'utf8');
    for (const o of OPTIONS) {
      expect(readme, o.flag).toContain(`--${o.flag}`);
      expect(readme, o.key).toContain(envName(o));
      expect(readme, o.key).toContain(`\`${o.key}\``);
    }
  });
});
