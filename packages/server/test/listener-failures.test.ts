// A handler callback or an event listener that throws is never swallowed: while its session is open it ends that
// session with ERR_RTMP_HANDLER_FAILED; once the session has ended it is reported (sessionError, then the server's
// 'error' event, then a process warning). The peer is the bare connection core.
import * as net from 'node:net';
import type { RtmpConnection } from '@rtmp/connection';
import { next, sleep, until } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { RtmpError, type RtmpHandler, reject } from '../src/index.js';
import { connected, createStream, handshaken, serverPerTest } from './raw-peer.js';

const servers = serverPerTest();

/** createStream + `command` on it, without waiting for an answer. */
async function send(c: RtmpConnection, command: 'publish' | 'play', name: string): Promise<void> {
  c.sendCommand(command, 0, [null, name], await createStream(c));
}

function started(handler: () => RtmpHandler): Promise<number> {
  return servers.start({ handler });
}

/** [code (the name when not an RtmpError), message, cause] of each error, for exact comparison. */
const described = (errors: readonly Error[]) =>
  errors.map((e) => [e instanceof RtmpError ? e.code : e.name, e.message, e.cause]);

describe('listener and handler failures', () => {
  it("a throwing server listener ends only that session, and the session's own listeners still run", async () => {
    const bug = new Error('metrics bug');
    const ownListener: number[] = [];
    const port = await started(() => ({}));
    const s = servers.server;
    s.on('connection', (session) => session.on('publish', (info) => ownListener.push(info.streamId)));
    s.on('publish', (_session, info) => {
      if (info.streamKey === 'bad') throw bug;
    });
    const errors: RtmpError[] = [];
    s.on('sessionError', (_session, error) => errors.push(error));
    const good = await connected(port);
    await send(good, 'publish', 'good');
    const bad = await connected(port);
    const closed = next<[RtmpError | undefined]>(bad, 'close');
    await send(bad, 'publish', 'bad');
    await closed;
    await until(() => errors.length === 1, 2_000, 'sessionError');
    expect(described(errors)).toEqual([['ERR_RTMP_HANDLER_FAILED', "listener of 'publish' threw", bug]]);
    expect(ownListener).toEqual([1, 1]);
    expect(good.closed).toBe(false);
    expect((await good.call('getStreamLength', [null, 'good'])).args).toEqual([0]);
    good.destroy();
  });

  it("a throwing 'connection' listener ends the new session", async () => {
    const bug = new Error('connection listener bug');
    const port = await started(() => ({}));
    const errors: RtmpError[] = [];
    servers.server.on('connection', () => {
      throw bug;
    });
    servers.server.on('sessionError', (_session, error) => errors.push(error));
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await next(socket, 'close');
    await until(() => errors.length === 1, 2_000, 'sessionError');
    expect(described(errors)).toEqual([['ERR_RTMP_HANDLER_FAILED', "listener of 'connection' threw", bug]]);
  });

  it('failures after the end are reported after the error that ended the session, each once', async () => {
    const disconnectBug = new Error('handleDisconnect bug');
    const port = await started(() => ({
      handlePublish: () => reject('no'),
      handleDisconnect: () => {
        throw disconnectBug;
      },
    }));
    const errors: RtmpError[] = [];
    servers.server.on('sessionError', (_session, error) => errors.push(error));
    const c = await connected(port);
    const closed = next(c, 'close');
    await send(c, 'publish', 'x');
    await closed;
    await until(() => errors.length === 2, 2_000, 'two sessionErrors');
    await sleep(50);
    expect(described(errors)).toEqual([
      ['ERR_RTMP_PUBLISH_REJECTED', 'publish rejected: no', undefined],
      ['ERR_RTMP_HANDLER_FAILED', 'handleDisconnect bug', disconnectBug],
    ]);
  });

  it('a clean close whose callbacks and listeners throw: every failure reported, every listener run', async () => {
    const unpublishBug = new Error('handleUnpublish bug');
    const stopBug = new Error('handleStop bug');
    const disconnectListenerBug = new Error("'disconnect' listener bug");
    const closeListenerBug = new Error("session 'close' listener bug");
    const closeListeners: string[] = [];
    const port = await started(
      (): RtmpHandler => ({
        handleUnpublish: () => {
          throw unpublishBug;
        },
        // Rejects once the session is long gone.
        handleStop: () => sleep(30).then(() => Promise.reject(stopBug)),
      }),
    );
    const s = servers.server;
    s.on('connection', (session) => {
      session.on('close', () => {
        closeListeners.push('first');
        throw closeListenerBug;
      });
    });
    s.on('disconnect', () => {
      throw disconnectListenerBug;
    });
    const errors: RtmpError[] = [];
    s.on('sessionError', (_session, error) => errors.push(error));
    const c = await connected(port);
    await send(c, 'publish', 'a');
    await send(c, 'play', 'b');
    await until(
      () => s.sessions.size === 1 && [...s.sessions][0]!.playingStreams.length === 1,
      2_000,
      'play',
    );
    const session = [...s.sessions][0]!;
    session.on('close', () => closeListeners.push('second'));
    c.close();
    await until(() => errors.length === 4, 2_000, 'four sessionErrors');
    await sleep(50);
    expect(described(errors)).toEqual([
      ['ERR_RTMP_HANDLER_FAILED', 'handleUnpublish bug', unpublishBug],
      ['ERR_RTMP_HANDLER_FAILED', "listener of 'disconnect' threw", disconnectListenerBug],
      ['ERR_RTMP_HANDLER_FAILED', "session 'close' listener bug", closeListenerBug],
      ['ERR_RTMP_HANDLER_FAILED', 'handleStop bug', stopBug],
    ]);
    // The server's own close listener (sessions, 'disconnect') ran first; the throwing user listener stopped the
    // one registered after it, as with any EventEmitter, but its failure was reported.
    expect(closeListeners).toEqual(['first']);
    expect(s.sessions.size).toBe(0);
  });

  it("a throwing 'sessionError' or 'connectionRefused' listener goes to the server's 'error' event", async () => {
    const sessionErrorBug = new Error('sessionError listener bug');
    const refusedBug = new Error('connectionRefused listener bug');
    const port = await servers.start({ maxConnections: 1, handler: () => ({}) });
    const s = servers.server;
    const reported: Error[] = [];
    s.on('error', (error) => reported.push(error));
    s.on('sessionError', () => {
      throw sessionErrorBug;
    });
    s.on('connectionRefused', () => {
      throw refusedBug;
    });
    const c = await connected(port);
    const extra = net.connect(port, '127.0.0.1');
    extra.on('error', () => {});
    await next(extra, 'close');
    const closed = next(c, 'close');
    await send(c, 'play', '');
    await closed;
    await until(() => reported.length === 2, 2_000, 'two errors');
    expect(described(reported)).toEqual([
      ['ERR_RTMP_HANDLER_FAILED', "listener of 'connectionRefused' threw", refusedBug],
      ['ERR_RTMP_HANDLER_FAILED', "listener of 'sessionError' threw", sessionErrorBug],
    ]);
  });

  it("without an 'error' listener, such a failure becomes a process warning (never thrown at the server)", async () => {
    const bug = new Error('sessionError listener bug');
    const port = await started(() => ({ handleConnect: () => reject('closed for today') }));
    servers.server.on('sessionError', () => {
      throw bug;
    });
    const warned = next<[Error]>(process, 'warning');
    const c = await handshaken(port);
    c.call('connect', [{ app: 'live' }]).catch(() => {});
    const [warning] = await warned;
    expect(described([warning])).toEqual([
      ['ERR_RTMP_HANDLER_FAILED', "listener of 'sessionError' threw", bug],
    ]);
    c.destroy();
  });
});
