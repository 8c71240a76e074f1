import { concat } from '@rtmp/testing';
import { describe, expect, test } from 'vitest';
import {
  ChunkDecoder,
  ChunkEncoder,
  ChunkError,
  encodeMessage,
  PIECE_OVERHEAD,
  type RtmpMessage,
} from '../src/index.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function fail(decoder: ChunkDecoder, bytes: Uint8Array): ChunkError {
  try {
    decoder.push(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(ChunkError);
    return e as ChunkError;
  }
  throw new Error('expected a ChunkError');
}

describe('basic headers', () => {
  test('1-byte, 2-byte and 3-byte (little-endian) forms', () => {
    const d = new ChunkDecoder();
    // csid 3 (1 byte), csid 64 (2 bytes: 00 00), csid 365 (3 bytes: 01 2D 01), csid 65599 (01 FF FF)
    const msgs = d.push(
      hex(`03 000001 000001 14 00000000 aa
           00 00 000002 000001 14 00000000 bb
           01 2d01 000003 000001 14 00000000 cc
           01 ffff 000004 000001 14 00000000 dd`),
    );
    expect(msgs.map((m) => [m.timestamp, toHex(m.payload)])).toEqual([
      [1, 'aa'],
      [2, 'bb'],
      [3, 'cc'],
      [4, 'dd'],
    ]);
  });

  test('encoder writes csid 365 as [fmt<<6|1, 0x2D, 0x01]', () => {
    const [h] = encodeMessage({ type: 20, streamId: 0, timestamp: 0, payload: new Uint8Array(1) }, 365, 128);
    expect(toHex(h!.subarray(0, 3))).toBe('012d01');
    const [h2] = encodeMessage({ type: 20, streamId: 0, timestamp: 0, payload: new Uint8Array(1) }, 319, 128);
    expect(toHex(h2!.subarray(0, 2))).toBe('00ff');
  });
});

describe('message headers and timestamps', () => {
  test('fmt 0 stream id is little-endian; fmt 1, 2, 3 reuse and accumulate', () => {
    const d = new ChunkDecoder();
    const msgs = d.push(
      hex(`04 000064 000002 09 01000000 0102
           44 00000a 000001 08 03
           84 000005 04
           c4 05`),
    );
    expect(msgs.map((m) => [m.type, m.streamId, m.timestamp, toHex(m.payload)])).toEqual([
      [9, 1, 100, '0102'],
      [8, 1, 110, '03'],
      [8, 1, 115, '04'],
      // fmt 3 starting a new message repeats the previous delta
      [8, 1, 120, '05'],
    ]);
  });

  test('fmt 3 after fmt 0 uses the fmt 0 timestamp as delta (spec)', () => {
    const d = new ChunkDecoder();
    const msgs = d.push(hex('04 000064 000001 09 00000000 01  c4 02'));
    expect(msgs.map((m) => m.timestamp)).toEqual([100, 200]);
  });

  test('fmt 1 as the first chunk of a csid is tolerated (librtmp pings): stream 0, base 0', () => {
    const d = new ChunkDecoder();
    const [m] = d.push(hex('42 000010 000006 04 0006 00000001'));
    expect(m).toMatchObject({ type: 4, streamId: 0, timestamp: 16 });
  });

  test('fmt 2 or 3 on an unknown csid fails', () => {
    expect(fail(new ChunkDecoder(), hex('85 000001')).code).toBe('ERR_CHUNK_NO_PREVIOUS_HEADER');
    expect(fail(new ChunkDecoder(), hex('c5')).code).toBe('ERR_CHUNK_NO_PREVIOUS_HEADER');
  });

  test('32-bit wrap of delta timestamps', () => {
    const d = new ChunkDecoder();
    const msgs = d.push(hex('04 ffffff 000001 09 00000000 fffffff0 01  84 000020 02'));
    expect(msgs.map((m) => m.timestamp)).toEqual([0xfffffff0, 0x10]);
  });

  test('interleaved chunk streams with a multi-chunk message', () => {
    const d = new ChunkDecoder();
    const big = new Uint8Array(200).map((_, i) => i);
    const msgs = d.push(
      concat([
        hex('06 000000 0000c8 09 01000000'),
        big.subarray(0, 128),
        hex('04 000000 000001 08 01000000 aa'),
        hex('c6'),
        big.subarray(128),
      ]),
    );
    expect(msgs.map((m) => m.type)).toEqual([8, 9]);
    expect(toHex(msgs[1]!.payload)).toBe(toHex(big));
  });
});

