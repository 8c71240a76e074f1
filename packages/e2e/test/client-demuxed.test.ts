import { readFileSync } from 'node:fs';
import { RtmpClient } from '@rtmp/client';
import { FlvReader, StreamDemuxer } from '@rtmp/flv-demux';
import type { RtmpServer } from '@rtmp/server';
import { fixture, readOracle } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { checkSamples, collect } from '../../client/test/helpers/media.js';
import { startRelayServer } from './helpers/relay.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('demuxed samples', () => {
  let server: RtmpServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('sendEvent publishes StreamDemuxer events that play back identical', async () => {
    const started = await startRelayServer();
    server = started.server;
    const url = `rtmp://127.0.0.1:${started.port}/live/events`;
    const viewer = new RtmpClient({ url });
    cleanups.push(() => viewer.close());
    await viewer.connect();
    const player = await viewer.play();
    const items = collect(player);

    const source = new RtmpClient({ url });
    cleanups.push(() => source.close());
    await source.connect();
    const publisher = await source.publish();
    const reader = new FlvReader();
    const demuxer = new StreamDemuxer();
    for (const tag of reader.push(readFileSync(fixture('small_h264_aac.flv')))) {
      for (const event of demuxer.push(tag.type, tag.timestamp, tag.body)) await publisher.sendEvent(event);
    }
    publisher.unpublish();
    const events = await items;
    checkSamples(events, readOracle('small_h264_aac.packets.csv'));
    expect(events.find((e) => e.kind === 'metadata')).toMatchObject({ name: 'onMetaData' });
  });
});
