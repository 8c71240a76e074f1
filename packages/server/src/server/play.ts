import { type AmfValue, createAmfObject, EcmaArray } from '@rtmp/amf';
import { MessageType } from '@rtmp/chunk';
import { ChunkStreams, RtmpError } from '@rtmp/connection';
import { concatBytes, type DemuxEvent, StreamMuxer } from '@rtmp/flv-demux';
import type { SessionCore } from './core.js';
import { statusInfo } from './status.js';

// The play API of a session: what `ClientSession.sendVideo`/`sendAudio`/`sendDemuxed`/`sendMetadata`/`endPlayback`
// do to a stream that plays. The default stream is the first that plays.

// Whether a send just made was written. `send()` also returns false under backpressure (and in a write batch the
// socket stays corked, so that is common); "written" only depends on the socket still taking data.
function writable(core: SessionCore): boolean {
  return !core.connection.closed && core.connection.socket.writable;
}

/** Sends an audio (8) or video (9) tag body to a playing stream that wants it. */
export function sendMedia(
  core: SessionCore,
  type: 8 | 9,
  timestamp: number,
  body: Uint8Array,
  streamId?: number,
): boolean {
  const id = streamId ?? core.streams.firstPlaying();
  if (id === undefined || !core.streams.wants(id, type)) return false;
  const csid = type === MessageType.Audio ? ChunkStreams.Audio : ChunkStreams.Video;
  core.connection.send({ type, streamId: id, timestamp: timestamp >>> 0, payload: body }, csid);
  return writable(core);
}

/** See `ClientSession.sendDemuxed`. */
export function sendDemuxed(core: SessionCore, event: DemuxEvent, streamId?: number): boolean {
  const id = streamId ?? core.streams.firstPlaying();
  const stream = id === undefined ? undefined : core.streams.get(id);
  if (stream?.mode !== 'playing') return false;
  stream.muxer ??= new StreamMuxer();
  let tags: ReturnType<StreamMuxer['push']>;
  try {
    // The muxer must see every codec event, even while paused, to mux the samples that follow.
    tags = stream.muxer.push(event);
  } catch (error) {
    throw new RtmpError('ERR_RTMP_INVALID_STATE', `cannot send ${event.kind} event`, { cause: error });
  }
  let sent = false;
  for (const tag of tags) {
    // One message needs one payload: a single piece is sent as is, several are joined (the only copy).
    const payload = tag.body.length === 1 ? tag.body[0]! : concatBytes(tag.body);
    if (tag.type === MessageType.DataAmf0) {
      core.connection.send(
        { type: MessageType.DataAmf0, streamId: stream.id, timestamp: tag.timestamp >>> 0, payload },
        ChunkStreams.Data,
      );
      sent = writable(core);
    } else {
      sent = sendMedia(core, tag.type, tag.timestamp, payload, stream.id) || sent;
    }
  }
  return sent;
}

/** See `ClientSession.sendMetadata`. */
export function sendMetadata(
  core: SessionCore,
  metadata: Record<string, AmfValue>,
  streamId: number | undefined,
  timestamp: number,
): boolean {
  const id = streamId ?? core.streams.firstPlaying();
  if (id === undefined) return false;
  const properties = Object.assign(createAmfObject(), metadata);
  return core.connection.sendData(id, ['onMetaData', new EcmaArray(properties)], timestamp);
}

/** See `ClientSession.endPlayback`. */
export function endPlayback(core: SessionCore, streamId: number, description: string): void {
  const stream = core.streams.get(streamId);
  if (stream?.mode !== 'playing') return;
  core.connection.sendUserControl({ type: 'streamEof', streamId });
  core.sendStatus(streamId, statusInfo('status', 'NetStream.Play.UnpublishNotify', description));
  core.sendStatus(streamId, statusInfo('status', 'NetStream.Play.Stop', description));
  core.endStream(stream);
}
