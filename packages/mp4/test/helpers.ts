import { type DemuxEvent, StreamDemuxer } from '@rtmp/flv-demux';
import type { TimedPacket } from '@rtmp/testing';

/** A tag as the reader (or an FLV file) gives it. */
export interface TagLike {
  type: number;
  timestamp: number;
  body: Uint8Array;
}

/** Tags demuxed back into packets the way a player's FFmpeg sees them: times in ms, sizes of the sample data. */
export function packetsOf(tags: Iterable<TagLike>): { packets: TimedPacket[]; events: DemuxEvent[] } {
  const demuxer = new StreamDemuxer();
  const packets: TimedPacket[] = [];
  const events: DemuxEvent[] = [];
  let nalLengthSize = 4;
  for (const tag of tags) {
    if (tag.type !== 8 && tag.type !== 9 && tag.type !== 18) continue;
    for (const event of demuxer.push(tag.type, tag.timestamp, tag.body)) {
      events.push(event);
      if (event.kind === 'codec' && event.mediaType === 'video')
        nalLengthSize = event.info.nalLengthSize ?? 4;
      if (event.kind === 'video') {
        const size =
          event.payload instanceof Uint8Array
            ? event.payload.length
            : event.payload.reduce((n, nal) => n + nal.length + nalLengthSize, 0);
        packets.push({ type: 'video', dts: event.dts, pts: event.pts, size, keyframe: event.keyframe });
      } else if (event.kind === 'audio') {
        const t = event.timestamp;
        packets.push({ type: 'audio', dts: t, pts: t, size: event.payload.length, keyframe: true });
      }
    }
  }
  return { packets, events };
}

/** Collects an async iterable. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
