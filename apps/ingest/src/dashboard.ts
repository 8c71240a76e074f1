import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { type HttpRoute, type RequestPath, sendJson } from './http.js';

/** A file the dashboard serves, read once at start (the page, its script, the player libraries). */
interface Asset {
  readonly type: string;
  readonly body: Buffer;
  readonly etag: string;
}

/** What the page needs to know about the server to build its URLs. */
export interface DashboardInfo {
  /** The RTMP port (the copyable `rtmp://` URL for OBS, ffplay, VLC). */
  readonly rtmpPort: number;
  readonly apps: readonly string[];
  /** HLS is on (`--hls` other than `off`): the page offers an HLS button (hls.js). */
  readonly hls: boolean;
}

const PUBLIC = new URL('../public/', import.meta.url);
const require = createRequire(import.meta.url);

/**
 * The dashboard at `GET /`: a plain page (public/index.html, public/dashboard.js) listing the live streams from
 * `/api/streams`, with a player per stream (mpegts.js over WS-FLV or HTTP-FLV). Everything is served by the app
 * from its own files and npm packages, read once at start: no CDN, so it works offline and behind firewalls.
 * hls.js plays HLS; another player library is one {@link Dashboard.addAsset} call and one entry in the page's
 * `TRANSPORTS` table.
 */
export class Dashboard implements HttpRoute {
  readonly #assets = new Map<string, Asset>();
  readonly #info: () => DashboardInfo;

  private constructor(info: () => DashboardInfo) {
    this.#info = info;
  }

  /** Reads the page, mpegts.js and hls.js (from their npm packages). */
  static async load(info: () => DashboardInfo): Promise<Dashboard> {
    const dashboard = new Dashboard(info);
    const page = fileURLToPath(new URL('index.html', PUBLIC));
    await dashboard.addAsset('/', page, 'text/html; charset=utf-8');
    await dashboard.addAsset('/index.html', page, 'text/html; charset=utf-8');
    await dashboard.addAsset('/dashboard.js', fileURLToPath(new URL('dashboard.js', PUBLIC)), JS);
    await dashboard.addAsset('/vendor/mpegts.js', require.resolve('mpegts.js'), JS);
    await dashboard.addAsset('/vendor/hls.js', require.resolve('hls.js/dist/hls.min.js'), JS);
    return dashboard;
  }

  /** Serves `file` at `path` (e.g. `/vendor/hls.js`), read now and kept in memory. */
  async addAsset(path: string, file: string, type: string): Promise<void> {
    const body = await readFile(file);
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    this.#assets.set(path, { type, body, etag });
  }

  request(req: IncomingMessage, res: ServerResponse, path: RequestPath): boolean {
    if (path.path === '/api/dashboard') {
      sendJson(res, 200, this.#info());
      return true;
    }
    const asset = this.#assets.get(path.path);
    if (asset === undefined) return false;
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, { etag: asset.etag });
      res.end();
      return true;
    }
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': asset.body.byteLength,
      etag: asset.etag,
      // Revalidated each time: a restarted server with a new version is picked up at once.
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  }
}

const JS = 'text/javascript; charset=utf-8';
