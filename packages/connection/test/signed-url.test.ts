import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkStreamSignature,
  RtmpError,
  type SignedUrlPolicy,
  signUrl,
  streamSignature,
} from '../src/index.js';

const NOW = 1_767_225_600_000; // 2026-01-01T00:00:00Z, in ms
const now = () => NOW;

/** The query of a signed URL's stream name, as the server parses it. */
function queryOf(url: string): Record<string, string> {
  return Object.fromEntries(new URL(url).searchParams);
}

describe('signed URLs', () => {
  it('signs with HMAC-SHA256 of "<action>\\n<app>/<key>\\n<expires>", as documented', () => {
    const url = signUrl('rtmp://ingest.example/live/cam1', {
      secret: 's3cret',
      action: 'publish',
      expiresIn: 60,
      now,
    });
    const expires = NOW / 1000 + 60;
    const expected = createHmac('sha256', 's3cret').update(`publish\nlive/cam1\n${expires}`).digest('hex');
    expect(url).toBe(`rtmp://ingest.example/live/cam1?expires=${expires}&sig=${expected}`);
    expect(streamSignature('s3cret', 'publish', 'live', 'cam1', expires)).toBe(expected);
  });

  it('keeps other query parameters, replaces an older signature, reads app/instance and http(s) play URLs', () => {
    const once = signUrl('rtmps://h:4443/app/inst/key?token=1', {
      secret: 's',
      action: 'play',
      expires: 2_000_000_000,
    });
    const twice = signUrl(once, { secret: 's', action: 'play', expires: 2_000_000_001 });
    expect(queryOf(twice).token).toBe('1');
    expect(new URL(twice).searchParams.getAll('sig')).toHaveLength(1);
    expect(queryOf(twice).sig).toBe(streamSignature('s', 'play', 'app/inst', 'key', 2_000_000_001));
    const http = signUrl('https://cdn.example/live/cam1.flv', {
      secret: 's',
      action: 'play',
      expires: new Date(2_000_000_000_000),
    });
    expect(queryOf(http).sig).toBe(streamSignature('s', 'play', 'live', 'cam1', 2_000_000_000));
    const hls = signUrl('https://cdn.example/live/cam1/index.m3u8', {
      secret: 's',
      action: 'play',
      expires: 7,
    });
    expect(queryOf(hls).sig).toBe(streamSignature('s', 'play', 'live', 'cam1', 7));
  });

  it('accepts a genuine link until it expires, and refuses missing, expired and forged ones', () => {
    const policy = { publishSecret: 'pub', playSecret: 'play', now };
    const check = (url: string, action: 'publish' | 'play', secretsFor: SignedUrlPolicy = policy) => {
      const { pathname } = new URL(url);
      const [, app, key] = pathname.split('/');
      return checkStreamSignature(secretsFor, { action, app: app!, key: key!, query: queryOf(url) });
    };
    const good = signUrl('rtmp://h/live/cam1', { secret: 'pub', action: 'publish', expiresIn: 10, now });
    expect(check(good, 'publish')).toEqual({ valid: true });
    // At the second it expires it still holds; one second later it does not.
    const atExpiry = { ...policy, now: () => NOW + 10_000 };
    expect(check(good, 'publish', atExpiry)).toEqual({ valid: true });
    expect(check(good, 'publish', { ...policy, now: () => NOW + 11_000 })).toEqual({
      valid: false,
      reason: 'expired',
    });
    expect(check('rtmp://h/live/cam1', 'publish')).toEqual({ valid: false, reason: 'missing' });
    const forged = [
      good.replace(/expires=(\d+)/, (_m, e: string) => `expires=${Number(e) + 3600}`),
      good.replace('/cam1', '/cam2'),
      good.replace('/live/', '/other/'),
      good.replace(/sig=(.)/, (_m, c: string) => `sig=${c === '0' ? '1' : '0'}`),
      good.replace(/sig=[0-9a-f]+/, 'sig=zz'),
      good.replace(/sig=[0-9a-f]+/, 'sig='),
      good.replace(/expires=\d+&/, ''),
      good.replace(/expires=\d+/, 'expires=-1'),
      signUrl('rtmp://h/live/cam1', { secret: 'other', action: 'publish', now }),
    ];
    for (const url of forged) expect(check(url, 'publish'), url).toEqual({ valid: false, reason: 'invalid' });
    // A play link does not publish, even signed with the publish secret; each action has its own secret.
    expect(check(signUrl('rtmp://h/live/cam1', { secret: 'pub', action: 'play', now }), 'publish')).toEqual({
      valid: false,
      reason: 'invalid',
    });
    expect(check(signUrl('rtmp://h/live/cam1', { secret: 'play', action: 'play', now }), 'play')).toEqual({
      valid: true,
    });
    // An action without a secret needs no signature.
    expect(check('rtmp://h/live/cam1', 'play', { publishSecret: 'pub', now })).toEqual({ valid: true });
    // Upper-case hex is the same signature.
    expect(
      check(
        good.replace(/sig=([0-9a-f]+)/, (_m, h: string) => `sig=${h.toUpperCase()}`),
        'publish',
      ),
    ).toEqual({ valid: true });
  });

  it("accepts node-media-server's ?sign=<expiry>-<md5> only when asked to", () => {
    const url = signUrl('rtmp://h/live/cam1', {
      secret: 'k',
      action: 'play',
      format: 'node-media-server',
      expiresIn: 60,
      now,
    });
    expect(queryOf(url).sign).toMatch(new RegExp(`^${NOW / 1000 + 60}-[0-9a-f]{32}$`));
    const request = { action: 'play' as const, app: 'live', key: 'cam1', query: queryOf(url) };
    expect(checkStreamSignature({ playSecret: 'k', now }, request)).toEqual({
      valid: false,
      reason: 'missing',
    });
    const nms = { playSecret: 'k', nodeMediaServer: true, now };
    expect(checkStreamSignature(nms, request)).toEqual({ valid: true });
    expect(checkStreamSignature({ ...nms, now: () => NOW + 61_000 }, request)).toEqual({
      valid: false,
      reason: 'expired',
    });
    expect(checkStreamSignature(nms, { ...request, key: 'cam2' })).toEqual({
      valid: false,
      reason: 'invalid',
    });
    for (const sign of ['', '-', '123', 'abc-def', `${NOW / 1000}-${'0'.repeat(32)}`]) {
      expect(checkStreamSignature(nms, { ...request, query: { sign } }), sign).toEqual({
        valid: false,
        reason: 'invalid',
      });
    }
  });

  it('refuses bad arguments with ERR_RTMP_INVALID_OPTION', () => {
    for (const [url, options] of [
      ['rtmp://h/live/cam1', { secret: '', action: 'publish' }],
      ['rtmp://h/live/cam1', { secret: 's', action: 'delete' }],
      ['not a url', { secret: 's', action: 'play' }],
      ['rtmp://h/live', { secret: 's', action: 'play' }],
      ['rtmp://h/live/cam1', { secret: 's', action: 'play', expires: 1.5 }],
    ] as const) {
      expect(() => signUrl(url, options as Parameters<typeof signUrl>[1])).toThrow(
        expect.objectContaining({ code: 'ERR_RTMP_INVALID_OPTION' }),
      );
    }
    expect(() => signUrl('rtmp://h/live', { secret: 's', action: 'play' })).toThrow(RtmpError);
  });
});
