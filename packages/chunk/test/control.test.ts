import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  AckCounter,
  CHUNK_ERROR_CODES,
  ChunkDecoder,
  ChunkEncoder,
  ChunkError,
  decodeAbort,
  decodeAcknowledgement,
  decodeControlMessage,
  decodeSetChunkSize,
  decodeSetPeerBandwidth,
  decodeUserControl,
  decodeWindowAckSize,
  encodeAbort,
  encodeAcknowledgement,
  encodeSetChunkSize,
  encodeSetPeerBandwidth,
  encodeUserControl,
  encodeWindowAckSize,
  MessageType,
  splitAggregate,
  type UserControlEvent,
} from '../src/index.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('protocol control messages', () => {
  test('encode/decode types 1, 2, 3, 5, 6', () => {
    expect(encodeSetChunkSize(4096)).toEqual({
      type: 1,
      streamId: 0,
      timestamp: 0,
      payload: hex('00001000'),
    });
    expect(decodeSetChunkSize(hex('00001000'))).toBe(4096);
    expect(decodeAbort(encodeAbort(365).payload)).toBe(365);
    expect(encodeAbort(365).type).toBe(MessageType.Abort);
    expect(decodeAcknowledgement(encodeAcknowledgement(0xffffffff).payload)).toBe(0xffffffff);
    expect(encodeWindowAckSize(5_000_000).payload).toEqual(hex('004c4b40'));
    expect(decodeWindowAckSize(hex('004c4b40'))).toBe(5_000_000);
    const spb = encodeSetPeerBandwidth(5_000_000, 2);
    expect(spb).toEqual({ type: 6, streamId: 0, timestamp: 0, payload: hex('004c4b4002') });
    expect(decodeSetPeerBandwidth(spb.payload)).toEqual({ windowSize: 5_000_000, limitType: 2 });
  });

  test('invalid values and short payloads give ChunkError', () => {
    expect(() => encodeSetChunkSize(0)).toThrow(ChunkError);
    expect(() => encodeSetChunkSize(0x80000000)).toThrow(ChunkError);
    expect(() => decodeSetChunkSize(hex('80000000'))).toThrow(ChunkError);
    expect(() => decodeSetChunkSize(hex('000000'))).toThrow(ChunkError);
    expect(() => decodeSetPeerBandwidth(hex('00000001'))).toThrow(ChunkError);
    expect(() => encodeAcknowledgement(-1)).toThrow(ChunkError);
  });

  test('decodeControlMessage', () => {
    expect(decodeControlMessage(encodeSetChunkSize(128))).toEqual({ type: 'setChunkSize', chunkSize: 128 });
    expect(decodeControlMessage(encodeWindowAckSize(7))).toEqual({ type: 'windowAckSize', size: 7 });
    expect(decodeControlMessage(encodeSetPeerBandwidth(9, 1))).toEqual({
      type: 'setPeerBandwidth',
      windowSize: 9,
      limitType: 1,
    });
    expect(decodeControlMessage(encodeUserControl({ type: 'pingRequest', timestamp: 5 }))).toEqual({
      type: 'userControl',
      event: { type: 'pingRequest', timestamp: 5 },
    });
    expect(
      decodeControlMessage({ type: 9, streamId: 1, timestamp: 0, payload: new Uint8Array(0) }),
    ).toBeNull();
  });
});

describe('user control events', () => {
  const events: [UserControlEvent, string][] = [
    [{ type: 'streamBegin', streamId: 1 }, '000000000001'],
    [{ type: 'streamEof', streamId: 1 }, '000100000001'],
    [{ type: 'streamDry', streamId: 1 }, '000200000001'],
    [{ type: 'setBufferLength', streamId: 1, bufferLength: 3000 }, '00030000000100000bb8'],
    [{ type: 'streamIsRecorded', streamId: 1 }, '000400000001'],
    [{ type: 'pingRequest', timestamp: 0xdeadbeef }, '0006deadbeef'],
    [{ type: 'pingResponse', timestamp: 0xdeadbeef }, '0007deadbeef'],
  ];
  test.each(events)('%o <-> %s', (event, bytes) => {
    const m = encodeUserControl(event);
    expect(m.type).toBe(MessageType.UserControl);
    expect(toHex(m.payload)).toBe(bytes);
    expect(decodeUserControl(hex(bytes))).toEqual(event);
  });

  test('unknown events are passed on, never fatal', () => {
    expect(decodeUserControl(hex('001f 00000001'))).toEqual({
      type: 'unknown',
      eventType: 0x1f,
      data: hex('00000001'),
    });
    expect(decodeUserControl(hex('0020'))).toEqual({
      type: 'unknown',
      eventType: 0x20,
      data: new Uint8Array(0),
    });
    const m = encodeUserControl({ type: 'unknown', eventType: 0x1a, data: hex('0102') });
    expect(toHex(m.payload)).toBe('001a0102');
  });

  test('truncated known events give ChunkError', () => {
    expect(() => decodeUserControl(hex('00'))).toThrow(ChunkError);
    expect(() => decodeUserControl(hex('0000 000000'))).toThrow(ChunkError);
    expect(() => decodeUserControl(hex('0003 00000001'))).toThrow(ChunkError);
  });

  test('a librtmp-style ping from the wire decodes', () => {
    const d = new ChunkDecoder();
    const enc = new ChunkEncoder();
    const bytes = Buffer.concat(enc.encode(encodeUserControl({ type: 'pingRequest', timestamp: 42 }), 2));
    const [m] = d.push(bytes);
    expect(decodeControlMessage(m!)).toEqual({
      type: 'userControl',
      event: { type: 'pingRequest', timestamp: 42 },
    });
  });
});

