import { next } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RtmpError } from '../src/index.js';
import { connectionPair, type Pair } from './helpers/pair.js';

// A listener's exception is never rethrown (it would surface in a socket callback and take the process down) and
// never dropped: it closes its connection while the close can still report it, and is a process warning after that.

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

async function readyPair(): Promise<Pair> {
  const p = await connectionPair();
  await Promise.all([next(p.server, 'ready'), next(p.client, 'ready')]);
  return p;
}

/** The next process warning that is an RtmpError. */
function nextRtmpWarning(): Promise<RtmpError> {
  return new Promise((resolve) => {
    const onWarning = (warning: Error) => {
      if (!(warning instanceof RtmpError)) return;
      process.off('warning', onWarning);
      resolve(warning);
    };
    process.on('warning', onWarning);
  });
}

describe('listener exceptions', () => {
  it('a throwing close listener becomes a process warning, and the other close listeners still run', async () => {
    pair = await readyPair();
    const thrown = new Error('close listener failed');
    const seen: string[] = [];
    pair.server.on('close', () => {
      seen.push('first');
      throw thrown;
    });
    pair.server.once('close', () => seen.push('second'));
    const warning = nextRtmpWarning();
    pair.server.destroy();
    const error = await warning;
    expect(error.code).toBe('ERR_RTMP_HANDLER_FAILED');
    expect(error.message).toBe("listener of 'close' threw: close listener failed");
    expect(error.cause).toBe(thrown);
    expect(seen).toEqual(['first', 'second']);
    expect(pair.server.listenerCount('close')).toBe(1);
  });

  it('a listener that throws once the connection has its close error becomes a process warning', async () => {
    pair = await readyPair();
    const { server, client } = pair;
    const first = new RtmpError('ERR_RTMP_PROTOCOL', 'closed by the listener');
    const thrown = new Error('and then threw');
    server.on('command', () => {
      server.destroy(first);
      throw thrown;
    });
    const warning = nextRtmpWarning();
    const closed = next<[RtmpError | undefined]>(server, 'close');
    client.sendCommand('anything', 0, [null]);
    const [closeError] = await closed;
    expect(closeError).toBe(first);
    const error = await warning;
    expect(error.code).toBe('ERR_RTMP_HANDLER_FAILED');
    expect(error.message).toBe("listener of 'command' threw: and then threw");
    expect(error.cause).toBe(thrown);
  });

  it('a listener that throws while the connection is open closes it with ERR_RTMP_HANDLER_FAILED, no warning', async () => {
    pair = await readyPair();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      pair.server.on('command', () => {
        throw new Error('boom');
      });
      const closed = next<[RtmpError | undefined]>(pair.server, 'close');
      pair.client.sendCommand('anything', 0, [null]);
      const [error] = await closed;
      expect(error?.code).toBe('ERR_RTMP_HANDLER_FAILED');
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => warning instanceof RtmpError)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
