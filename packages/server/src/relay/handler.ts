import type { RtmpHandler, RtmpHandlerFactory, StreamContext } from '../server/handler.js';
import { reject } from '../server/handler.js';
import type { ClientSession } from '../server/session.js';
import type { LiveRelay } from './relay.js';

/**
 * The handler factory behind {@link LiveRelay.handler}: accepts everything, relays publishers to players, refuses a
 * second publisher of a live key with NetStream.Publish.BadName, and lets `inner` decide first.
 */
export function relayHandler<O>(relay: LiveRelay, inner?: RtmpHandlerFactory<O>): RtmpHandlerFactory<O> {
  return (options: O, session: ClientSession): RtmpHandler => {
    const user = inner?.(options, session) ?? {};
    // Relay keys by message stream id, computed once per publish/play: media messages then cost a map lookup,
    // not a string built per message.
    const published = new Map<number, string>();
    const playing = new Map<number, string>();
    session.on('play', (info) => {
      const key = relay.keyFor(session, info.name);
      playing.set(info.streamId, key);
      relay.play(key, session, info.streamId);
    });
    session.on('stop', (context: StreamContext) => {
      const key = playing.get(context.streamId) ?? relay.keyFor(session, context.streamKey);
      playing.delete(context.streamId);
      relay.stop(key, session, context.streamId);
    });
    session.on('unpublish', (context: StreamContext) => {
      const key = published.get(context.streamId) ?? relay.keyFor(session, context.streamKey);
      published.delete(context.streamId);
      relay.unpublish(key, session);
    });
    session.on('close', () => relay.removeSession(session));
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
      handleMessage: (message, context) => {
        const key = published.get(context.streamId);
        if (key !== undefined) relay.push(key, session, message);
        user.handleMessage?.call(user, message, context);
      },
    };
  };
}
