import type { ClientSession } from '@rtmp/server';

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
