import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { RtmpError } from './errors.js';

// Signed publish and play links: the scheme the server checks (`@rtmp/server`'s `signedUrlHandler`) and whoever
// hands links out signs with (`@rtmp/client`, a web backend), in the one package both depend on.

/** What a signed link allows: publishing its stream, or playing it. */
export type SignedAction = 'publish' | 'play';

/** The query parameters of a signed link: `?expires=<unix seconds>&sig=<hex>`. */
export const SIGNED_URL_PARAMS = { expires: 'expires', signature: 'sig', nodeMediaServer: 'sign' } as const;

/** Options of {@link signUrl}. */
export interface SignUrlOptions {
  /** The shared secret the server checks with (`--sign-secret`). */
  secret: string;
  /** What the link allows. A play link cannot publish, even when both use the same secret. */
  action: SignedAction;
  /** When the link expires: a `Date`, or Unix time in seconds. */
  expires?: Date | number;
  /** Or: seconds from now. Default 3 600 when `expires` is not given. */
  expiresIn?: number;
  /**
   * `'hmac'` (default): `?expires=<unix>&sig=<HMAC-SHA256 hex>`. `'node-media-server'`:
   * `?sign=<unix>-<md5 hex>`, the format of node-media-server's `auth` (accepted with `nodeMediaServer: true`).
   */
  format?: 'hmac' | 'node-media-server';
  /** The clock, in ms (tests). Default `Date.now`. */
  now?: () => number;
}

/**
 * The signature of a link: lowercase hex of HMAC-SHA256(`secret`, `"<action>\n<app>/<key>\n<expires>"`), `app`
 * being the connect app without trailing slashes, `key` the stream name without its query, `expires` Unix seconds
 * in decimal. For example, in a shell:
 * `printf 'publish\nlive/cam1\n1767225600' | openssl dgst -sha256 -hmac "$SECRET"`.
 */
export function streamSignature(
  secret: string,
  action: SignedAction,
  app: string,
  key: string,
  expires: number,
): string {
  return createHmac('sha256', secret).update(`${action}\n${app}/${key}\n${expires}`).digest('hex');
}

