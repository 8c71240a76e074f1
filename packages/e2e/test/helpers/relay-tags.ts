// Publisher -> RtmpServer with LiveRelay -> players over TCP, @rtmp/client on both ends, and what a player must
// receive, stated from the outside: the current configuration of every track before its first frame, then every tag
// from its first keyframe. Tags are compared field by field (type, timestamp, packet type, FourCC, tracks) as
// @rtmp/flv-demux's full parsers read them, and body bytes.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { decodeAmf0 } from '@rtmp/amf';
import { publishFlv, type RtmpClient, type RtmpConnectResult } from '@rtmp/client';
import { FlvReader, parseAudioTag, parseVideoTag } from '@rtmp/flv-demux';
import { readFixture, until } from '@rtmp/testing';
import { expect } from 'vitest';
import { connectedClient } from './peers.js';
import { startRelayServer } from './relay.js';

/** One FLV tag / RTMP media or data message: type, timestamp, body. */
export interface Tag {
  type: 8 | 9 | 18;
  timestamp: number;
  body: Uint8Array;
}

/** What a tag is to a player joining a live stream. */
export type Role = 'data' | 'config' | 'extra' | 'end' | 'frame' | 'keyframe';

/** The tag's role and the tracks it carries, read with parseVideoTag / parseAudioTag. */
export function roleOf(tag: Tag): { role: Role; tracks: number[] } {
  if (tag.type === 18) return { role: 'data', tracks: [] };
  try {
    const parsed = tag.type === 9 ? parseVideoTag(tag.body) : parseAudioTag(tag.body);
    const tracks = parsed.packets.map((p) => p.track);
    const packetType = parsed.packets[0]?.packetType;
    // Video: SequenceStart 0, SequenceEnd 2, Metadata 4, MPEG2TSSequenceStart 5. Audio: SequenceStart 0,
    // SequenceEnd 2, MultichannelConfig 4.
    if (packetType === 0 || (tag.type === 9 && packetType === 5)) return { role: 'config', tracks };
    if (packetType === 4) return { role: 'extra', tracks };
    if (packetType === 2) return { role: 'end', tracks };
    if (
      'frameType' in parsed &&
      packetType !== undefined &&
      (parsed.frameType === 1 || parsed.frameType === 4)
    ) {
      return { role: 'keyframe', tracks };
    }
  } catch {
    // Unparsable: forwarded as a frame.
  }
  return { role: 'frame', tracks: [] };
}

const isFrame = (role: Role) => role === 'frame' || role === 'keyframe';

/** A tag as compared: type, timestamp, role, packet type, FourCC (or legacy id), tracks, then the body bytes. */
export function describeTag(tag: Tag): string {
  let header = '';
  try {
    if (tag.type === 9) {
      const v = parseVideoTag(tag.body);
      const p = v.packets[0];
      header = `frame type ${v.frameType} pt ${p?.packetType ?? 'cmd'} ${p?.fourcc ?? p?.legacyCodecId ?? '-'} nano ${v.timestampOffsetNano}`;
    } else if (tag.type === 8) {
      const a = parseAudioTag(tag.body);
      const p = a.packets[0];
      header = `pt ${p?.packetType} ${p?.fourcc ?? a.soundFormat} nano ${a.timestampOffsetNano}`;
    }
  } catch {
    header = 'unparsable';
  }
  const { role, tracks } = roleOf(tag);
  const body =
    tag.body.byteLength <= 40
      ? Buffer.from(tag.body).toString('hex')
      : `${tag.body.byteLength} bytes sha1 ${createHash('sha1').update(tag.body).digest('hex')}`;
  return `${tag.type} @${tag.timestamp} ${role} ${header} tracks [${tracks}] ${body}`;
}

/** Data messages go to players with timestamp 0 (the relay sends metadata as a header, not in the timeline). */
const asSent = (tag: Tag): Tag => (tag.type === 18 ? { ...tag, timestamp: 0 } : tag);

