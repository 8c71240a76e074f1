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
