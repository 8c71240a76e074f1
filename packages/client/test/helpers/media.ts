// Media helpers of the client's tests, shared with the tests against our server in packages/e2e.
import { readFileSync } from 'node:fs';
import {
  classifyTag,
  type DemuxEvent,
  FlvReader,
  type FlvTag,
  type NalVideoSampleEvent,
  type TagClass,
  wrapSetDataFrame,
} from '@rtmp/flv-demux';
import { type OraclePacket, oracleVideoRow, videoSampleRow } from '@rtmp/testing';
import { expect } from 'vitest';
import type { RtmpPlayer, RtmpPublisher } from '../../src/index.js';

/** Every tag of an FLV file. */
export function readFlvTags(file: string): FlvTag[] {
  const reader = new FlvReader();
  const tags = reader.push(readFileSync(file));
  reader.end();
  return tags;
}

/** True for a coded audio or video frame (not a sequence header, end of sequence, metadata or script tag). */
export function isFrame(tag: TagClass | null): boolean {
  return tag?.kind === 'frame' || tag?.kind === 'keyframe';
}

/** Publishes `tags` in order; `realtime` paces them by timestamp. Script tags get the @setDataFrame wrapper. */
export async function publishTags(
  publisher: RtmpPublisher,
  tags: readonly FlvTag[],
  options: { realtime?: boolean } = {},
): Promise<void> {
  const started = Date.now();
  // Pace from the first frame: sequence headers may sit at 0 before media at extended timestamps.
  const first = tags.find((t) => isFrame(classifyTag(t.type, t.body)))?.timestamp ?? 0;
  for (const tag of tags) {
    if (options.realtime) {
      const due = started + Math.max(0, tag.timestamp - first);
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    if (tag.type === 18) {
      await publisher.sendTag(18, tag.timestamp, wrapSetDataFrame(tag.body));
    } else {
      await publisher.sendTag(tag.type as 8 | 9, tag.timestamp, tag.body);
    }
  }
}

/** The relay starts a fresh player at the first keyframe: compare from the first sample we received. */
export function checkSamples(events: DemuxEvent[], oracle: OraclePacket[]): void {
  const video = events.filter((e): e is NalVideoSampleEvent => e.kind === 'video');
  const audio = events.filter((e) => e.kind === 'audio');
  const oVideo = oracle.filter((p) => p.type === 'video');
  const oAudio = oracle.filter((p) => p.type === 'audio');
  expect(video.length).toBe(oVideo.length);
  expect(video.map(videoSampleRow)).toEqual(oVideo.map(oracleVideoRow));
  // Audio sent before the first keyframe may be skipped by a live relay.
  expect(audio.length).toBeGreaterThan(oAudio.length - 5);
  const tail = oAudio.slice(oAudio.length - audio.length);
  expect(audio.map((a) => (a.kind === 'audio' ? [a.timestamp, a.payload.byteLength] : []))).toEqual(
    tail.map((p) => [p.dts, p.size]),
  );
}

/** Every demux event a player yields until its end of stream. */
export async function collect(player: RtmpPlayer): Promise<DemuxEvent[]> {
  const items: DemuxEvent[] = [];
  for await (const item of player) if (item.kind !== 'raw') items.push(item);
  return items;
}
