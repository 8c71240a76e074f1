import {
  type ClientSession,
  type LiveRelay,
  normaliseApp,
  type RtmpHandler,
  type RtmpHandlerFactory,
  reject,
} from '@rtmp/server';
import { type Authorizer, splitStreamName } from './auth.js';
import type { IngestConfig } from './config.js';
import type { Logger } from './logger.js';
import type { IngestMetrics } from './metrics.js';
import { type PlayerTable, viewerCount, viewersByProtocol } from './players.js';
import type { LiveStream, StreamRegistry } from './streams.js';

/** What the per-connection handler decides with and reports to; one of each per ingest server. */
export interface SessionHandlerContext {
  readonly config: IngestConfig;
  readonly log: Logger;
  readonly auth: Authorizer;
  readonly registry: StreamRegistry;
  readonly metrics: IngestMetrics;
  /** The relay the handler is wrapped in (`relay.handler(createSessionHandler(...))`): its keys and drop counts. */
  readonly relay: LiveRelay;
  readonly players: PlayerTable;
}

/** Where a peer is, for logs and the keys callback. */
function ipOf(session: ClientSession): string {
  return session.connection.socket.remoteAddress ?? '';
}

/**
 * The ingest's decisions for one connection, to be wrapped by `LiveRelay.handler`: allowed apps at connect, the
 * publisher and player limits and the authorizer at publish/play, then the stream's statistics probe and recording
 * (fed from `handleMessage`) and the player table for the API. Ends what the connection published or played when it
 * unpublishes, stops or goes away.
 */
export function createSessionHandler(context: SessionHandlerContext): RtmpHandlerFactory<unknown> {
  const { config, log, auth, registry, metrics, relay, players } = context;
  return (_options, session) => {
    const slog = log.child({ session: session.id, remote: session.remote });
    let app = '';
    const published = new Map<number, LiveStream>();
    /** Relay keys by play stream id. */
    const playing = new Map<number, string>();

    const endPublish = (streamId: number, reason: string) => {
      const stream = published.get(streamId);
      if (stream === undefined) return;
      published.delete(streamId);
      void registry.end(stream, reason);
    };
    const endPlay = (streamId: number) => {
      const key = playing.get(streamId);
      if (key === undefined) return;
      playing.delete(streamId);
      if (players.remove(key, session, streamId)) {
        metrics.players.dec();
        slog.info({ stream: key, players: players.count(key) }, 'play stopped');
      }
    };

    const handler: RtmpHandler = {
      handleConnect: (info) => {
        // Keyed as the relay keys its streams.
        app = normaliseApp(info.app);
        if (!auth.appAllowed(app)) {
          slog.warn({ app }, 'connect refused: unknown app');
          metrics.error('INGEST_APP_REFUSED');
          return reject(`unknown app "${app}" (allowed: ${config.apps.join(', ')})`);
        }
        slog.debug({ app, tcUrl: info.tcUrl, flashVer: info.properties.flashVer }, 'connect');
        return undefined;
      },
      handlePublish: async (streamKey, info) => {
        if (registry.all().length >= config.limits.maxPublishers) {
          slog.warn({ key: streamKey }, 'publish refused: too many publishers');
          return reject(`too many publishers (max ${config.limits.maxPublishers})`);
        }
        const { query } = splitStreamName(info.name);
        const decision = await auth.authorize({
          action: 'publish',
          app,
          key: streamKey,
          query,
          ip: ipOf(session),
        });
        if (!decision.allowed) {
          slog.warn({ app, key: streamKey, reason: decision.reason }, 'publish refused');
          metrics.error('INGEST_PUBLISH_REFUSED');
          return reject(decision.reason, 'NetStream.Publish.Unauthorized');
        }
        return undefined;
      },
      handlePlay: async (play) => {
        const limit = config.limits.maxPlayersPerStream;
        if (viewerCount(viewersByProtocol(relay, players, relay.keyFor(session, play.name))) >= limit) {
          slog.warn({ key: play.name }, 'play refused: too many players');
          return reject(`too many players (max ${limit})`, 'NetStream.Play.Failed');
        }
        const { query } = splitStreamName(play.rawName);
        const decision = await auth.authorize({
          action: 'play',
          app,
          key: play.name,
          query,
          ip: ipOf(session),
        });
        if (!decision.allowed) {
          slog.warn({ app, key: play.name, reason: decision.reason }, 'play refused');
          metrics.error('INGEST_PLAY_REFUSED');
          return reject(decision.reason, 'NetStream.Play.Failed');
        }
        return undefined;
      },
      // Publish/play acceptance is final only after the relay's own decision (BadName): the start hooks say so.
      handlePublishStart: (info) => {
        const key = relay.keyFor(session, info.streamKey);
        const stream = registry.begin(app, info.streamKey, {
          session: session.id,
          remote: session.remote,
          type: info.type,
        });
        stream.io = {
          bytesIn: () => session.connection.bytesIn,
          bytesOut: () => {
            let n = 0;
            for (const player of players.sessions(key)) n += player.connection.bytesOut;
            return n;
          },
          players: () => viewerCount(viewersByProtocol(relay, players, key)),
          playersByProtocol: () => viewersByProtocol(relay, players, key),
          droppedFrames: () => relay.stats(key)?.droppedMessages ?? 0,
        };
        published.set(info.streamId, stream);
      },
      handlePlayStart: (info) => {
        const key = relay.keyFor(session, info.name);
        playing.set(info.streamId, key);
        players.add(key, session, info.streamId);
        metrics.players.inc();
        slog.info(
          { app, key: info.name, live: relay.isLive(key), players: players.count(key) },
          'play started',
        );
      },
      handleMessage: (message, context) => {
        const stream = published.get(context.streamId);
        const type = message.type;
        if (stream !== undefined && (type === 8 || type === 9 || type === 18)) {
          stream.media(type, message.timestamp, message.payload);
        }
      },
      handleUnpublish: (context) =>
        // On a dropped or crashed publisher the session unpublishes for it while closing.
        endPublish(context.streamId, session.closed ? 'publisher disconnected' : 'unpublish'),
      handleStop: (context) => endPlay(context.streamId),
      handleDisconnect: (error) => {
        for (const id of [...published.keys()])
          endPublish(id, error ? `publisher failed: ${error.code}` : 'disconnect');
        for (const id of [...playing.keys()]) endPlay(id);
        if (error) slog.warn({ code: error.code, err: error.message }, 'connection ended with an error');
        else slog.debug('disconnected');
      },
    };
    return handler;
  };
}
