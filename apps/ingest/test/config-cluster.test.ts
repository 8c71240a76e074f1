import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

function errors(argv: string[]): readonly string[] {
  try {
    loadConfig(argv, {}, '/tmp');
  } catch (e) {
    if (e instanceof ConfigError) return e.messages;
    throw e;
  }
  return [];
}

describe('cluster options', () => {
  it('are off by default; --cluster with its defaults', () => {
    const off = loadConfig([], {}, '/tmp');
    expect(off.kind === 'run' && off.config.cluster).toBeNull();
    const on = loadConfig(['--cluster', 'redis://r.example:6379/2'], { RTMP_INGEST_NODE_ID: 'a-1' }, '/tmp');
    expect(on.kind === 'run' && on.config.cluster).toEqual({
      redisUrl: 'redis://r.example:6379/2',
      nodeUrl: null,
      nodeId: 'a-1',
      ttlSec: 5,
      prefix: 'rtmp',
    });
  });

  it('refuses what is not a Redis URL, a node URL with a path, bad ids and prefixes, and node options without --cluster', () => {
    expect(errors(['--cluster', 'http://r:6379'])).toEqual([
      '--cluster: "http://r:6379" is not a redis:// or rediss:// URL',
    ]);
    expect(errors(['--cluster', 'rediss://r:6379', '--node-url', 'rtmp://a:1935/live'])).toEqual([
      '--node-url: "rtmp://a:1935/live" is not rtmp[s]://host[:port] (no path: the app and key are appended)',
    ]);
    expect(errors(['--cluster', 'redis://r', '--node-id', 'a b', '--cluster-prefix', 'x y'])).toHaveLength(2);
    expect(errors(['--cluster', 'redis://r', '--cluster-ttl', '0'])).toHaveLength(1);
    expect(errors(['--node-url', 'rtmp://a:1935'])).toEqual(['--node-url needs --cluster']);
  });
});
