import type { RtmpHandler, RtmpHandlerFactory } from '../server/handler.js';
import { reject } from '../server/handler.js';
import type { ClientSession } from '../server/session.js';
import type { LiveRelay } from './relay.js';

/**
 * The handler factory behind {@link LiveRelay.handler}: accepts everything, relays publishers to players, refuses a
 * second publisher of a live key with NetStream.Publish.BadName, and lets `inner` decide first. It works through the
 * handler contract alone (no session listeners): a play joins the relay in `handlePlayStart`, once it is final, and
 * leaves it in `handleStop`; the relay's part of each callback runs before `inner`'s.
 */
export function relayHandler<O>(relay: LiveRelay, inner?: RtmpHandlerFactory<O>): RtmpHandlerFactory<O> {
  return (options: O, session: ClientSession): RtmpHandler => {
    const user = inner?.(options, session) ?? {};
    // Relay keys by message stream id, computed once per publish/play: media messages then cost a map lookup,
    // not a string built per message.
    const published = new Map<number, string>();
    const playing = new Map<number, string>();
    return {
      ...user,
      handlePublish: async (streamKey, info) => {
        const decision = await user.handlePublish?.call(user, streamKey, info);
        if (typeof decision === 'object' && decision !== null) return decision;
        if (session.closed) return reject('closed');
        const key = relay.keyFor(session, streamKey);
        if (!relay.publish(key, session, info.streamId)) {
          return reject(`${streamKey} is already being published`, 'NetStream.Publish.BadName');
        }
        published.set(info.streamId, key);
        return decision;
      },
      handlePlayStart: (info) => {
        const key = relay.keyFor(session, info.name);
        playing.set(info.streamId, key);
        relay.play(key, session, info.streamId);
        return user.handlePlayStart?.call(user, info);
      },
      handleStop: (context) => {
        const key = playing.get(context.streamId) ?? relay.keyFor(session, context.streamKey);
        playing.delete(context.streamId);
        relay.stop(key, session, context.streamId);
        return user.handleStop?.call(user, context);
      },
      handleUnpublish: (context) => {
        const key = published.get(context.streamId) ?? relay.keyFor(session, context.streamKey);
        published.delete(context.streamId);
        relay.unpublish(key, session);
        return user.handleUnpublish?.call(user, context);
      },
      handleMessage: (message, context) => {
        const key = published.get(context.streamId);
        if (key !== undefined) relay.push(key, session, message);
        user.handleMessage?.call(user, message, context);
      },
      handleDisconnect: (error) => {
        relay.removeSession(session);
        return user.handleDisconnect?.call(user, error);
      },
    };
  };
}
