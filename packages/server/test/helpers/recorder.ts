import type { AmfValue } from '@rtmp/amf';
import type { RtmpError } from '@rtmp/connection';
import type { DemuxEvent } from '@rtmp/flv-demux';
import type {
  ConnectInfo,
  MediaEvent,
  PlayInfo,
  PublishInfo,
  RtmpHandler,
  RtmpHandlerFactory,
  StreamContext,
} from '../../src/index.js';

/** Everything a handler saw on one connection, in order. */
export interface Recorded {
  calls: string[];
  connect?: ConnectInfo;
  publish?: PublishInfo;
  play?: PlayInfo;
  metadata: Record<string, AmfValue>[];
  video: MediaEvent[];
  audio: MediaEvent[];
  unpublished: StreamContext[];
  disconnects: (RtmpError | undefined)[];
}

export function newRecord(): Recorded {
  return { calls: [], metadata: [], video: [], audio: [], unpublished: [], disconnects: [] };
}

/** A handler factory that records into a fresh {@link Recorded} per connection, optionally overriding callbacks. */
export function recordingHandler(
  sink: Recorded[],
  overrides: (record: Recorded) => Partial<RtmpHandler> = () => ({}),
): RtmpHandlerFactory<unknown> {
  return () => {
    const r = newRecord();
    sink.push(r);
    const base: RtmpHandler = {
      init: () => {
        r.calls.push('init');
      },
      handleConnect: (info) => {
        r.calls.push('connect');
        r.connect = info;
      },
      handlePublish: (_key, info) => {
        r.calls.push('publish');
        r.publish = info;
      },
      handlePlay: (info) => {
        r.calls.push('play');
        r.play = info;
      },
      handleMetadata: (metadata) => {
        r.metadata.push(metadata);
      },
      handleVideoData: (event) => {
        r.video.push(copyEvent(event));
      },
      handleAudioData: (event) => {
        r.audio.push(copyEvent(event));
      },
      handleUnpublish: (context) => {
        r.calls.push('unpublish');
        r.unpublished.push(context);
      },
      handleDisconnect: (error) => {
        r.calls.push('disconnect');
        r.disconnects.push(error);
      },
    };
    return { ...base, ...overrides(r) };
  };
}

// Payloads are views into socket buffers: tests keep only their sizes, so no copy is needed.
function copyEvent(event: MediaEvent | DemuxEvent): MediaEvent {
  return event as MediaEvent;
}
