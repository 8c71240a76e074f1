import { checkStreamSignature } from '@rtmp/server';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

function check(url: string, action: 'publish' | 'play', policy: Parameters<typeof checkStreamSignature>[0]) {
  const { pathname, searchParams } = new URL(url);
  const [, app, key] = pathname.split('/');
  return checkStreamSignature(policy, {
    action,
    app: app!,
    key: key!,
    query: Object.fromEntries(searchParams),
  });
}

describe('sign', () => {
  it('prints a URL the server accepts for that action only, until it expires', async () => {
    const r = await cli([
      'sign',
      'rtmp://ingest.example/live/cam1?x=1',
      '--secret',
      's3',
      '--action',
      'publish',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const url = r.stdout.trim();
    expect(url).toMatch(/^rtmp:\/\/ingest\.example\/live\/cam1\?x=1&expires=\d+&sig=[0-9a-f]{64}$/);
    const expires = Number(new URL(url).searchParams.get('expires'));
    expect(expires - Date.now() / 1000).toBeGreaterThan(3500);
    expect(check(url, 'publish', { publishSecret: 's3' })).toEqual({ valid: true });
    expect(check(url, 'play', { playSecret: 's3' })).toEqual({ valid: false, reason: 'invalid' });
    expect(check(url, 'publish', { publishSecret: 's3', now: () => (expires + 1) * 1000 })).toEqual({
      valid: false,
      reason: 'expired',
    });
  });

  it('takes an absolute expiry, the node-media-server format and --json; refuses bad usage with exit 2', async () => {
    const fixed = await cli([
      'sign',
      'rtmp://h/live/k',
      '--secret',
      's',
      '--action',
      'play',
      '--expires',
      '2000000000',
      '--json',
    ]);
    expect(fixed.json).toMatchObject({ ok: true, command: 'sign', action: 'play', expires: 2_000_000_000 });
    expect(check(String(fixed.json.url), 'play', { playSecret: 's' })).toEqual({ valid: true });
    const nms = await cli(['sign', 'rtmp://h/live/k', '--secret', 's', '--action', 'play', '--nms']);
    expect(check(nms.stdout.trim(), 'play', { playSecret: 's', nodeMediaServer: true })).toEqual({
      valid: true,
    });
    for (const args of [
      ['rtmp://h/live/k', '--action', 'play'],
      ['rtmp://h/live/k', '--secret', 's'],
      ['rtmp://h/live/k', '--secret', 's', '--action', 'play', '--expires', '1', '--expires-in', '5'],
      ['rtmp://h/live', '--secret', 's', '--action', 'play'],
    ]) {
      const bad = await cli(['sign', ...args]);
      expect(bad.code, args.join(' ')).toBe(2);
    }
  });
});
