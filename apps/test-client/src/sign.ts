import { type SignedAction, signUrl } from '@rtmp/client';
import { parseNumber, UsageError } from './common.js';
import { parse } from './options.js';

export const signHelp = `Usage: rtmp-test-client sign <url> --secret <secret> --action publish|play [--expires-in s | --expires unix] [--nms]

Prints <url> with an expiry and a signature added, as a server started with --sign-secret (rtmp-ingest) checks
them: ?expires=<unix seconds>&sig=<hex HMAC-SHA256 of "<action>\\n<app>/<key>\\n<expires>">. A play link cannot be
used to publish. Works for rtmp[s]:// URLs (publish in OBS/FFmpeg, or play) and http[s]:// play URLs
(/live/cam1.flv signs live/cam1).

Options:
  --secret <s>        the shared secret (required)
  --action <a>        publish or play (required)
  --expires-in <s>    seconds from now (default 3600)
  --expires <unix>    an absolute expiry, in Unix seconds
  --nms               node-media-server's format instead: ?sign=<expires>-<md5> (rtmp-ingest --sign-nms)
  --json              print {"ok":true,"command":"sign","url":...,"expires":...}
  -h, --help          this help`;

/** `sign`: returns the process exit code. */
export async function signCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    secret: { type: 'string' },
    action: { type: 'string' },
    'expires-in': { type: 'string' },
    expires: { type: 'string' },
    nms: { type: 'boolean' },
  });
  if (values.help) {
    console.log(signHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('expected <url>');
  const secret = values.secret;
  if (secret === undefined || secret === '') throw new UsageError('--secret is required');
  const action = values.action;
  if (action !== 'publish' && action !== 'play') throw new UsageError('--action must be publish or play');
  if (values.expires !== undefined && values['expires-in'] !== undefined) {
    throw new UsageError('give --expires or --expires-in, not both');
  }
  const signedAction: SignedAction = action;
  const expires =
    values.expires === undefined
      ? Math.floor(Date.now() / 1000) + parseNumber(values['expires-in'], 'expires-in', 3600)
      : parseNumber(values.expires, 'expires', 0);
  if (!Number.isSafeInteger(expires)) throw new UsageError('the expiry must be a whole number of seconds');
  let url: string;
  try {
    url = signUrl(positionals[0]!, {
      secret,
      action: signedAction,
      expires,
      format: values.nms ? 'node-media-server' : 'hmac',
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.json) console.log(JSON.stringify({ ok: true, command: 'sign', url, action, expires }));
  else console.log(url);
  return 0;
}
