import { readFileSync } from 'node:fs';
import { concat } from '@rtmp/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HandshakeClient, HandshakeError, HandshakeErrorCode, HandshakeServer } from '../src/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HandshakeError);
    return (err as HandshakeError).code;
  }
  return undefined;
}

describe('version byte', () => {
  it('3 is accepted by both roles', () => {
    expect(new HandshakeServer().push(Uint8Array.of(3)).done).toBe(false);
    const c = new HandshakeClient();
    c.start();
    expect(c.push(Uint8Array.of(3)).done).toBe(false);
  });

  for (const v of [6, 8, 9]) {
    it(`${v} (RTMPE) -> ERR_HANDSHAKE_RTMPE_UNSUPPORTED, checked on the first byte`, () => {
      expect(codeOf(() => new HandshakeServer().push(Uint8Array.of(v)))).toBe(
        'ERR_HANDSHAKE_RTMPE_UNSUPPORTED',
      );
      const c = new HandshakeClient();
      c.start();
      expect(codeOf(() => c.push(Uint8Array.of(v)))).toBe('ERR_HANDSHAKE_RTMPE_UNSUPPORTED');
    });
  }

  it('every other version -> ERR_HANDSHAKE_BAD_VERSION (only 3 is accepted, even >= 3)', () => {
    for (let v = 0; v < 256; v++) {
      if (v === 3 || v === 6 || v === 8 || v === 9) continue;
      expect(codeOf(() => new HandshakeServer().push(Uint8Array.of(v, 0, 0)))).toBe(
        'ERR_HANDSHAKE_BAD_VERSION',
      );
      const c = new HandshakeClient();
      c.start();
      expect(codeOf(() => c.push(Uint8Array.of(v)))).toBe('ERR_HANDSHAKE_BAD_VERSION');
    }
  });

  it('an HTTP request on the RTMP port is a bad version', () => {
    const s = new HandshakeServer();
    expect(codeOf(() => s.push(new TextEncoder().encode('GET / HTTP/1.1\r\n')))).toBe(
      'ERR_HANDSHAKE_BAD_VERSION',
    );
  });
});

describe('a failed state machine stays failed', () => {
  it('server rethrows the same error on every later push, whatever the bytes', () => {
    const s = new HandshakeServer();
    let first: unknown;
    try {
      s.push(Uint8Array.of(6));
    } catch (err) {
      first = err;
    }
    expect(() => s.push(Uint8Array.of(3))).toThrow(first as Error);
    expect(s.done).toBe(false);
  });

  it('client too, including start()', () => {
    const c = new HandshakeClient();
    c.start();
    expect(codeOf(() => c.push(Uint8Array.of(0)))).toBe('ERR_HANDSHAKE_BAD_VERSION');
    expect(codeOf(() => c.push(Uint8Array.of(3)))).toBe('ERR_HANDSHAKE_BAD_VERSION');
    expect(codeOf(() => c.start())).toBe('ERR_HANDSHAKE_BAD_VERSION');
  });
});

describe('misuse gives typed errors, never TypeError/RangeError', () => {
  it('push before start, start twice', () => {
    const c = new HandshakeClient();
    expect(codeOf(() => c.push(Uint8Array.of(3)))).toBe('ERR_HANDSHAKE_INVALID_STATE');
    c.start();
    expect(codeOf(() => c.start())).toBe('ERR_HANDSHAKE_INVALID_STATE');
  });

  it('non-Uint8Array input', () => {
    expect(codeOf(() => new HandshakeServer().push('abc' as unknown as Uint8Array))).toBe(
      'ERR_HANDSHAKE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => new HandshakeServer().push(null as unknown as Uint8Array))).toBe(
      'ERR_HANDSHAKE_INVALID_ARGUMENT',
    );
  });

  it('bad options', () => {
    expect(codeOf(() => new HandshakeClient({ scheme: 9 as 8 }))).toBe('ERR_HANDSHAKE_INVALID_ARGUMENT');
    expect(codeOf(() => new HandshakeClient({ flashVersion: [0, 0, 0, 0] }))).toBe(
      'ERR_HANDSHAKE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => new HandshakeServer({ serverVersion: [0, 1, 2, 3] }))).toBe(
      'ERR_HANDSHAKE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => new HandshakeServer({ serverVersion: [256, 1, 2, 3] }))).toBe(
      'ERR_HANDSHAKE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => new HandshakeClient({ random: () => new Uint8Array(3) }).start())).toBe(
      'ERR_HANDSHAKE_INVALID_ARGUMENT',
    );
    const s = new HandshakeServer({ random: () => new Uint8Array(1) });
    expect(codeOf(() => s.push(concat([Uint8Array.of(3), new Uint8Array(1536)])))).toBe(
      'ERR_HANDSHAKE_INVALID_ARGUMENT',
    );
  });

  it('throwing callbacks become ERR_HANDSHAKE_INVALID_ARGUMENT and the machine stays failed', () => {
    const c = new HandshakeClient({
      now: () => {
        throw new RangeError('boom');
      },
    });
    expect(codeOf(() => c.start())).toBe('ERR_HANDSHAKE_INVALID_ARGUMENT');
    expect(codeOf(() => c.start())).toBe('ERR_HANDSHAKE_INVALID_ARGUMENT');
    const s = new HandshakeServer({
      random: () => {
        throw new TypeError('boom');
      },
    });
    expect(codeOf(() => s.push(concat([Uint8Array.of(3), new Uint8Array(1536)])))).toBe(
      'ERR_HANDSHAKE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => s.push(new Uint8Array(1)))).toBe('ERR_HANDSHAKE_INVALID_ARGUMENT');
  });

  it('arbitrary bytes: output or a HandshakeError, never another exception', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 6 }), (parts) => {
        const s = new HandshakeServer();
        const c = new HandshakeClient({ strict: true });
        c.start();
        for (const machine of [s, c]) {
          for (const p of parts) {
            try {
              machine.push(p);
            } catch (err) {
              expect(err).toBeInstanceOf(HandshakeError);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a throwing callback is the cause of its ERR_HANDSHAKE_INVALID_ARGUMENT', () => {
    const thrown = new Error('no entropy');
    const client = new HandshakeClient({
      random: () => {
        throw thrown;
      },
    });
    let error: unknown;
    try {
      client.start();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HandshakeError);
    expect(error).toMatchObject({ code: 'ERR_HANDSHAKE_INVALID_ARGUMENT', cause: thrown });
    expect(new HandshakeError('ERR_HANDSHAKE_BAD_VERSION', 'x')).not.toHaveProperty('cause');
  });

  it('HandshakeError instanceof works across copies (brand check)', () => {
    const foreign = Object.create(new HandshakeError('ERR_HANDSHAKE_BAD_VERSION', 'x'));
    expect(foreign).toBeInstanceOf(HandshakeError);
    expect(new Error('x')).not.toBeInstanceOf(HandshakeError);
    expect(new HandshakeError('ERR_HANDSHAKE_BAD_VERSION', 'x')).toBeInstanceOf(Error);
  });
});

describe('README', () => {
  it('documents every error code', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of Object.values(HandshakeErrorCode)) expect(readme).toContain(`\`${code}\``);
  });
});
