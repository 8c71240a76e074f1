import { amfProperty } from '@rtmp/amf';
import type { RtmpServerStatus } from './errors.js';

/** The level, code and description of an `onStatus` or `_error` info object ('' for what it lacks). */
export function statusOf(info: unknown): RtmpServerStatus {
  const text = (key: string) => {
    const value = amfProperty(info, key);
    return typeof value === 'string' ? value : '';
  };
  return { level: text('level'), code: text('code'), description: text('description') };
}

/** `code: description` of a refusal, for error messages ('refused' when the server said nothing). */
export function refusalReason(status: RtmpServerStatus): string {
  return [status.code, status.description].filter((s) => s !== '').join(': ') || 'refused';
}
