import { type AmfValue, decodeAmf0 } from '@rtmp/amf';
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
