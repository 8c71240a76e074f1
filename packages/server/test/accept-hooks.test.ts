// handlePublishStart / handlePlayStart: the handler learns that a publish or a play was accepted (final, after the
// start statuses went out) without listening to session events. The peer is the bare connection core.
import type { RtmpConnection, RtmpStatus } from '@rtmp/connection';
import { next, sleep, until } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import {
  LiveRelay,
  type MediaEvent,
  type PlayInfo,
  type PublishInfo,
  type RtmpError,
  type RtmpHandler,
  reject,
} from '../src/index.js';
import { connected, createStream, serverPerTest } from './raw-peer.js';

const servers = serverPerTest();

/** createStream, then `publish`/`play` `name`; resolves with the first onStatus that is not Play.Reset. */
async function start(c: RtmpConnection, command: 'publish' | 'play', name: string): Promise<RtmpStatus> {
  const id = await createStream(c);
  const status = new Promise<RtmpStatus>((resolve) => {
    const on = (s: RtmpStatus) => {
      if (s.code === 'NetStream.Play.Reset') return;
      c.off('status', on);
      resolve(s);
    };
    c.on('status', on);
  });
  c.sendCommand(command, 0, command === 'publish' ? [null, name, 'live'] : [null, name], id);
  return status;
}

const VIDEO = Uint8Array.of(0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65);

describe('after-accept hooks', () => {
  it('handlePublishStart runs once, after Publish.Start, before any media reaches the handler', async () => {
    const log: string[] = [];
    let started: PublishInfo | undefined;
    let release = () => {};
    const decision = new Promise<void>((resolve) => {
      release = resolve;
    });
    const port = await servers.start({
      demux: false,
      handler: (_options, session): RtmpHandler => {
        session.on('publish', () => log.push('event publish'));
        return {
          handlePublish: async () => {
            log.push('handlePublish');
            await decision;
          },
          handlePublishStart: (info) => {
            started = info;
            log.push(`handlePublishStart ${session.publishingStreams.join()}`);
          },
          handleVideoData: (event: MediaEvent) => {
            log.push(`video ${event.kind}`);
          },
        };
      },
    });
    const c = await connected(port);
    // Media sent while the decision is pending waits for it in the session's queue.
    const status = start(c, 'publish', 'cam?token=1');
    await until(() => log.includes('handlePublish'), 2_000, 'handlePublish');
    c.send({ type: 9, streamId: 1, timestamp: 0, payload: VIDEO });
    await sleep(50);
    expect(log).toEqual(['handlePublish']);
    release();
    expect((await status).code).toBe('NetStream.Publish.Start');
    await until(() => log.includes('video raw'), 2_000, 'video');
    expect(log).toEqual(['handlePublish', 'event publish', 'handlePublishStart 1', 'video raw']);
    expect(started).toEqual({
      streamId: 1,
      streamKey: 'cam',
      name: 'cam?token=1',
      type: 'live',
      query: { token: '1' },
    });
    c.destroy();
  });

  it('handlePlayStart runs once the play is accepted; a refused publish or play never calls a hook', async () => {
    const starts: string[] = [];
    let played: PlayInfo | undefined;
    const port = await servers.start({
      handler: (): RtmpHandler => ({
        handlePublish: (key) => (key === 'no' ? reject('not this one') : undefined),
        handlePlay: (info) => (info.name === 'no' ? reject('nothing here') : undefined),
        handlePublishStart: (info) => void starts.push(`publish ${info.streamKey}`),
        handlePlayStart: (info) => {
          played = info;
          starts.push(`play ${info.name}`);
        },
      }),
    });
    const player = await connected(port);
    expect((await start(player, 'play', 'show?x=2')).code).toBe('NetStream.Play.Start');
    await until(() => starts.length === 1, 2_000, 'handlePlayStart');
    expect(played).toEqual({
      streamId: 1,
      name: 'show',
      rawName: 'show?x=2',
      query: { x: '2' },
      start: -2000,
      duration: -1,
      reset: true,
    });
    for (const command of ['publish', 'play'] as const) {
      const refused = await connected(port);
      const closed = next(refused, 'close');
      expect((await start(refused, command, 'no')).level).toBe('error');
      await closed;
    }
    expect(starts).toEqual(['play show']);
    player.destroy();
  });

  it('tells an inner handler of the relay whether the relay accepted: a second publisher of a live key is refused after the inner handler said yes', async () => {
    const relay = new LiveRelay();
    const decided: string[] = [];
    const accepted: string[] = [];
    const port = await servers.start({
      handler: relay.handler((_options, session) => ({
        handlePublish: () => void decided.push(`${session.id}`),
        handlePublishStart: () => void accepted.push(`${session.id}`),
      })),
    });
    const first = await connected(port);
    expect((await start(first, 'publish', 'cam')).code).toBe('NetStream.Publish.Start');
    const second = await connected(port);
    expect((await start(second, 'publish', 'cam')).code).toBe('NetStream.Publish.BadName');
    expect(decided).toHaveLength(2);
    expect(accepted).toEqual([decided[0]]);
    first.destroy();
    second.destroy();
  });

  it('a throwing or rejecting hook ends its connection with ERR_RTMP_HANDLER_FAILED (the exception is the cause)', async () => {
    const bug = new Error('hook bug');
    const errors: RtmpError[] = [];
    const port = await servers.start({
      handler: (): RtmpHandler => ({
        handlePublishStart: () => {
          throw bug;
        },
        handlePlayStart: async () => {
          throw bug;
        },
      }),
    });
    servers.server.on('sessionError', (_session, error) => errors.push(error));
    for (const command of ['publish', 'play'] as const) {
      const c = await connected(port);
      const closed = next(c, 'close');
      await start(c, command, 'x');
      await closed;
    }
    await until(() => errors.length === 2, 2_000, 'two session errors');
    expect(errors.map((e) => [e.code, e.cause])).toEqual([
      ['ERR_RTMP_HANDLER_FAILED', bug],
      ['ERR_RTMP_HANDLER_FAILED', bug],
    ]);
  });
});
