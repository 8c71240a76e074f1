// Recorded streams publisher -> RtmpServer + LiveRelay -> players, @rtmp/client on both ends over TCP: the E-RTMP
// lab's AV1 + Opus files and FFmpeg's legacy H.264 + AAC files, with players joining at the start and mid-stream.
import { CapsEx } from '@rtmp/client';
import { describe, expect, it } from 'vitest';
import {
  currentConfigs,
  describeTag,
  expectJoiner,
  fixtureTags,
  joinPoints,
  relayToPlayers,
  roleOf,
} from './helpers/relay-tags.js';

describe('the E-RTMP lab AV1 + Opus files through the relay', () => {
  it.each(['enhanced/av1_opus_testsrc.flv', 'enhanced/av1_opus_mptestsrc.flv'])('%s', async (name) => {
    const source = fixtureTags(name);
    // The start, then every 97 tags from the first headers on (tags 1-6: av01 and Opus headers, colorInfo).
    const joins = [...joinPoints(source, 97), 2, 5, 7];
    const { received, publisherConnect } = await relayToPlayers(source, joins);
    // Our publisher announced E-RTMP and the server stated it relays it (multitrack, ModEx, nano offsets).
    const shared = CapsEx.Multitrack | CapsEx.ModEx | CapsEx.TimestampNanoOffset;
    expect(publisherConnect.enhancedRtmp.capsEx).toBe(shared);
    for (const [joinAt, tags] of received) expectJoiner(source, joinAt, tags);

    // From the start: every tag as sent (the audio frame at tag 4 is where it may start: no video yet).
    expect(received.get(0)!.map(describeTag)).toEqual(source.map(describeTag));
    // Mid-stream: the real av1C (the empty one of tag 1 was replaced), colorInfo, OpusHead, the channel config.
    expect(currentConfigs(source, 500)).toEqual([2, 3, 5, 6]);
    const mid = received.get([...received.keys()].find((at) => at >= 500)!)!;
    const firstFrame = mid.findIndex((t) => roleOf(t).role === 'keyframe');
    expect(mid.slice(0, firstFrame).map(describeTag).sort()).toEqual(
      [{ ...source[0]!, timestamp: 0 }, source[2]!, source[3]!, source[5]!, source[6]!]
        .map(describeTag)
        .sort(),
    );
  });
});

describe('legacy H.264 + AAC through the same path', () => {
  it.each(['small_h264_aac.flv', 'extended_ts_h264_aac.flv'])(
    '%s: byte-identical to the source, tag for tag',
    async (name) => {
      const source = fixtureTags(name);
      const { received } = await relayToPlayers(source, joinPoints(source, 61));
      for (const [joinAt, tags] of received) expectJoiner(source, joinAt, tags);
      // The first player got every message body byte for byte, with its timestamp.
      const all = received.get(0)!;
      expect(all.length).toBe(source.length);
      for (const [i, tag] of all.entries()) {
        expect([tag.type, tag.timestamp]).toEqual([source[i]!.type, source[i]!.timestamp]);
        expect(Buffer.from(tag.body).equals(source[i]!.body), `tag ${i}`).toBe(true);
      }
    },
  );
});
