import type { WebhookNotice } from '@rtmp/restream';
import { type ClientSession, normaliseApp, type RtmpServer } from '@rtmp/server';

/** The listener a session was accepted on. */
export type SessionProtocol = 'rtmp' | 'rtmps';

/** One stream of a session, in a {@link SessionApiEntry}. */
export interface SessionStreamEntry {
  streamId: number;
  role: 'publisher' | 'player';
  /** The stream key (without its query). */
  key: string;
}

/** One entry of `GET /api/sessions`. */
export interface SessionApiEntry {
  /** The id `DELETE /api/sessions/{id}` takes. */
  id: number;
  /** The peer's `address:port`. */
  address: string;
  protocol: SessionProtocol;
  /** The connect app; null before `connect`. */
  app: string | null;
  /** `publisher` when it publishes a stream, else `player` when it plays one, else `idle`. */
  role: 'publisher' | 'player' | 'idle';
  /** The key of its first stream (the one its role names), or null. */
  key: string | null;
  streams: SessionStreamEntry[];
  bytesIn: number;
  bytesOut: number;
  /** When the connection was accepted (ISO 8601). */
  since: string;
}

/** A stream of a session, with the query its name carried (for the webhook of its end). */
interface TrackedStream {
  readonly key: string;
  readonly query: string;
}

/** What the table knows of one session. */
interface Tracked {
  readonly session: ClientSession;
  readonly protocol: SessionProtocol;
  readonly since: Date;
  app: string | null;
  readonly publishes: Map<number, TrackedStream>;
  readonly plays: Map<number, TrackedStream>;
}

/** The query string after `?` in a stream name, without the `?` ('' when none). */
function queryOf(name: string): string {
  const mark = name.indexOf('?');
  return mark < 0 ? '' : name.slice(mark + 1);
}

/**
 * The RTMP connections of the app, for the control API (`GET /api/sessions`, kick) and the webhooks: who is
 * connected since when, on which listener, publishing or playing what. Fed by the listeners' `connection` and
 * `disconnect` events and each session's `connect`, `publish`, `unpublish`, `play` and `stop` (all final: a publish
 * the relay refused never shows up). `notify` receives the webhook events (connect, disconnect, publish,
 * publish_done, play, play_done).
 */
export class SessionTable {
  readonly #sessions = new Map<number, Tracked>();

  constructor(private readonly notify: (notice: WebhookNotice) => void) {}

  /** Tracks the sessions of `server` under `protocol`. */
  watch(server: RtmpServer, protocol: SessionProtocol): void {
    server.on('connection', (session) => this.#add(session, protocol));
    server.on('disconnect', (session, stats) => {
      const tracked = this.#sessions.get(session.id);
      this.#sessions.delete(session.id);
      if (tracked?.app == null) return;
      this.notify({
        ...this.#who(tracked),
        event: 'disconnect',
        orderKey: `session:${session.id}`,
        data: {
          sessionId: session.id,
          bytesIn: stats.bytesIn,
          bytesOut: stats.bytesOut,
          error: stats.error?.code ?? null,
        },
      });
    });
  }

  /** A session by id. */
  get(id: number): ClientSession | undefined {
    return this.#sessions.get(id)?.session;
  }

  /** Every open session, oldest first. */
  list(): SessionApiEntry[] {
    return [...this.#sessions.values()].map((tracked) => {
      const { session } = tracked;
      const streams: SessionStreamEntry[] = [
        ...[...tracked.publishes].map(([streamId, s]) => ({
          streamId,
          role: 'publisher' as const,
          key: s.key,
        })),
        ...[...tracked.plays].map(([streamId, s]) => ({ streamId, role: 'player' as const, key: s.key })),
      ];
      const first = streams[0];
      return {
        id: session.id,
        address: session.remote,
        protocol: tracked.protocol,
        app: tracked.app,
        role: first?.role ?? 'idle',
        key: first?.key ?? null,
        streams,
        bytesIn: session.connection.bytesIn,
        bytesOut: session.connection.bytesOut,
        since: tracked.since.toISOString(),
      };
    });
  }

  #add(session: ClientSession, protocol: SessionProtocol): void {
    const tracked: Tracked = {
      session,
      protocol,
      since: new Date(),
      app: null,
      publishes: new Map(),
      plays: new Map(),
    };
    this.#sessions.set(session.id, tracked);
    const stream = (event: string, s: TrackedStream, streamId: number, extra: Record<string, string> = {}) =>
      this.notify({
        ...this.#who(tracked),
        event,
        key: s.key,
        query: s.query,
        data: { sessionId: session.id, streamId, ...extra },
      });
    session.on('connect', (info) => {
      tracked.app = normaliseApp(info.app);
      this.notify({
        ...this.#who(tracked),
        event: 'connect',
        orderKey: `session:${session.id}`,
        data: { sessionId: session.id, tcUrl: info.tcUrl },
      });
    });
    session.on('publish', (info) => {
      const s = { key: info.streamKey, query: queryOf(info.name) };
      tracked.publishes.set(info.streamId, s);
      stream('publish', s, info.streamId, { type: info.type });
    });
    session.on('unpublish', (context) => {
      const s = tracked.publishes.get(context.streamId);
      if (s === undefined) return;
      tracked.publishes.delete(context.streamId);
      stream('publish_done', s, context.streamId);
    });
    session.on('play', (info) => {
      const s = { key: info.name, query: queryOf(info.rawName) };
      tracked.plays.set(info.streamId, s);
      stream('play', s, info.streamId);
    });
    session.on('stop', (context) => {
      const s = tracked.plays.get(context.streamId);
      if (s === undefined) return;
      tracked.plays.delete(context.streamId);
      stream('play_done', s, context.streamId);
    });
  }

  /** The fields every event of a session carries. */
  #who(tracked: Tracked): Pick<WebhookNotice, 'app' | 'clientAddress' | 'protocol'> {
    return {
      app: tracked.app,
      clientAddress: tracked.session.connection.socket.remoteAddress ?? null,
      protocol: tracked.protocol,
    };
  }
}
