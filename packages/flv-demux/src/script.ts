import { type AmfValue, decodeAmf0, encodeAmf0 } from '@rtmp/amf';
import { FlvError } from './errors.js';

export type { AmfValue };

/** A decoded data message (RTMP type 18 / FLV script tag). */
export interface ScriptData {
  /** The handler name, e.g. `onMetaData` (the `@setDataFrame` wrapper removed). */
  name: string;
  /** The first argument (for onMetaData the metadata object / ECMA array), undefined when absent. */
  value: AmfValue;
  /** Every argument after the name. */
  args: AmfValue[];
  /** True when the message was wrapped in `@setDataFrame`. */
  setDataFrame: boolean;
}

/**
 * Decodes a script data payload: a name string then values, with or without the `@setDataFrame` wrapper that
 * publishers put around onMetaData.
 * @throws {FlvError} `ERR_FLV_SCRIPT_DATA` when the AMF0 is malformed or the first value is not a string.
 */
export function parseScriptData(payload: Uint8Array): ScriptData {
  let values: AmfValue[];
  try {
    values = decodeAmf0(payload);
  } catch (e) {
    throw new FlvError('ERR_FLV_SCRIPT_DATA', `script data: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  let setDataFrame = false;
  if (values[0] === '@setDataFrame') {
    setDataFrame = true;
    values = values.slice(1);
  }
  const name = values[0];
  if (typeof name !== 'string')
    throw new FlvError('ERR_FLV_SCRIPT_DATA', 'script data does not start with a name');
  const args = values.slice(1);
  return { name, value: args[0], args, setDataFrame };
}

/**
 * `"@setDataFrame"` as an AMF0 string (string marker 0x02, u16 length 13, the name): the 16 bytes a wrapped data
 * message starts with.
 */
const SET_DATA_FRAME = Uint8Array.of(
  0x02,
  0x00,
  0x0d,
  ...Array.from('@setDataFrame', (c) => c.charCodeAt(0)),
);

/**
 * Builds a data message payload as publishers send metadata: `"@setDataFrame"`, `name`, then `args` (AMF0), e.g.
 * `wrapSetDataFrame('onMetaData', [metadata])`. Servers store the message after the wrapper and replay it to
 * players as `name, ...args`.
 */
export function wrapSetDataFrame(name: string, args: readonly AmfValue[]): Uint8Array;
/**
 * Puts the wrapper in front of an already encoded data message (`name, ...args` in AMF0, e.g. the body of an FLV
 * script tag), keeping its bytes as they are (one copy).
 */
export function wrapSetDataFrame(payload: Uint8Array): Uint8Array;
export function wrapSetDataFrame(
  nameOrPayload: string | Uint8Array,
  args: readonly AmfValue[] = [],
): Uint8Array {
  if (typeof nameOrPayload === 'string') return encodeAmf0(['@setDataFrame', nameOrPayload, ...args]);
  const out = new Uint8Array(SET_DATA_FRAME.byteLength + nameOrPayload.byteLength);
  out.set(SET_DATA_FRAME, 0);
  out.set(nameOrPayload, SET_DATA_FRAME.byteLength);
  return out;
}

/**
 * The payload of an AMF0 data message without a leading `"@setDataFrame"`: a view of the rest (no copy) when the
 * payload starts with it, the payload itself otherwise. What a relay or a recorder stores (players and FLV files
 * want the bare `onMetaData`). Reads the first 16 bytes only; never throws.
 */
export function stripSetDataFrame(payload: Uint8Array): Uint8Array {
  if (payload.byteLength < SET_DATA_FRAME.byteLength) return payload;
  for (let i = 0; i < SET_DATA_FRAME.byteLength; i++) {
    if (payload[i] !== SET_DATA_FRAME[i]) return payload;
  }
  return payload.subarray(SET_DATA_FRAME.byteLength);
}
