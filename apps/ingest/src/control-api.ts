import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidStreamUrl } from '@rtmp/restream';
import type { IngestConfig } from './config.js';
import type { HttpIntercept } from './http.js';
import type { Integrations } from './integrations.js';
import type { Logger } from './logger.js';
import { OPENAPI } from './openapi.js';

/** Largest request body the control API reads. */
const MAX_BODY = 16 * 1024;

function json(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): true {
  const body = status === 204 ? '' : `${JSON.stringify(value, null, 2)}\n`;
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
  return true;
}

/** Whether a peer address is on loopback (127.0.0.0/8, ::1, or 127.x mapped into IPv6). */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** Constant-time check of an `Authorization: Bearer <token>` header (digests, so that lengths leak nothing). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (match === null) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(match[1]?.trim() ?? ''), digest(token));
}

/** Reads a JSON object body of at most {@link MAX_BODY} bytes; undefined when it is not one. */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const piece = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += piece.byteLength;
    if (size > MAX_BODY) return undefined;
    chunks.push(piece);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value))
      : undefined;
  } catch {
    return undefined;
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const CONTROL = /^\/api\/(sessions(\/[^/]+)?|pushes(\/[^/]+)?|pulls|streams\/[^/]+\/[^/]+\/recording)$/;

/**
 * The control API of the HTTP port (`--api-token`): sessions (list, kick), recording on request, pushes (list,
 * start, stop) and pulls (list), plus `GET /api/openapi.json`. With `--api-bind loopback`, `/api/*` and `/metrics`
 * answer 403 to anyone but 127.0.0.0/8 and ::1. Without a token the control endpoints answer 403; with one, a
 * request without it or with another one gets 401 and changes nothing.
 */
export function controlApi(config: IngestConfig, integrations: Integrations, log: Logger): HttpIntercept {
  const { token, bind } = config.api;
  const refuse = (res: ServerResponse, status: 401 | 403, error: string) => {
    integrations.metrics.apiRefusals.inc({ status: String(status) });
    return json(
      res,
      status,
      { error },
      status === 401 ? { 'www-authenticate': 'Bearer realm="rtmp-ingest"' } : {},
    );
  };
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (!path.startsWith('/api/') && path !== '/metrics') return false;
    if (bind === 'loopback' && !isLoopback(req.socket.remoteAddress)) {
      return refuse(res, 403, 'the API answers loopback clients only (--api-bind loopback)');
    }
    if (path === '/api/openapi.json' && (req.method === 'GET' || req.method === 'HEAD')) {
      return json(res, 200, OPENAPI);
    }
    if (!CONTROL.test(path)) return false;
    if (token === null) return refuse(res, 403, 'the control API is off: start the server with --api-token');
    if (!bearerMatches(req.headers.authorization, token)) {
      return refuse(res, 401, 'a valid bearer token is required (Authorization: Bearer <--api-token>)');
    }
    const method = req.method ?? 'GET';
    const parts = path.split('/').slice(2).map(decode);
    const notAllowed = (allow: string) => json(res, 405, { error: 'method not allowed' }, { allow });
    switch (parts[0]) {
      case 'sessions': {
        if (parts.length === 1) {
          if (method !== 'GET') return notAllowed('GET');
          return json(res, 200, { sessions: integrations.sessions.list() });
        }
        if (method !== 'DELETE') return notAllowed('DELETE');
        const session = integrations.sessions.get(Number(parts[1]));
        if (session === undefined) return json(res, 404, { error: `no session ${parts[1]}` });
        log.info({ session: session.id, remote: session.remote }, 'session kicked (control API)');
        session.close();
        return json(res, 204, null);
      }
      case 'pushes': {
        const { restreamer } = integrations;
        if (parts.length === 2) {
          if (method !== 'DELETE') return notAllowed('DELETE');
          if (!restreamer.remove(parts[1] ?? '')) return json(res, 404, { error: `no push ${parts[1]}` });
          log.info({ id: parts[1] }, 'push removed (control API)');
          return json(res, 204, null);
        }
        if (method === 'GET') return json(res, 200, { pushes: restreamer.pushes().map((p) => p.info()) });
        if (method !== 'POST') return notAllowed('GET, POST');
        const body = await readJson(req);
        const { app, key, url: target } = body ?? {};
        if (typeof app !== 'string' || typeof key !== 'string' || typeof target !== 'string') {
          return json(res, 400, {
            error: 'expected a JSON body {"app": "...", "key": "...", "url": "rtmp(s)://..."}',
          });
        }
        if (!config.apps.includes(app) || key === '' || key.includes('/')) {
          return json(res, 400, { error: `unknown app "${app}" or invalid key` });
        }
        const problem = invalidStreamUrl(target);
        if (problem !== undefined) return json(res, 400, { error: problem.message });
        const push = restreamer.push(`${app}/${key}`, target);
        log.info({ stream: push.key, target: push.target, id: push.id }, 'push added (control API)');
        return json(res, 201, push.info(), { location: `/api/pushes/${push.id}` });
      }
      case 'pulls':
        if (method !== 'GET') return notAllowed('GET');
        return json(res, 200, { pulls: integrations.puller?.pulls().map((p) => p.info()) ?? [] });
      default: {
        // streams/<app>/<key>/recording
        const app = parts[1] ?? '';
        const key = parts[2] ?? '';
        const { recordings } = integrations;
        if (method !== 'POST' && method !== 'DELETE') return notAllowed('POST, DELETE');
        const answer = method === 'POST' ? recordings.start(app, key) : await recordings.stop(app, key);
        if (!answer.ok) return json(res, answer.status, { error: answer.error });
        return json(res, method === 'POST' ? 201 : 200, { app, key, path: answer.path, bytes: answer.bytes });
      }
    }
  };
}
