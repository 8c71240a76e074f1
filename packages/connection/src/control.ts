import { MessageType } from '@rtmp/chunk';

/** Conventional chunk stream ids (the ones FFmpeg and nginx-rtmp use), so captures stay comparable. */
export const ChunkStreams = {
  /** Protocol and user control messages (the protocol requires csid 2). */
  Control: 2,
  /** Commands. */
  Command: 3,
  /** Audio. */
  Audio: 4,
  /** Data messages (onMetaData, |RtmpSampleAccess). */
  Data: 5,
  /** Video. */
  Video: 6,
} as const;

/** The chunk stream a message goes out on when the caller names none: by message type, as FFmpeg does. */
export function defaultChunkStream(type: number): number {
  switch (type) {
    case MessageType.Audio:
      return ChunkStreams.Audio;
    case MessageType.Video:
      return ChunkStreams.Video;
    case MessageType.DataAmf0:
    case MessageType.DataAmf3:
      return ChunkStreams.Data;
    case MessageType.CommandAmf0:
    case MessageType.CommandAmf3:
      return ChunkStreams.Command;
    default:
      return type <= 6 ? ChunkStreams.Control : ChunkStreams.Command;
  }
}
