import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fromHex, toHex as hex } from '@rtmp/testing';
import { describe, expect, test } from 'vitest';
import { decodeCommandPayload, EcmaArray, encodeCommandPayload } from '../src/index.js';
import { packageRoot, rec } from './helpers.js';

interface Captured {
  capture: string;
  direction: string;
  index: number;
  type: number;
  name: string;
  hex: string;
}

// Extracted once from fixtures/captures (at the repository root) by test/fixtures/extract-capture-commands.ts.
const { messages } = JSON.parse(
  readFileSync(path.join(packageRoot, 'test/fixtures/capture-commands.json'), 'utf8'),
) as { messages: Captured[] };

function find(capture: string, name: string, nth = 0): Uint8Array {
  const found = messages.filter((m) => m.capture === capture && m.name === name)[nth];
  if (!found) throw new Error(`no ${name} in ${capture}`);
  return fromHex(found.hex);
}

const FFMPEG = 'ffmpeg-publish-h264-aac.rtmpcap';

describe('real command messages from the captures', () => {
  test('the fixture covers every command the issue lists', () => {
    const names = new Set(messages.map((m) => m.name));
    for (const n of [
      'connect',
      'releaseStream',
      'FCPublish',
      'createStream',
      'publish',
      '@setDataFrame',
      '_result',
      'onStatus',
    ]) {
      expect(names.has(n), n).toBe(true);
    }
  });

  test.each(messages.map((m) => [`${m.capture} ${m.direction} #${m.index} ${m.name}`, m] as const))(
    '%s decodes and re-encodes to the same bytes',
    (_, m) => {
      const bytes = fromHex(m.hex);
      const values = decodeCommandPayload(bytes, m.type);
      expect(values[0]).toBe(m.name);
      expect(hex(encodeCommandPayload(values, m.type))).toBe(m.hex);
    },
  );

  test('FFmpeg connect', () => {
    expect(decodeCommandPayload(find(FFMPEG, 'connect'), 20)).toStrictEqual([
      'connect',
      1,
      rec({
        app: 'live',
        type: 'nonprivate',
        flashVer: 'FMLE/3.0 (compatible; Lavf59.27.100)',
        tcUrl: 'rtmp://127.0.0.1:19400/live',
      }),
    ]);
  });

  test('FFmpeg releaseStream, FCPublish, createStream, publish', () => {
    expect(decodeCommandPayload(find(FFMPEG, 'releaseStream'), 20)).toStrictEqual([
      'releaseStream',
      2,
      null,
      'cap1',
    ]);
    expect(decodeCommandPayload(find(FFMPEG, 'FCPublish'), 20)).toStrictEqual(['FCPublish', 3, null, 'cap1']);
    expect(decodeCommandPayload(find(FFMPEG, 'createStream'), 20)).toStrictEqual(['createStream', 4, null]);
    expect(decodeCommandPayload(find(FFMPEG, 'publish'), 20)).toStrictEqual([
      'publish',
      5,
      null,
      'cap1',
      'live',
    ]);
  });

  test('FFmpeg @setDataFrame onMetaData is an ECMA array', () => {
    expect(decodeCommandPayload(find(FFMPEG, '@setDataFrame'), 18)).toStrictEqual([
      '@setDataFrame',
      'onMetaData',
      new EcmaArray(
        rec({
          duration: 0,
          width: 320,
          height: 240,
          videodatarate: 390.625,
          framerate: 25,
          videocodecid: 7,
          audiodatarate: 62.5,
          audiosamplerate: 44100,
          audiosamplesize: 16,
          stereo: false,
          audiocodecid: 10,
          encoder: 'Lavf59.27.100',
          filesize: 0,
        }),
      ),
    ]);
  });

  test('nginx-rtmp _result and onStatus', () => {
    expect(decodeCommandPayload(find(FFMPEG, '_result', 0), 20)).toStrictEqual([
      '_result',
      1,
      rec({ fmsVer: 'FMS/3,0,1,123', capabilities: 31 }),
      rec({
        level: 'status',
        code: 'NetConnection.Connect.Success',
        description: 'Connection succeeded.',
        objectEncoding: 0,
      }),
    ]);
    expect(decodeCommandPayload(find(FFMPEG, '_result', 1), 20)).toStrictEqual(['_result', 4, null, 1]);
    expect(decodeCommandPayload(find(FFMPEG, 'onStatus'), 20)).toStrictEqual([
      'onStatus',
      0,
      null,
      rec({ level: 'status', code: 'NetStream.Publish.Start', description: 'Start publishing' }),
    ]);
  });

  test('player side: play, |RtmpSampleAccess, nginx onMetaData (an object, not an ECMA array)', () => {
    const play = 'ffmpeg-play-h264-aac.rtmpcap';
    expect(decodeCommandPayload(find(play, 'play'), 20)).toStrictEqual(['play', 4, null, 'cap2', -2000]);
    expect(decodeCommandPayload(find(play, '|RtmpSampleAccess'), 18)).toStrictEqual([
      '|RtmpSampleAccess',
      true,
      true,
    ]);
    const [name, meta] = decodeCommandPayload(find(play, 'onMetaData'), 18) as [
      string,
      Record<string, unknown>,
    ];
    expect(name).toBe('onMetaData');
    expect(Object.getPrototypeOf(meta)).toBe(null);
    expect(meta.width).toBe(320);
    expect(meta.Server).toBe('NGINX RTMP (github.com/arut/nginx-rtmp-module)');
  });

  test('librtmp connect has no flashVer', () => {
    expect(decodeCommandPayload(find('librtmp-publish-h264-aac.rtmpcap', 'connect'), 20)).toStrictEqual([
      'connect',
      1,
      rec({ app: 'live', type: 'nonprivate', tcUrl: 'rtmp://127.0.0.1:19400/live' }),
    ]);
  });

  test('every split point of a real payload is either a value or ERR_AMF_TRUNCATED', () => {
    const bytes = find(FFMPEG, '@setDataFrame');
    for (let cut = 1; cut < bytes.length; cut++) {
      try {
        decodeCommandPayload(bytes.subarray(0, cut), 18);
      } catch (e) {
        expect((e as { code: string }).code).toBe('ERR_AMF_TRUNCATED');
      }
    }
  });
});