/**
 * Source indexes of the configuration every track has after the first `joinAt` tags: per (media type, track) the
 * last SequenceStart and the last video Metadata / audio MultichannelConfig, both gone at that track's SequenceEnd.
 * A multitrack header that configures several tracks counts once.
 */
export function currentConfigs(source: readonly Tag[], joinAt: number): number[] {
  const slots = new Map<string, number>();
  for (let i = 0; i < joinAt; i++) {
    const tag = source[i]!;
    const { role, tracks } = roleOf(tag);
    for (const track of tracks) {
      if (role === 'config' || role === 'extra') slots.set(`${tag.type}/${track}/${role}`, i);
      if (role === 'end') {
        slots.delete(`${tag.type}/${track}/config`);
        slots.delete(`${tag.type}/${track}/extra`);
      }
    }
  }
  return [...new Set(slots.values())].sort((a, b) => a - b);
}

/** Where a player may start: a video keyframe, or an audio frame while the stream has shown no video frame yet. */
function startPoints(source: readonly Tag[]): number[] {
  const points: number[] = [];
  let sawVideo = false;
  for (const [i, tag] of source.entries()) {
    const { role } = roleOf(tag);
    if (role === 'keyframe' || (tag.type === 8 && role === 'frame' && !sawVideo)) points.push(i);
    if (tag.type === 9 && isFrame(role)) sawVideo = true;
  }
  return points;
}

/**
 * What a player that joined after the first `joinAt` tags receives when its first frame is `source[start]`:
 * before that frame, the last data message, the current configuration of every track (in any order) and the other
 * non-frames sent before `start`; from it, the frames from `start` on (those before `joinAt` come from the GOP cache)
 * and everything sent after `joinAt`.
 */
function expectedFrom(
  source: readonly Tag[],
  joinAt: number,
  start: number,
): { beforeFirstFrame: Tag[]; fromFirstFrame: Tag[] } {
  const beforeFirstFrame: Tag[] = [];
  const metadata = source.slice(0, joinAt).findLast((t) => t.type === 18);
  if (metadata) beforeFirstFrame.push(asSent(metadata));
  for (const i of currentConfigs(source, joinAt)) beforeFirstFrame.push(source[i]!);
  for (let i = joinAt; i < start; i++) {
    if (!isFrame(roleOf(source[i]!).role)) beforeFirstFrame.push(asSent(source[i]!));
  }
  const fromFirstFrame: Tag[] = [];
  for (let i = start; i < joinAt; i++) if (isFrame(roleOf(source[i]!).role)) fromFirstFrame.push(source[i]!);
  for (let i = Math.max(start, joinAt); i < source.length; i++) fromFirstFrame.push(asSent(source[i]!));
  return { beforeFirstFrame, fromFirstFrame };
}

/**
 * Checks what a player that joined after the first `joinAt` tags of `source` received: up to its first frame
 * exactly the current configuration of every live track (each once, with the metadata), then every tag from its
 * first keyframe, tag for tag. That keyframe is the one the cached GOP starts with (the last start point before
 * `joinAt`), or the first one after `joinAt` (no GOP could be replayed: none yet, or a video track's configuration
 * changed since). A player that received no frame must have had none to start from.
 */
export function expectJoiner(source: readonly Tag[], joinAt: number, received: readonly Tag[]): void {
  const label = `player joined after ${joinAt} of ${source.length} tags`;
  const sorted = (tags: readonly Tag[]) => tags.map(describeTag).sort();
  const firstFrame = received.findIndex((t) => isFrame(roleOf(t).role));
  const points = startPoints(source);
  if (firstFrame < 0) {
    // No frame at all: nothing to start from after it joined (a stream that ends before its next keyframe).
    expect(
      points.find((i) => i >= joinAt),
      `${label}: received no frame`,
    ).toBeUndefined();
    expect(sorted(received), label).toEqual(
      sorted(expectedFrom(source, joinAt, source.length).beforeFirstFrame),
    );
    return;
  }
  const candidates = [points.findLast((i) => i < joinAt), points.find((i) => i >= joinAt)].filter(
    (i): i is number => i !== undefined,
  );
  const first = describeTag(received[firstFrame]!);
  const start = candidates.find((i) => describeTag(source[i]!) === first);
  expect(
    start,
    `${label}: its first frame is neither the cached GOP's keyframe nor the next one`,
  ).toBeDefined();
  const expected = expectedFrom(source, joinAt, start!);
  expect(sorted(received.slice(0, firstFrame)), `${label}: before its first frame`).toEqual(
    sorted(expected.beforeFirstFrame),
  );
  expect(received.slice(firstFrame).map(describeTag), `${label}: from its first frame`).toEqual(
    expected.fromFirstFrame.map(describeTag),
  );
}

