import { testReadmeErrorTable } from '@rtmp/testing/readme-test';
import { describe, expect, it } from 'vitest';
import {
  CHUNK_ERROR_TO_RTMP,
  ClientErrorCodes,
  ConnectionErrorCodes,
  chunkErrorCode,
  RtmpError,
  RtmpErrorCodes,
  ServerErrorCodes,
  toRtmpError,
} from '../src/index.js';

describe('the RTMP error family', () => {
  testReadmeErrorTable(import.meta.url, {
    RtmpError: {
      codes: ConnectionErrorCodes,
      make: (code) => new RtmpError(code as RtmpError['code'], 'x'),
      is: (value) => value instanceof RtmpError,
    },
  });

  it('lists every code of every layer once', () => {
    expect(new Set(RtmpErrorCodes).size).toBe(RtmpErrorCodes.length);
    for (const code of [...ConnectionErrorCodes, ...ServerErrorCodes, ...ClientErrorCodes]) {
      expect(RtmpErrorCodes).toContain(code);
    }
  });

  it('maps every chunk code, and anything else to ERR_RTMP_PROTOCOL', () => {
    expect(chunkErrorCode({ code: 'ERR_CHUNK_MESSAGE_TOO_LONG' })).toBe('ERR_RTMP_MESSAGE_TOO_LARGE');
    expect(chunkErrorCode({ code: 'ERR_CHUNK_BUFFER_LIMIT' })).toBe('ERR_RTMP_BUFFER_LIMIT');
    expect(chunkErrorCode({ code: 'ERR_CHUNK_NO_PREVIOUS_HEADER' })).toBe('ERR_RTMP_PROTOCOL');
    expect(chunkErrorCode({ code: 'toString' })).toBe('ERR_RTMP_PROTOCOL');
    expect(chunkErrorCode(new Error('x'))).toBe('ERR_RTMP_PROTOCOL');
    expect(chunkErrorCode(null)).toBe('ERR_RTMP_PROTOCOL');
    for (const code of Object.values(CHUNK_ERROR_TO_RTMP)) expect(ConnectionErrorCodes).toContain(code);
  });

  it('wraps foreign errors with a cause and passes RtmpErrors through', () => {
    const cause = new TypeError('bad');
    const wrapped = toRtmpError(cause, 'ERR_RTMP_SOCKET');
    expect(wrapped).toBeInstanceOf(RtmpError);
    expect(wrapped.cause).toBe(cause);
    expect(wrapped.message).toBe('bad');
    expect(toRtmpError(wrapped, 'ERR_RTMP_PROTOCOL')).toBe(wrapped);
    expect(new RtmpError('ERR_RTMP_CLOSED', 'x', { detail: 1 }).detail).toBe(1);
  });
});
