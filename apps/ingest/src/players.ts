import type { ClientSession, LiveRelay } from '@rtmp/server';

/**
 * Who plays what: for each relay key (`<app>/<key>`, from `LiveRelay.keyFor`), the sessions playing it and the
 * message stream ids they play it on (one session may play the same key on several streams).
 */
export class PlayerTable {
  private readonly byKey = new Map<string, Map<ClientSession, Set<number>>>();

  /** Records that `session` plays `key` on message stream `streamId`. */
  add(key: string, session: ClientSession, streamId: number): void {
    let sessions = this.byKey.get(key);
    if (sessions === undefined) this.byKey.set(key, (sessions = new Map()));
    let ids = sessions.get(session);
    if (ids === undefined) sessions.set(session, (ids = new Set()));
    ids.add(streamId);
  }

  /** Forgets one play; false when it was not recorded. */
  remove(key: string, session: ClientSession, streamId: number): boolean {
    const sessions = this.byKey.get(key);
    const ids = sessions?.get(session);
    if (sessions === undefined || ids === undefined || !ids.delete(streamId)) return false;
    if (ids.size === 0) sessions.delete(session);
    if (sessions.size === 0) this.byKey.delete(key);
    return true;
  }

  /** Plays of `key` (a session playing it on two streams counts twice). */
  count(key: string): number {
    let n = 0;
    for (const ids of this.byKey.get(key)?.values() ?? []) n += ids.size;
    return n;
  }

  /** The sessions playing `key`. */
  sessions(key: string): Iterable<ClientSession> {
    return this.byKey.get(key)?.keys() ?? [];
  }
}

/**
 * Viewers of relay key `key` by protocol: RTMP players as the table counts them (a session playing it on two
 * streams counts twice), every other protocol (`http-flv`, `ws-flv`...) as the relay counts its subscribers.
 */
export function viewersByProtocol(relay: LiveRelay, table: PlayerTable, key: string): Record<string, number> {
  const counts: Record<string, number> = {};
  const rtmp = table.count(key);
  if (rtmp > 0) counts.rtmp = rtmp;
  for (const [protocol, n] of Object.entries(relay.stats(key)?.playersByProtocol ?? {})) {
    if (protocol !== 'rtmp' && n > 0) counts[protocol] = n;
  }
  return counts;
}

/** The total of {@link viewersByProtocol}. */
export function viewerCount(counts: Record<string, number>): number {
  let n = 0;
  for (const count of Object.values(counts)) n += count;
  return n;
}
