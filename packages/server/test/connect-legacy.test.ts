// The server's answer to the `connect` of clients that send nothing of Enhanced RTMP (FFmpeg 5.1, librtmp as used by
// GStreamer and OBS 29), byte for byte. The expected bytes were captured from the server before it announced its own
// E-RTMP capabilities: such clients must see no change at all.
import * as net from 'node:net';
import { decodeAmf0 } from '@rtmp/amf';
import { ChunkDecoder, MessageType } from '@rtmp/chunk';
import {
  chunkReads,
  concat,
  directionBytes,
  HANDSHAKE_BYTES,
  readCapture,
  toHex,
  until,
} from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { LiveRelay } from '../src/index.js';
import { serverPerTest } from './raw-peer.js';

/** The client's bytes of a capture up to the end of its `connect` message (handshake included). */
function clientConnectBytes(capture: string): Uint8Array {
  const records = readCapture(capture);
  const stream = concat(chunkReads(records, 0));
  const decoder = new ChunkDecoder();
  // One byte at a time: the connect message ends exactly where the decoder first returns it.
  for (let i = 0; i < stream.length; i++) {
    for (const message of decoder.push(stream.subarray(i, i + 1))) {
      if (message.type === MessageType.CommandAmf0 && decodeAmf0(message.payload)[0] === 'connect') {
        return concat([directionBytes(records, 0, HANDSHAKE_BYTES), stream.subarray(0, i + 1)]);
      }
    }
  }
  throw new Error(`${capture}: no connect`);
}

/** The connect command object of a capture (to show these clients announce nothing of E-RTMP). */
function connectObject(capture: string): Record<string, unknown> {
  const bytes = clientConnectBytes(capture).subarray(HANDSHAKE_BYTES);
  const [connect] = new ChunkDecoder().push(bytes).filter((m) => m.type === MessageType.CommandAmf0);
  return decodeAmf0(connect!.payload)[2] as Record<string, unknown>;
}

/** Replays the capture's connect into the server; the server's bytes after S0+S1+S2 up to the end of `_result`. */
async function answerTo(port: number, capture: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const received: Buffer[] = [];
  socket.on('data', (data: Buffer) => received.push(data));
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(clientConnectBytes(capture));
  let answer: Uint8Array | undefined;
  await until(
    () => {
      const all = concat(received);
      if (all.length <= HANDSHAKE_BYTES) return false;
      const chunks = all.subarray(HANDSHAKE_BYTES);
      const decoder = new ChunkDecoder();
      for (let i = 0; i < chunks.length && answer === undefined; i++) {
        for (const message of decoder.push(chunks.subarray(i, i + 1))) {
          if (message.type === MessageType.CommandAmf0 && decodeAmf0(message.payload)[0] === '_result') {
            answer = chunks.subarray(0, i + 1);
          }
        }
      }
      return answer !== undefined;
    },
    5_000,
    `${capture}: _result`,
  );
  socket.destroy();
  return toHex(answer!);
}

// Window Acknowledgement Size 2 500 000, Set Peer Bandwidth 2 500 000 (dynamic), Set Chunk Size 4096, then
// `_result(1, {fmsVer, capabilities: 31, mode: 1}, {level, code: NetConnection.Connect.Success, description,
// objectEncoding: 0})`: captured from the server before this change, for each capture below.
const LEGACY_ANSWER =
  '020000000000040500000000002625a04200000000000506002625a002420000000000040100001000030000000000cd1400' +
  '0000000200075f726573756c74003ff0000000000000030006666d7356657202000d464d532f332c302c312c313233000c63' +
  '61706162696c697469657300403f00000000000000046d6f6465003ff00000000000000000090300056c6576656c02000673' +
  '74617475730004636f646502001d4e6574436f6e6e656374696f6e2e436f6e6e6563742e53756363657373000b6465736372' +
  '697074696f6e020015436f6e6e656374696f6e207375636365656465642e000e6f626a656374456e636f64696e6700000000' +
  '0000000000000009';

const CAPTURES = [
  'ffmpeg-publish-h264-aac.rtmpcap',
  'ffmpeg-play-h264-aac.rtmpcap',
  'librtmp-publish-h264-aac.rtmpcap',
  'ffmpeg-publish-extended-timestamp.rtmpcap',
];

describe('connect of a client that announces nothing of Enhanced RTMP', () => {
  const servers = serverPerTest();

  it.each(CAPTURES)('%s: the captured client announces nothing of E-RTMP', (capture) => {
    const properties = connectObject(capture);
    expect(properties.app).toBe('live');
    for (const key of ['fourCcList', 'videoFourCcInfoMap', 'audioFourCcInfoMap', 'capsEx']) {
      expect(properties).not.toHaveProperty(key);
    }
  });

  it.each(CAPTURES)(
    '%s: the answer is byte-identical to the one before E-RTMP negotiation',
    async (capture) => {
      const port = await servers.start({ handler: new LiveRelay().handler() });
      expect(await answerTo(port, capture)).toBe(LEGACY_ANSWER);
    },
  );
});
