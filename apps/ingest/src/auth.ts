import { checkStreamSignature, type SignedUrlPolicy } from '@rtmp/server';

/** What a peer asks to do with a stream. */
export type StreamAction = 'publish' | 'play';

/** One authorization request, also the JSON body POSTed to `--keys-url`. */
export interface AuthRequest {
  readonly action: StreamAction;
  readonly app: string;
  /** Stream key without its query string. */
  readonly key: string;
  /** Query string after `?` in the stream name (empty when none). */
  readonly query: string;
  /** Remote address of the peer. */
  readonly ip: string;
}

/** The answer of {@link Authorizer.authorize}. */
export type AuthDecision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/** Options of {@link Authorizer}. */
export interface AuthorizerOptions {
  readonly apps: readonly string[];
  /** Allowed keys; `null` accepts any. Applies to publishing only: players of a live key need no secret. */
  readonly keys: readonly string[] | null;
  readonly keysUrl: string | null;
  readonly keysUrlTimeoutMs: number;
  /**
   * Signed links (`--sign-*`) for the requests this authorizer decides: the HTTP-FLV, WS-FLV and HLS viewers (RTMP
   * sessions are checked by `signedUrlHandler` before they get here). Checked before `--keys-url`.
   */
  readonly signing?: SignedUrlPolicy | undefined;
  /** Told of every request refused for its signature (logs and metrics). */
  readonly onSignatureRefused?:
    | ((request: AuthRequest, reason: 'missing' | 'expired' | 'invalid') => void)
    | undefined;
  /** Injectable fetch for tests. */
  readonly fetch?: typeof fetch;
}

/** Splits `key?token=x` into key and query. */
export function splitStreamName(name: string): { key: string; query: string } {
  const q = name.indexOf('?');
  return q < 0 ? { key: name, query: '' } : { key: name.slice(0, q), query: name.slice(q + 1) };
}

/**
 * Decides who may publish and play: allowed apps, the static key list (publishing), the signed link (with
 * `signing`), then the optional HTTP callback (both actions). Never throws: a failing callback denies.
 */
export class Authorizer {
  private readonly apps: ReadonlySet<string>;
  private readonly keys: ReadonlySet<string> | null;
  private readonly options: AuthorizerOptions;

  constructor(options: AuthorizerOptions) {
    this.options = options;
    this.apps = new Set(options.apps);
    this.keys = options.keys === null ? null : new Set(options.keys);
  }

  /** Whether `app` is served at all (checked at connect). */
  appAllowed(app: string): boolean {
    return this.apps.has(app);
  }

  /** Decides one publish or play request. */
  async authorize(req: AuthRequest): Promise<AuthDecision> {
    if (!this.apps.has(req.app)) return { allowed: false, reason: `unknown app "${req.app}"` };
    if (req.key === '') return { allowed: false, reason: 'empty stream key' };
    if (req.action === 'publish' && this.keys !== null && !this.keys.has(req.key)) {
      return { allowed: false, reason: 'stream key not allowed' };
    }
    const signing = this.options.signing;
    if (signing !== undefined) {
      const check = checkStreamSignature(signing, {
        action: req.action,
        app: req.app,
        key: req.key,
        query: Object.fromEntries(new URLSearchParams(req.query)),
      });
      if (!check.valid) {
        this.options.onSignatureRefused?.(req, check.reason);
        return { allowed: false, reason: `signature ${check.reason}` };
      }
    }
    const url = this.options.keysUrl;
    if (url === null) return { allowed: true };
    const doFetch = this.options.fetch ?? fetch;
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(req),
        signal: AbortSignal.timeout(this.options.keysUrlTimeoutMs),
      });
      // Drain the body so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { allowed: true };
      return { allowed: false, reason: `keys-url answered ${res.status}` };
    } catch (e) {
      return { allowed: false, reason: `keys-url failed: ${(e as Error).message}` };
    }
  }
}
