import type { AmfValue } from '@rtmp/amf';
import type { ControlMessage, RtmpMessage } from '@rtmp/chunk';
import type { RtmpError } from './errors.js';

/** Which side of the handshake a connection plays. Nothing else in the core depends on it. */
export type RtmpRole = 'server' | 'client';

/** A decoded command (message type 20, or 17 for its AMF3 form). */
export interface RtmpCommand {
  /** Command name, e.g. `connect`, `publish`. */
  name: string;
  /** Transaction id (0 when the command expects no reply). */
  transactionId: number;
  /** The command object (often `null`). */
  commandObject: AmfValue;
  /** The values after the command object. */
  args: AmfValue[];
  /** Message stream id the command arrived on. */
  streamId: number;
  /** Message timestamp. */
  timestamp: number;
  /** 20 (AMF0) or 17 (AMF3 form). */
  messageType: number;
}

/** A decoded data message (type 18, or 15 for its AMF3 form), e.g. `@setDataFrame` / `onMetaData`. */
export interface RtmpDataMessage {
  /** The decoded AMF values; the first is usually the handler name. */
  values: AmfValue[];
  streamId: number;
  timestamp: number;
  messageType: number;
  /** The raw payload (a view, not a copy). */
  payload: Uint8Array;
}

/** An `onStatus` notification. */
export interface RtmpStatus {
  streamId: number;
  level: string;
  code: string;
  description: string;
  /** The whole info object as received. */
  info: AmfValue;
}

/** Result of a `RtmpConnection.call`: the values after the transaction id of the `_result`. */
export interface RtmpCallResult {
  commandObject: AmfValue;
  args: AmfValue[];
}

/** Events of `RtmpConnection`. */
export interface RtmpConnectionEvents {
  /** The handshake completed; commands may flow. */
  ready: [];
  /** Audio, video, shared object or unknown message (aggregates are already split). */
  message: [message: RtmpMessage];
  /** A decoded data message (18/15). */
  data: [data: RtmpDataMessage];
  /** A command that is not a reply to one of our calls and not `onStatus`. */
  command: [command: RtmpCommand];
  /** An `onStatus` notification. */
  status: [status: RtmpStatus];
  /** Protocol or user control message, decoded by `@rtmp/chunk` (pings are answered before this fires). */
  control: [control: ControlMessage];
  /** The socket's write buffer drained. */
  drain: [];
  /** The connection is closed; `error` is undefined for a clean close. Fires exactly once. */
  close: [error: RtmpError | undefined];
}
