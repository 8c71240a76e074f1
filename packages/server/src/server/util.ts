import type { AmfValue } from '@rtmp/amf';
import { EcmaArray, TypedObject } from '@rtmp/amf';

/** Splits `key?a=1&b=2` into the key and its query parameters. Never throws. */
export function parseStreamName(name: string): { key: string; query: Record<string, string> } {
  const query: Record<string, string> = Object.create(null);
  const mark = name.indexOf('?');
  if (mark < 0) return { key: name, query };
  try {
    for (const [k, v] of new URLSearchParams(name.slice(mark + 1))) query[k] = v;
  } catch {
    // A malformed query string leaves the query empty; the key is still usable.
  }
  return { key: name.slice(0, mark), query };
}

/** The properties of an AMF object, ECMA array or typed object; an empty null-prototype record otherwise. */
export function asRecord(value: AmfValue | undefined): Record<string, AmfValue> {
  if (value instanceof EcmaArray || value instanceof TypedObject) return value.properties;
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !(value instanceof Uint8Array) &&
    Object.getPrototypeOf(value) === null
  ) {
    return value as Record<string, AmfValue>;
  }
  return Object.create(null);
}