/** node-media-server's signature: md5 hex of `/<app>/<key>-<expires>-<secret>` (one secret for publish and play). */
function nodeMediaServerSignature(secret: string, app: string, key: string, expires: number): string {
  return createHash('md5').update(`/${app}/${key}-${expires}-${secret}`).digest('hex');
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * `url` with an expiry and a signature added to its query (any earlier ones replaced): an `rtmp[s]://` URL
 * (`rtmp://host/app/key` for OBS's or FFmpeg's publish, or a play URL), or an `http[s]://` play URL whose last
 * path segment names the stream (its extension is not part of the key: `/live/cam1.flv` signs `live/cam1`; an HLS
 * playlist `/live/cam1/index.m3u8` signs `live/cam1` too). The app is every path segment before the stream's. Hand it out; the server checks it with `@rtmp/server`'s
 * `signedUrlHandler` or with {@link checkStreamSignature}.
 *
 * @example
 * ```ts
 * signUrl('rtmp://ingest.example/live/cam1', { secret, action: 'publish', expiresIn: 3600 });
 * // rtmp://ingest.example/live/cam1?expires=1767225600&sig=5f0c...
 * ```
 * @throws {@link RtmpError} `ERR_RTMP_INVALID_OPTION` for a URL without app and stream name, an empty secret or an
 *   invalid expiry
 */
export function signUrl(url: string, options: SignUrlOptions): string {
  const { secret, action } = options;
  if (typeof secret !== 'string' || secret === '') {
    throw new RtmpError('ERR_RTMP_INVALID_OPTION', 'signUrl needs a non-empty secret');
  }
  if (action !== 'publish' && action !== 'play') {
    throw new RtmpError('ERR_RTMP_INVALID_OPTION', "signUrl action must be 'publish' or 'play'");
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new RtmpError('ERR_RTMP_INVALID_OPTION', `signUrl: not a URL: ${url}`, { cause });
  }
  const http = parsed.protocol === 'http:' || parsed.protocol === 'https:';
  const segments = parsed.pathname.split('/').filter((s) => s !== '');
  // An HLS playlist, `/<app>/<key>/index.m3u8`, signs its stream, `<app>/<key>`.
  if (http && segments.at(-1) === 'index.m3u8') segments.pop();
  if (segments.length < 2) {
    throw new RtmpError('ERR_RTMP_INVALID_OPTION', `signUrl: ${parsed.protocol}//host/<app>/<key> expected`);
  }
  const last = decode(segments.at(-1) ?? '');
  const key = http ? last.replace(/\.[A-Za-z0-9]+$/, '') : last;
  const app = segments.slice(0, -1).map(decode).join('/');
  const now = (options.now ?? Date.now)();
  const expires =
    options.expires instanceof Date
      ? Math.floor(options.expires.getTime() / 1000)
      : (options.expires ?? Math.floor(now / 1000) + (options.expiresIn ?? 3600));
  if (!Number.isSafeInteger(expires) || expires < 0) {
    throw new RtmpError('ERR_RTMP_INVALID_OPTION', 'signUrl: the expiry must be a whole number of seconds');
  }
  const params = parsed.searchParams;
  for (const name of Object.values(SIGNED_URL_PARAMS)) params.delete(name);
  if (options.format === 'node-media-server') {
    params.set(
      SIGNED_URL_PARAMS.nodeMediaServer,
      `${expires}-${nodeMediaServerSignature(secret, app, key, expires)}`,
    );
  } else {
    params.set(SIGNED_URL_PARAMS.expires, String(expires));
    params.set(SIGNED_URL_PARAMS.signature, streamSignature(secret, action, app, key, expires));
  }
  return parsed.toString();
}

/** Which links a server requires, and with which secrets. */
export interface SignedUrlPolicy {
  /** Publishes need a link signed with this secret; undefined: publishes need no signature. */
  publishSecret?: string | undefined;
  /** Plays need a link signed with this secret; undefined: plays need no signature. */
  playSecret?: string | undefined;
  /**
   * Also accept node-media-server's `?sign=<expiry>-<md5>` links made with the same secret, so that its users
   * migrate without re-issuing links. MD5 is weak: turn it off once the old links expired.
   */
  nodeMediaServer?: boolean | undefined;
  /** The clock, in ms (tests). Default `Date.now`. */
  now?: (() => number) | undefined;
}

/** What {@link checkStreamSignature} found. */
export type SignatureCheck =
  | { readonly valid: true }
  | {
      readonly valid: false;
      /** `missing`: no signature; `expired`: past its expiry; `invalid`: malformed or not made with the secret. */
      readonly reason: 'missing' | 'expired' | 'invalid';
    };

/** One publish or play to check. */
export interface SignedRequest {
  action: SignedAction;
  /** The connect app as the server keys streams by it: without trailing slashes (`@rtmp/server`'s `normaliseApp`). */
  app: string;
  /** The stream name without its query. */
  key: string;
  /** The query parameters of the stream name. */
  query: Readonly<Record<string, string>>;
}

const VALID: SignatureCheck = { valid: true };
const EXPIRES_RE = /^\d{1,15}$/;
const HMAC_HEX_RE = /^[0-9a-fA-F]{64}$/;
const MD5_HEX_RE = /^[0-9a-fA-F]{32}$/;

/** Constant-time comparison of two hex strings of the same (already checked) length. */
function sameHex(given: string, expected: string): boolean {
  const a = Buffer.from(given.toLowerCase(), 'hex');
  const b = Buffer.from(expected, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks the signature of a publish or play under `policy`: valid when the action needs none, or its query carries
 * an unexpired `expires` and the `sig` made with the action's secret (or, with `nodeMediaServer`, a valid `sign`).
 * Signatures are compared in constant time (`crypto.timingSafeEqual`).
 */
export function checkStreamSignature(policy: SignedUrlPolicy, request: SignedRequest): SignatureCheck {
  const secret = request.action === 'publish' ? policy.publishSecret : policy.playSecret;
  if (secret === undefined) return VALID;
  const { app, key, query } = request;
  const nowSec = Math.floor((policy.now ?? Date.now)() / 1000);
  const expiresText = query[SIGNED_URL_PARAMS.expires];
  const signature = query[SIGNED_URL_PARAMS.signature];
  if (expiresText !== undefined || signature !== undefined) {
    if (expiresText === undefined || signature === undefined || !EXPIRES_RE.test(expiresText)) {
      return { valid: false, reason: 'invalid' };
    }
    if (!HMAC_HEX_RE.test(signature)) return { valid: false, reason: 'invalid' };
    const expires = Number(expiresText);
    // Compared before the expiry is looked at, so that a forged link never learns whether its expiry was good.
    const genuine = sameHex(signature, streamSignature(secret, request.action, app, key, expires));
    if (!genuine) return { valid: false, reason: 'invalid' };
    return expires < nowSec ? { valid: false, reason: 'expired' } : VALID;
  }
  const sign = policy.nodeMediaServer === true ? query[SIGNED_URL_PARAMS.nodeMediaServer] : undefined;
  if (sign === undefined) return { valid: false, reason: 'missing' };
  const dash = sign.indexOf('-');
  const expiresPart = sign.slice(0, dash);
  const hash = sign.slice(dash + 1);
  if (dash < 0 || !EXPIRES_RE.test(expiresPart) || !MD5_HEX_RE.test(hash))
    return { valid: false, reason: 'invalid' };
  const expires = Number(expiresPart);
  if (!sameHex(hash, nodeMediaServerSignature(secret, app, key, expires)))
    return { valid: false, reason: 'invalid' };
  return expires < nowSec ? { valid: false, reason: 'expired' } : VALID;
}
