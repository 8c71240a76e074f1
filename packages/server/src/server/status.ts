import { type AmfObject, type AmfValue, createAmfObject } from '@rtmp/amf';
import type { ServerErrorCode } from '@rtmp/connection';

/** The `level` of an info object. */
export type StatusLevel = 'status' | 'error' | 'warning';

/**
 * The info object of every status the session sends: `onStatus`, the `_result`/`_error` of `connect`, a failed call's
 * `_error`, and the onFCPublish/onFCUnpublish/onFCSubscribe notices. Keys go on the wire in this order: `level`,
 * `code`, `description`, then `extra` in its own order. The onFC* notices carry no `level` (pass `undefined`): they
 * have none in the servers clients were written against, and adding one would change the bytes we send.
 */
export function statusInfo(
  level: StatusLevel | undefined,
  code: string,
  description: string,
  extra?: Readonly<Record<string, AmfValue>>,
): AmfObject {
  const info = createAmfObject();
  if (level !== undefined) info.level = level;
  info.code = code;
  info.description = description;
  if (extra !== undefined) for (const [key, value] of Object.entries(extra)) info[key] = value;
  return info;
}

/** A command the handler (or the session itself) may refuse. */
export type RefusedCommand = 'connect' | 'publish' | 'play';

/** What a refusal sends by default and the error the session then closes with. */
export const REFUSALS: Readonly<Record<RefusedCommand, { status: string; error: ServerErrorCode }>> = {
  connect: { status: 'NetConnection.Connect.Rejected', error: 'ERR_RTMP_CONNECT_REJECTED' },
  publish: { status: 'NetStream.Publish.Rejected', error: 'ERR_RTMP_PUBLISH_REJECTED' },
  play: { status: 'NetStream.Play.StreamNotFound', error: 'ERR_RTMP_PLAY_REJECTED' },
};