describe('AckCounter', () => {
  test('is due once a window of bytes has arrived since the last ack', () => {
    const c = new AckCounter(1000);
    expect(c.add(600)).toBe(false);
    expect(c.add(400)).toBe(true);
    expect(c.due).toBe(true);
    expect(c.acknowledge()).toBe(1000);
    expect(c.due).toBe(false);
    expect(c.add(999)).toBe(false);
    c.setWindowSize(500);
    expect(c.due).toBe(true);
  });

  test('wraps at 2^32', () => {
    const c = new AckCounter(0);
    c.add(0xffffffff);
    c.add(11);
    expect(c.received).toBe(10);
    expect(c.add(1)).toBe(false);
  });

  test('rejects bad input', () => {
    expect(() => new AckCounter(-1)).toThrow(ChunkError);
    expect(() => new AckCounter().add(Number.NaN)).toThrow(ChunkError);
  });
});

describe('splitAggregate', () => {
  function tag(type: number, ts: number, data: Uint8Array): Uint8Array {
    const h = new Uint8Array(11 + data.length + 4);
    h[0] = type;
    h[1] = data.length >>> 16;
    h[2] = data.length >>> 8;
    h[3] = data.length;
    h[4] = ts >>> 16;
    h[5] = ts >>> 8;
    h[6] = ts;
    h[7] = ts >>> 24;
    h.set(data, 11);
    const back = data.length + 11;
    h.set([back >>> 24, back >>> 16, back >>> 8, back & 255], 11 + data.length);
    return h;
  }

  test('rebases sub-message timestamps onto the aggregate timestamp', () => {
    const payload = Buffer.concat([
      tag(9, 0x01000000, hex('aa')),
      tag(8, 0x01000021, hex('bbcc')),
      tag(9, 0x01000042, hex('')),
    ]);
    const subs = splitAggregate({ type: 22, streamId: 3, timestamp: 1000, payload });
    expect(subs.map((m) => [m.type, m.streamId, m.timestamp, toHex(m.payload)])).toEqual([
      [9, 3, 1000, 'aa'],
      [8, 3, 1033, 'bbcc'],
      [9, 3, 1066, ''],
    ]);
    expect(subs[0]!.payload.buffer).toBe(payload.buffer);
  });

  test('stops at the first truncated sub-message', () => {
    const full = Buffer.concat([tag(9, 0, hex('aa')), tag(8, 10, hex('bbccdd'))]);
    for (let cut = 0; cut < full.length; cut++) {
      const subs = splitAggregate({ type: 22, streamId: 1, timestamp: 0, payload: full.subarray(0, cut) });
      expect(subs.length).toBe(cut >= 12 ? (cut >= 16 + 14 ? 2 : 1) : 0);
    }
  });

  test('timestamps wrap modulo 2^32', () => {
    const payload = Buffer.concat([tag(9, 0, hex('01')), tag(9, 100, hex('02'))]);
    const subs = splitAggregate({ type: 22, streamId: 1, timestamp: 0xffffffc0, payload });
    expect(subs.map((m) => m.timestamp)).toEqual([0xffffffc0, 0x24]);
  });
});

test('every error code is documented in the README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const code of CHUNK_ERROR_CODES) expect(readme).toContain(`\`${code}\``);
});

test('the README example imports only names this package exports', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = readme.split('```ts\n')[1]!.split('```')[0]!;
  const names = /import \{([^}]*)\} from '@rtmp\/chunk'/
    .exec(code)![1]!
    .split(',')
    .map((n) => n.trim());
  const api = await import('../src/index.js');
  for (const name of names.filter((n) => n !== '')) expect(Object.keys(api)).toContain(name);
});