describe('extended timestamps', () => {
  // fmt 1 with delta 0xFFFFFF -> extended delta 16,799,920 = 0x0100_58B0, 200-byte message at chunk size 128.
  const head = '46 ffffff 0000c8 09 010058b0';
  const body = new Uint8Array(200).fill(7);

  test('FFmpeg dialect: repeated on fmt 3 continuation chunks', () => {
    const d = new ChunkDecoder();
    const [m] = d.push(concat([hex(head), body.subarray(0, 128), hex('c6 010058b0'), body.subarray(128)]));
    expect(m?.timestamp).toBe(16_799_920);
    expect(toHex(m!.payload)).toBe(toHex(body));
  });

  test('librtmp dialect: not repeated', () => {
    const d = new ChunkDecoder();
    const [m] = d.push(concat([hex(head), body.subarray(0, 128), hex('c6'), body.subarray(128)]));
    expect(m?.timestamp).toBe(16_799_920);
    expect(toHex(m!.payload)).toBe(toHex(body));
  });

  test('librtmp dialect: a short last chunk is delivered without waiting for more bytes', () => {
    const d = new ChunkDecoder();
    const msgs = d.push(concat([hex('46 ffffff 000081 09 010058b0'), body.subarray(0, 128), hex('c6 07')]));
    expect(msgs).toHaveLength(1);
  });

  test('fmt 0 absolute extended timestamp, encoder repeats it on continuation chunks', () => {
    const enc = new ChunkEncoder();
    const slices = enc.encode({ type: 9, streamId: 1, timestamp: 0x12345678, payload: body }, 6);
    expect(slices.map(toHex)).toEqual([
      `06ffffff0000c8090100000012345678`,
      toHex(body.subarray(0, 128)),
      'c612345678',
      toHex(body.subarray(128)),
    ]);
  });
});

describe('control messages applied by the decoder', () => {
  test('Set Chunk Size changes framing and is still reported', () => {
    const d = new ChunkDecoder();
    const body = new Uint8Array(300).fill(1);
    const msgs = d.push(
      concat([hex('02 000000 000004 01 00000000 00000200 06 000000 00012c 09 01000000'), body]),
    );
    expect(d.chunkSize).toBe(512);
    expect(msgs.map((m) => [m.type, m.payload.length])).toEqual([
      [1, 4],
      [9, 300],
    ]);
  });

  test.each([
    ['00000000', 'ERR_CHUNK_SIZE_INVALID'],
    ['80000000', 'ERR_CHUNK_SIZE_INVALID'],
    ['ffffffff', 'ERR_CHUNK_SIZE_INVALID'],
  ])('Set Chunk Size %s fails with %s', (value, code) => {
    expect(fail(new ChunkDecoder(), hex(`02 000000 000004 01 00000000 ${value}`)).code).toBe(code);
  });

  test('Set Chunk Size above maxChunkSize fails', () => {
    const d = new ChunkDecoder({ maxChunkSize: 65536 });
    expect(fail(d, hex('02 000000 000004 01 00000000 00010001')).code).toBe('ERR_CHUNK_SIZE_LIMIT');
  });

  test('Abort drops the partial message of its csid', () => {
    const d = new ChunkDecoder();
    const msgs = d.push(
      concat([
        hex('06 000000 0000c8 09 01000000'),
        new Uint8Array(128),
        hex('02 000000 000004 02 00000000 00000006'),
        hex('06 000010 000001 09 01000000 ee'),
      ]),
    );
    expect(msgs.map((m) => [m.type, m.timestamp])).toEqual([
      [2, 0],
      [9, 16],
    ]);
    expect(d.bufferedBytes).toBe(0);
  });
});

