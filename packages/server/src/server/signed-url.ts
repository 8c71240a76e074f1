import { checkStreamSignature, RtmpError, type SignedAction, type SignedUrlPolicy } from '@rtmp/connection';
import { type RtmpHandler, type RtmpHandlerFactory, reject } from './handler.js';
import type { ClientSession } from './session.js';
import { normaliseApp } from './util.js';

/** A refusal, as {@link SignedUrlHandlerOptions.onRefused} reports it. */
export interface SignatureRefusal {
  action: SignedAction;
  app: string;
  key: string;
  reason: 'missing' | 'expired' | 'invalid';
  session: ClientSession;
}

/** Options of {@link signedUrlHandler}: the policy, and a hook for logs and metrics. */
export interface SignedUrlHandlerOptions extends SignedUrlPolicy {
  /** Called for each refused publish or play (before the refusal is sent). */
  onRefused?: ((refusal: SignatureRefusal) => void) | undefined;
}

const DESCRIPTIONS = {
  missing: 'a signed URL is required',
  expired: 'the signed URL has expired',
  invalid: 'the URL signature is invalid',
} as const;

/**
 * A handler factory that requires signed links (see {@link checkStreamSignature}) before `inner` decides: a publish
 * without a valid signature is refused with `NetStream.Publish.Unauthorized`, a play with `NetStream.Play.Failed`
 * (the description says whether it was missing, expired or invalid). Everything else is `inner`'s.
 *
 * @example
 * ```ts
 * const server = new RtmpServer({ handler: relay.handler(signedUrlHandler({ publishSecret: process.env.SECRET })) });
 * ```
 */
export function signedUrlHandler<O>(
  options: SignedUrlHandlerOptions,
  inner?: RtmpHandlerFactory<O>,
): RtmpHandlerFactory<O> {
  for (const secret of [options.publishSecret, options.playSecret]) {
    if (secret !== undefined && (typeof secret !== 'string' || secret === '')) {
      throw new RtmpError('ERR_RTMP_INVALID_OPTION', 'a signing secret must be a non-empty string');
    }
  }
  return (handlerOptions: O, session: ClientSession): RtmpHandler => {
    const user = inner?.(handlerOptions, session) ?? {};
    const refusal = (
      action: SignedAction,
      key: string,
      query: Record<string, string>,
    ): string | undefined => {
      const app = normaliseApp(session.connectInfo?.app ?? '');
      const check = checkStreamSignature(options, { action, app, key, query });
      if (check.valid) return undefined;
      options.onRefused?.({ action, app, key, reason: check.reason, session });
      return DESCRIPTIONS[check.reason];
    };
    return {
      ...user,
      handlePublish: (streamKey, info) => {
        const refused = refusal('publish', streamKey, info.query);
        if (refused !== undefined) return reject(refused, 'NetStream.Publish.Unauthorized');
        return user.handlePublish?.call(user, streamKey, info);
      },
      handlePlay: (play) => {
        const refused = refusal('play', play.name, play.query);
        if (refused !== undefined) return reject(refused, 'NetStream.Play.Failed');
        return user.handlePlay?.call(user, play);
      },
    };
  };
}