/** Tags of an FLV fixture as a publisher sends them. */
export function fixtureTags(name: string): Tag[] {
  return new FlvReader()
    .push(readFixture(name))
    .filter((t): t is typeof t & { type: 8 | 9 | 18 } => t.type === 8 || t.type === 9 || t.type === 18)
    .map((t) => ({ type: t.type, timestamp: t.timestamp, body: t.body }));
}

/** What {@link relayToPlayers} returns. */
export interface RelayRun {
  /** Each player's received tags (audio, video, onMetaData), by the number of source tags sent before it joined. */
  received: Map<number, Tag[]>;
  /** The publisher's connect result (its E-RTMP negotiation with the server). */
  publisherConnect: RtmpConnectResult;
}

const SAMPLE_ACCESS = '|RtmpSampleAccess';

/**
 * Publishes `source` with `publishFlv` (as fast as the server takes it) through an RtmpServer with a LiveRelay, and
 * starts a player (@rtmp/client, raw messages) after each count of tags in `joins` (0: before the first tag), once
 * the relay has taken every tag sent so far. Ends the publish and resolves when every player got the end of the
 * stream, with what each received.
 */
export async function relayToPlayers(source: readonly Tag[], joins: readonly number[]): Promise<RelayRun> {
  let relayed = 0;
  const { server, port } = await startRelayServer({
    // Called for each message right after the relay took it: how far the relay is.
    inner: () => ({ handleMessage: () => void relayed++ }),
  });
  const clients: RtmpClient[] = [];
  try {
    const publisherClient = await connectedClient(port);
    clients.push(publisherClient);
    const publisher = await publisherClient.publish({ name: 'tags' });
    const received = new Map<number, Tag[]>();
    const ended: Promise<unknown>[] = [];
    let sent = 0;
    for (const joinAt of [...new Set(joins)].sort((a, b) => a - b)) {
      if (joinAt > sent) {
        const result = await publishFlv(publisher, source.slice(sent, joinAt), { realtime: false });
        expect(result.stoppedBy).toBe('end');
        sent = joinAt;
      }
      await until(() => relayed === sent, 10_000, `the relay took ${sent} tags`);
      const client = await connectedClient(port);
      clients.push(client);
      const player = await client.play({ name: 'tags', demux: false });
      const tags: Tag[] = [];
      received.set(joinAt, tags);
      player.on('message', (m) => {
        if (m.type === 18 && decodeAmf0(m.payload)[0] === SAMPLE_ACCESS) return;
        if (m.type === 8 || m.type === 9 || m.type === 18) {
          tags.push({ type: m.type, timestamp: m.timestamp, body: m.payload.slice() });
        }
      });
      ended.push(new Promise((resolve) => player.once('end', resolve)));
    }
    if (source.length > sent) {
      const result = await publishFlv(publisher, source.slice(sent), { realtime: false });
      expect(result.stoppedBy).toBe('end');
    }
    await until(() => relayed === source.length, 10_000, 'the relay took every tag');
    publisher.unpublish();
    await Promise.all(ended);
    return { received, publisherConnect: publisherClient.connectResult! };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await server.stop();
  }
}

/** Join points: the start, and each of `every` tags, after `from`. */
export function joinPoints(source: readonly Tag[], every: number, from = 1): number[] {
  const points = [0];
  for (let at = from; at < source.length; at += every) points.push(at);
  return points;
}
