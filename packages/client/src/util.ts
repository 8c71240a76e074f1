import type { AmfValue } from '@rtmp/amf';
import type { RtmpServerStatus } from './errors.js';

/** @internal Reads a property of an AMF object or ECMA array. */
export function amfField(object: AmfValue | undefined, key: string): AmfValue | undefined {
  if (typeof object !== 'object' || object === null || object instanceof Date || Array.isArray(object)) {
    return undefined;
  }
  const record = (object as { properties?: unknown }).properties ?? object;
  return Object.hasOwn(record as object, key) ? (record as Record<string, AmfValue>)[key] : undefined;
}

/** @internal */
export function statusOf(info: AmfValue | undefined): RtmpServerStatus {
  const text = (key: string) => {
    const value = amfField(info, key);
    return typeof value === 'string' ? value : '';
  };
  return { level: text('level'), code: text('code'), description: text('description') };
}
