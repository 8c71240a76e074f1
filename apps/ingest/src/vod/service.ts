import {
  type ClientSession,
  type Decision,
  normaliseApp,
  type PlayInfo,
  type RtmpHandler,
  type RtmpHandlerFactory,
  reject,
  type StreamContext,
} from '@rtmp/server';
import type { AuthDecision, AuthRequest } from '../auth.js';
import { splitStreamName } from '../auth.js';
import type { Logger } from '../logger.js';
import { isVodApp, lookup, VOD_APP } from './paths.js';
import { VodPlayer } from './player.js';
import { type VodHandle, VodLibrary } from './source.js';

/** What the VOD service needs from the app. */
export interface VodServiceOptions {
  /** The folder served, as a real path (symlinks resolved). */
  readonly root: string;
  readonly log: Logger;
  /** Decides a play (the `--keys-url` callback); the key is the file's path under the folder. */
  readonly authorize: (request: AuthRequest) => Promise<AuthDecision>;
  /** Players of one file at once. */
  readonly maxPlayersPerFile: number;
  /** How far ahead of real time media may be sent (ms). Default 1000. */
  readonly leadMs?: number;
}

const NOT_FOUND = 'NetStream.Play.StreamNotFound';

/** A play accepted and waiting for its Play.Start: the file and where to start. */
interface Pending {
  readonly file: string;
  readonly handle: VodHandle;
  readonly info: PlayInfo;
}

/**
 * Video on demand: `rtmp://host/vod/<path>` plays the FLV or MP4/MOV file at `<path>` under the served folder, in
 * real time, with seek and pause, to any RTMP player. Wraps the app's handler: connections to the `vod` app (and its
 * folders, `vod/sub`, as librtmp splits URLs) are answered here, every other connection goes to the wrapped handler
 * as before. Each player has its own position; players of one file share its index.
 */
export class VodService {
  readonly library = new VodLibrary();
  readonly #options: VodServiceOptions;
  readonly #players = new Set<VodPlayer>();
  readonly #perFile = new Map<string, number>();

  constructor(options: VodServiceOptions) {
    this.#options = options;
  }

  /** Players playing now. */
  get players(): number {
    return this.#players.size;
  }

  /** The handler factory: VOD connections here, the others to `inner`. */
  handler<O>(inner: RtmpHandlerFactory<O>): RtmpHandlerFactory<O> {
    return (options: O, session: ClientSession): RtmpHandler => {
      const user = inner(options, session);
      /** The connect app when it is the VOD app (or a folder of it); undefined for other connections. */
      let vodApp: string | undefined;
      const pending = new Map<number, Pending>();
      const playing = new Map<number, VodPlayer>();
      const end = (streamId: number) => {
        pending.get(streamId)?.handle.release();
        pending.delete(streamId);
        playing.get(streamId)?.stop();
        playing.delete(streamId);
      };
      session.on('pause', (context: StreamContext, paused: boolean) =>
        playing.get(context.streamId)?.pause(paused),
      );
      session.on('stop', (context: StreamContext) => end(context.streamId));
      session.on('close', () => {
        for (const id of [...pending.keys(), ...playing.keys()]) end(id);
      });
      return {
        ...user,
        handleConnect: (info) => {
          const app = normaliseApp(info.app);
          if (!isVodApp(app)) return user.handleConnect?.call(user, info);
          vodApp = app;
          return undefined;
        },
        handlePublish: (key, info) => {
          if (vodApp !== undefined) return reject(`${VOD_APP} is for playing files, not publishing`);
          return user.handlePublish?.call(user, key, info);
        },
        handlePlay: (play) => {
          if (vodApp === undefined) return user.handlePlay?.call(user, play);
          return this.#decide(session, vodApp, play, pending);
        },
        handlePlayStart: (info) => {
          const accepted = pending.get(info.streamId);
          if (accepted === undefined) return user.handlePlayStart?.call(user, info);
          pending.delete(info.streamId);
          playing.set(info.streamId, this.#start(session, accepted));
          return undefined;
        },
        handleSeek: (seek) => {
          const player = playing.get(seek.streamId);
          // A live stream cannot seek.
          if (player === undefined) return user.handleSeek ? user.handleSeek.call(user, seek) : false;
          this.#options.log.debug({ session: session.id, position: seek.position }, 'vod seek');
          player.seek(seek.position);
          return true;
        },
      };
    };
  }

  async #decide(
    session: ClientSession,
    app: string,
    play: PlayInfo,
    pending: Map<number, Pending>,
  ): Promise<Decision> {
    const { log, root } = this.#options;
    const where = { session: session.id, remote: session.remote, app, name: play.name };
    if (play.start === -1000)
      return reject(`${play.name}: no live stream here (live-only play of a file)`, NOT_FOUND);
    const found = await lookup(root, app, play.name);
    if ('refused' in found) {
      log.warn({ ...where, reason: found.refused }, 'vod play refused');
      return reject(`${play.name}: not found`, NOT_FOUND);
    }
    if ('missing' in found) {
      log.info(where, 'vod play: no such file');
      return reject(`${play.name}: not found`, NOT_FOUND);
    }
    const relative = found.file.slice(root.length + 1);
    const decision = await this.#options.authorize({
      action: 'play',
      app: VOD_APP,
      key: relative,
      query: splitStreamName(play.rawName).query,
      ip: session.connection.socket.remoteAddress ?? '',
    });
    if (!decision.allowed) {
      log.warn({ ...where, reason: decision.reason }, 'vod play refused');
      return reject(decision.reason, 'NetStream.Play.Failed');
    }
    const limit = this.#options.maxPlayersPerFile;
    if ((this.#perFile.get(found.file) ?? 0) >= limit) {
      return reject(`too many players of ${relative} (max ${limit})`, 'NetStream.Play.Failed');
    }
    let handle: VodHandle | null;
    try {
      handle = await this.library.acquire(found.file);
    } catch (error) {
      log.warn(
        { ...where, err: (error as Error).message, code: (error as { code?: string }).code },
        'vod: cannot open',
      );
      return reject(`${play.name}: cannot be played`, NOT_FOUND);
    }
    if (handle === null) {
      log.info(where, 'vod play: not an FLV, MP4 or MOV file');
      return reject(`${play.name}: not a media file`, NOT_FOUND);
    }
    if (session.closed) {
      handle.release();
      return reject('closed');
    }
    pending.get(play.streamId)?.handle.release();
    pending.set(play.streamId, { file: found.file, handle, info: play });
    return undefined;
  }

  #start(session: ClientSession, accepted: Pending): VodPlayer {
    const { file, handle, info } = accepted;
    const log = this.#options.log.child({ session: session.id, remote: session.remote, file });
    const player = new VodPlayer(session, info.streamId, handle, {
      leadMs: this.#options.leadMs ?? 1000,
      log,
    });
    this.#players.add(player);
    this.#perFile.set(file, (this.#perFile.get(file) ?? 0) + 1);
    const start = Math.max(info.start, 0);
    log.info({ start, durationMs: handle.source.durationMs, kind: handle.source.kind }, 'vod play started');
    void player.done.then(() => {
      this.#players.delete(player);
      const left = (this.#perFile.get(file) ?? 1) - 1;
      if (left > 0) this.#perFile.set(file, left);
      else this.#perFile.delete(file);
      log.info('vod play ended');
    });
    player.start(start, info.duration);
    return player;
  }

  /** Stops every player and closes every file (after the servers stopped). */
  close(): void {
    for (const player of this.#players) player.stop();
    this.library.close();
  }
}
