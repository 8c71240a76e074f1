// ClientSession.sendDemuxed to FFmpeg players; its state checks with our client as the player are tested in
// packages/e2e (demuxed-play.test.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ffmpegPublish, fixture, hasTool, run, until } from '@rtmp/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ClientSession, RtmpServer } from '../src/index.js';

const haveTools = hasTool('ffmpeg') && hasTool('ffprobe');

let server: RtmpServer | undefined;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtmp-demuxed-'));
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** ffprobe's packets as the `.packets.csv` oracles list them. */
async function packetsCsv(file: string): Promise<string[]> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'packet=codec_type,stream_index,pts,dts,size,flags',
    '-of',
    'csv=p=0',
    file,
  ]).done;
  return stdout.trim().split('\n');
}

describe.skipIf(!haveTools)('ClientSession.sendDemuxed', () => {
  it('a handler re-sending demuxed samples to a player: FFmpeg plays exactly the published packets', async () => {
    const players = new Set<ClientSession>();
    const sent: Record<string, number> = {};
    server = new RtmpServer({
      host: '127.0.0.1',
      port: 0,
      handler: (_options, session) => {
        session.on('play', () => players.add(session));
        session.on('stop', () => players.delete(session));
        const forward = (event: Parameters<ClientSession['sendDemuxed']>[0]) => {
          for (const player of players) {
            const key = `${event.kind}:${player.sendDemuxed(event)}`;
            sent[key] = (sent[key] ?? 0) + 1;
          }
        };
        return {
          handleMetadata: (metadata) => {
            for (const player of players) player.sendMetadata(metadata);
          },
          // Only demuxed events reach here (demux defaults to true); raw ones would be a test failure.
          handleVideoData: (event) => {
            if (event.kind === 'raw') throw new Error('raw event with demux on');
            forward(event);
          },
          handleAudioData: (event) => {
            if (event.kind === 'raw') throw new Error('raw event with demux on');
            forward(event);
          },
          handleUnpublish: () => {
            for (const player of players) player.endPlayback(player.playingStreams[0]!);
          },
        };
      },
    });
    const port = await server.start();
    const out = path.join(dir, 'out.flv');
    const player = run(
      'ffmpeg',
      [
        '-hide_banner',
        '-nostdin',
        '-y',
        '-i',
        `rtmp://127.0.0.1:${port}/live/out`,
        '-c',
        'copy',
        '-f',
        'flv',
        out,
      ],
      30_000,
    );
    await until(() => players.size === 1, 10_000, 'player');
    const publisher = ffmpegPublish(fixture('small_h264_aac.flv'), `rtmp://127.0.0.1:${port}/live/in`);
    const published = await publisher.done;
    expect(published.code, published.stderr).toBe(0);
    const played = await player.done;
    expect(played.code, played.stderr).toBe(0);
    // Two sequence headers, 100 video + 174 audio samples, and the AVC end of sequence FFmpeg sends last.
    expect(sent).toEqual({ 'codec:true': 2, 'video:true': 100, 'audio:true': 174, 'sequenceEnd:true': 1 });
    const oracle = readFileSync(fixture('small_h264_aac.packets.csv'), 'utf8').trim().split('\n');
    const got = await packetsCsv(out);
    // Same packets (type, pts, dts, size, keyframe) in the same order.
    expect(got.map((l) => l.replace(/,+$/, ''))).toEqual(oracle.map((l) => l.replace(/,+$/, '')));
  });
});