describe('limits and failure', () => {
  test('declared length above maxMessageLength fails before any payload arrives', () => {
    const d = new ChunkDecoder({ maxMessageLength: 1000 });
    expect(fail(d, hex('04 000000 0003e9 09 01000000')).code).toBe('ERR_CHUNK_MESSAGE_TOO_LONG');
  });

  test('a 16 MiB declared length does not allocate 16 MiB: memory follows received bytes', () => {
    const d = new ChunkDecoder();
    const input = hex('02 000000 000004 01 00000000 7fffffff 04 000000 ffffff 09 01000000 00');
    d.push(input);
    // The one pinned input buffer and the one pending part are all that is held.
    expect(d.bufferedBytes).toBe(input.length + PIECE_OVERHEAD);
  });

  test('a peer cannot pin many reads with one payload byte each', () => {
    const d = new ChunkDecoder({ maxBufferedBytes: 100_000 });
    d.push(hex('02 000000 000004 01 00000000 00000001'));
    // Each read: a 1-byte chunk of a huge message on its own csid, padded with complete empty messages.
    const padding = hex('03 000000 000000 14 00000000'.repeat(1000));
    expect(() => {
      for (let csid = 4; csid < 60; csid++) {
        const header = hex(`${csid.toString(16).padStart(2, '0')} 000000 ffffff 09 01000000 00`);
        d.push(concat([header, padding]));
      }
    }).toThrow(expect.objectContaining({ code: 'ERR_CHUNK_BUFFER_LIMIT' }));
  });

  test('maxBufferedBytes bounds incomplete messages across chunk streams', () => {
    const d = new ChunkDecoder({ maxBufferedBytes: 200 });
    d.push(concat([hex('04 000000 0000c8 09 01000000'), new Uint8Array(128)]));
    expect(fail(d, concat([hex('05 000000 0000c8 09 01000000'), new Uint8Array(128)])).code).toBe(
      'ERR_CHUNK_BUFFER_LIMIT',
    );
  });

  test('maxChunkStreams', () => {
    const d = new ChunkDecoder({ maxChunkStreams: 2 });
    d.push(hex('04 000000 000000 09 01000000 05 000000 000000 09 01000000'));
    expect(fail(d, hex('06 000000 000000 09 01000000')).code).toBe('ERR_CHUNK_TOO_MANY_STREAMS');
  });

  test('a new header on a csid with an incomplete message fails', () => {
    const d = new ChunkDecoder();
    const bytes = concat([
      hex('04 000000 0000c8 09 01000000'),
      new Uint8Array(128),
      hex('44 000001 000001 09 00'),
    ]);
    expect(fail(d, bytes).code).toBe('ERR_CHUNK_UNEXPECTED_HEADER');
  });

  test('a failed decoder stays failed, keeps the messages decoded before the error', () => {
    const d = new ChunkDecoder();
    const e = fail(d, hex('03 000000 000001 14 00000000 aa  02 000000 000004 01 00000000 00000000'));
    expect(e.messages).toHaveLength(2);
    expect(() => d.push(hex('03 000000 000001 14 00000000 aa'))).toThrow(e);
    expect(d.error).toBe(e);
  });

  test('invalid limits are rejected', () => {
    expect(() => new ChunkDecoder({ maxMessageLength: 0 })).toThrow(ChunkError);
    expect(() => new ChunkDecoder({ maxMessageLength: 0x1000000 })).toThrow(ChunkError);
  });
});

describe('zero copy', () => {
  test('a single-chunk message payload is a view of the input', () => {
    const input = hex('04 000000 000003 09 01000000 010203');
    const [m] = new ChunkDecoder().push(input);
    expect(m!.payload.buffer).toBe(input.buffer);
    expect(m!.payload.byteOffset).toBe(12);
  });

  test('the encoder never copies the payload', () => {
    const payload = new Uint8Array(1000);
    const out = new ChunkEncoder().encode({ type: 9, streamId: 1, timestamp: 5, payload }, 6);
    for (let i = 1; i < out.length; i += 2) expect(out[i]!.buffer).toBe(payload.buffer);
  });
});

describe('encoder header choice', () => {
  const msg = (timestamp: number, length = 10, type = 9, streamId = 1): RtmpMessage => ({
    type,
    streamId,
    timestamp,
    payload: new Uint8Array(length),
  });
  const fmtOf = (slices: Uint8Array[]) => slices[0]![0]! >> 6;

  test('fmt 0 first, fmt 1 on length/type change, fmt 2 on new delta, fmt 3 on same delta', () => {
    const e = new ChunkEncoder();
    expect(fmtOf(e.encode(msg(0), 6))).toBe(0);
    expect(fmtOf(e.encode(msg(33), 6))).toBe(2);
    expect(fmtOf(e.encode(msg(66), 6))).toBe(3);
    expect(fmtOf(e.encode(msg(99, 11), 6))).toBe(1);
    expect(fmtOf(e.encode(msg(132, 11, 8), 6))).toBe(1);
    expect(fmtOf(e.encode(msg(140, 11, 8, 2), 6))).toBe(0);
    // time going backwards
    expect(fmtOf(e.encode(msg(100, 11, 8, 2), 6))).toBe(0);
    // wrap forward is not backwards
    expect(fmtOf(e.encode(msg(0xfffffff0, 11, 8, 2), 6))).toBe(0);
    expect(fmtOf(e.encode(msg(0x10, 11, 8, 2), 6))).toBe(2);
  });

  test('no fmt 3 new message right after fmt 0 (readers disagree on its delta)', () => {
    const e = new ChunkEncoder();
    e.encode(msg(0), 6);
    expect(fmtOf(e.encode(msg(0), 6))).toBe(2);
  });

  test('invalidate forces fmt 0', () => {
    const e = new ChunkEncoder();
    e.encode(msg(0), 6);
    e.invalidate(6);
    expect(fmtOf(e.encode(msg(10), 6))).toBe(0);
    e.invalidate();
    expect(fmtOf(e.encode(msg(20), 6))).toBe(0);
  });

  test('setChunkSize encodes the message with the old size and applies the new one', () => {
    const e = new ChunkEncoder();
    expect(toHex(concat(e.setChunkSize(4096)))).toBe('020000000000040100000000' + '00001000');
    expect(e.chunkSize).toBe(4096);
    expect(() => e.setChunkSize(0)).toThrow(ChunkError);
  });

  test.each([
    [{ type: 9, streamId: 1, timestamp: -1, payload: new Uint8Array(1) }, 6],
    [{ type: 256, streamId: 1, timestamp: 0, payload: new Uint8Array(1) }, 6],
    [{ type: 9, streamId: 2 ** 32, timestamp: 0, payload: new Uint8Array(1) }, 6],
    [{ type: 9, streamId: 1, timestamp: 0, payload: new Uint8Array(1) }, 1],
    [{ type: 9, streamId: 1, timestamp: 0, payload: new Uint8Array(1) }, 65600],
    [{ type: 9, streamId: 1, timestamp: 0, payload: new Uint8Array(0x1000000) }, 6],
  ])('rejects invalid arguments %#', (m, csid) => {
    expect(() => new ChunkEncoder().encode(m, csid)).toThrow(ChunkError);
  });
});
